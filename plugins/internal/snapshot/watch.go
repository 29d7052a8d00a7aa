package snapshot

import (
	"cmp"
	"context"
	"slices"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// Watch sends, in revision order, the current state of every key that
// changed after from, then every later change, until ctx is done or send
// fails. With from = 0 it first sends a bookmark at the current revision.
// Several changes to one key while nobody watched collapse into its latest
// one.
func (s *Snapshot) Watch(ctx context.Context, from uint64, send func(plugin.Event) error) error {
	last, err := s.watchStart(from)
	if err != nil {
		return err
	}
	if from == 0 {
		if err := send(plugin.Event{Revision: last, Bookmark: true}); err != nil {
			return err
		}
	}
	for {
		evs, changed := s.since(last)
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return err
			}
			last = ev.Revision
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// watchStart resolves from: 0 means now. A from beyond the last revision
// means the state file was lost; every key is then announced again with
// revisions above from, so the host misses nothing.
func (s *Snapshot) watchStart(from uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state.Path == "":
		return 0, s.errorf(ErrNotOpen)
	case from == 0:
		return s.rev, nil
	case from > s.rev:
		s.log.Warn("host is ahead of the revision state; resending every key", "host_revision", from, "revision", s.rev)
		s.restamp(from)
	}
	return from, nil
}

// restamp gives every entry a new revision above from. Callers hold mu.
func (s *Snapshot) restamp(from uint64) {
	s.rev = from
	for _, k := range sortedKeys(s.entries) {
		s.rev++
		s.entries[k].rev = s.rev
	}
	s.commit()
}

// since returns the changes after rev in revision order, and a channel
// closed at the next change. Entries without a value (invalid since Open)
// are held back until their file is valid again.
func (s *Snapshot) since(rev uint64) ([]plugin.Event, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var evs []plugin.Event
	for k, e := range s.entries {
		if e.rev > rev && (e.deleted || e.value != nil) {
			evs = append(evs, plugin.Event{Revision: e.rev, Key: k, Value: e.value, Deleted: e.deleted})
		}
	}
	slices.SortFunc(evs, func(a, b plugin.Event) int { return cmp.Compare(a.Revision, b.Revision) })
	return evs, s.changed
}
