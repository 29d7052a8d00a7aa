package kv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// replayChunk bounds how many events are read under one snapshot, so a slow
// consumer never holds the store open.
const replayChunk = 256

// Watch sends every change after revision from, then live changes, until
// ctx is done or send fails. With from = 0 it first sends a bookmark at
// the current revision and streams from there. A key changed several times
// since from is sent once, at its latest revision. Events are sent only
// once they are durable.
func (s *Store) Watch(ctx context.Context, from uint64, send func(plugin.Event) error) error {
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
		wake, upto, err := s.position()
		if err != nil {
			return err
		}
		if last, err = s.replay(last, upto, send); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}

// watchStart resolves from: 0 means now. A from beyond the store's
// revision means the host saw another store (this one was replaced), so
// everything is replayed rather than nothing.
func (s *Store) watchStart(from uint64) (uint64, error) {
	_, rev, err := s.position()
	switch {
	case err != nil:
		return 0, err
	case from == 0:
		return rev, nil
	case from > rev:
		plugin.Logger().Named("kv").Warn("host is ahead of the store; replaying every key", "host_revision", from, "revision", rev)
		return 0, nil
	}
	return from, nil
}

// position returns the channel closed at the next durable write and the
// current durable revision, read together so no wake-up is missed.
func (s *Store) position() (<-chan struct{}, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil, 0, ErrClosed
	}
	return s.changed, s.durable, nil
}

// replay sends the logged changes in (last, upto] and returns the last
// revision sent (or upto).
func (s *Store) replay(last, upto uint64, send func(plugin.Event) error) (uint64, error) {
	for last < upto {
		evs, err := s.readLog(last, upto)
		if err != nil {
			return last, err
		}
		if len(evs) == 0 {
			return upto, nil
		}
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return last, err
			}
			last = ev.Revision
		}
	}
	return last, nil
}

// readLog reads up to replayChunk events with revisions in (after, upto].
func (s *Store) readLog(after, upto uint64) ([]plugin.Event, error) {
	db, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer s.release()
	snap := db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: logKey(after + 1), UpperBound: logKey(upto + 1)})
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	defer it.Close()
	var evs []plugin.Event
	for ok := it.First(); ok && len(evs) < replayChunk; ok = it.Next() {
		ev, err := logEvent(snap, it.Key(), it.Value())
		if err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		evs = append(evs, ev)
	}
	return evs, it.Error()
}

// logEvent turns one log entry into an event, reading the value from the
// same snapshot.
func logEvent(snap *pebble.Snapshot, k, v []byte) (plugin.Event, error) {
	if len(k) != 9 || len(v) < 1 {
		return plugin.Event{}, errCorrupt
	}
	ev := plugin.Event{Revision: binary.BigEndian.Uint64(k[1:]), Key: string(v[1:]), Deleted: v[0] == opDelete}
	if ev.Deleted {
		return ev, nil
	}
	rec, closer, err := snap.Get(dataKey(ev.Key))
	if errors.Is(err, pebble.ErrNotFound) {
		return plugin.Event{}, fmt.Errorf("%w: log entry %d without data", errCorrupt, ev.Revision)
	}
	if err != nil {
		return plugin.Event{}, err
	}
	defer closer.Close()
	_, value, err := decodeRecord(rec)
	ev.Value = clone(value)
	return ev, err
}
