package markdown

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// settle is how long the watcher waits for more file events before
// rescanning, so an editor's burst of writes costs one scan.
const settle = 20 * time.Millisecond

// watchDir rescans the folder whenever a Markdown file in it changes.
// Watching the folder (not each file) also sees atomic renames.
func (s *source) watchDir() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(s.dir); err != nil {
		w.Close()
		return err
	}
	s.mu.Lock()
	s.watcher = w
	s.mu.Unlock()
	go s.watchLoop(w)
	return nil
}

func (s *source) watchLoop(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if isPostFile(filepath.Base(ev.Name)) && !ev.Has(fsnotify.Chmod) {
				drain(w.Events)
				s.reload()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Error("folder watch failed", "dir", s.dir, "error", err)
		}
	}
}

// drain swallows the events of one burst.
func drain(events <-chan fsnotify.Event) {
	t := time.NewTimer(settle)
	defer t.Stop()
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
			t.Reset(settle)
		case <-t.C:
			return
		}
	}
}

// reload rescans the folder and publishes the changes.
func (s *source) reload() {
	posts, errs, err := scanDir(s.dir, s.prefix)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.log.Error("cannot read folder; keeping the last good data", "error", err)
		return
	}
	if s.apply(posts, errs) {
		s.commit()
	}
}

// commit saves the state, then wakes watchers. Callers hold mu.
func (s *source) commit() {
	if err := s.saveState(); err != nil {
		s.log.Error("cannot write revision state", "state", s.statePath, "error", err)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Watch sends, in revision order, the current state of every key that
// changed after from, then every later change. With from = 0 it first
// sends a bookmark at the current revision. Several changes to one key
// while nobody watched collapse into its latest one.
func (s *source) Watch(ctx context.Context, from uint64, send func(plugin.Event) error) error {
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
func (s *source) watchStart(from uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.dir == "":
		return 0, errNotConfigured
	case from == 0:
		return s.rev, nil
	case from > s.rev:
		s.log.Warn("host is ahead of the revision state; resending every key", "host_revision", from, "revision", s.rev)
		s.rev = from
		for _, k := range sortedKeys(s.entries) {
			s.rev++
			s.entries[k].rev = s.rev
		}
		s.commit()
	}
	return from, nil
}

// since returns the changes after rev in revision order, and a channel
// closed at the next change. Entries without a value (invalid since
// start) are held back until their file is fixed.
func (s *source) since(rev uint64) ([]plugin.Event, <-chan struct{}) {
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
