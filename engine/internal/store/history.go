package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// AddHistory appends e to path's history and drops the oldest events
// beyond Options.HistoryLen, in one batch. History is diagnostics, so it
// does not wait for fsync: the next synced write (the next page, job or
// revision) makes it durable, and a crash can only lose the newest event.
func (s *pebbleStore) AddHistory(path string, e Event) error {
	if err := s.writable(); err != nil {
		return err
	}
	if strings.IndexByte(path, 0) >= 0 {
		return fmt.Errorf("add history %q: invalid path", path)
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	defer s.lock(path)()
	b := s.db.NewBatch()
	defer b.Close()
	if err := s.historyInto(b, path, e); err != nil {
		return fmt.Errorf("add history %s: %w", path, err)
	}
	if err := s.apply(pebble.NoSync, b.Commit); err != nil {
		return fmt.Errorf("add history %s: %w", path, err)
	}
	return nil
}

// historyInto adds to b the append of e to path's stored history and the
// removal of the oldest events beyond Options.HistoryLen. The caller
// holds path's lock.
func (s *pebbleStore) historyInto(b *pebble.Batch, path string, e Event) error {
	lo := indexKey(nsHistory, path, "")
	var keys [][]byte
	err := s.scanRange(lo, upper(lo), func(k, _ []byte) bool {
		keys = append(keys, bytes.Clone(k))
		return true
	})
	if err != nil {
		return err
	}
	var seq uint64
	if len(keys) > 0 {
		seq = binary.BigEndian.Uint64(keys[len(keys)-1][len(lo):]) + 1
	}
	b.Set(binary.BigEndian.AppendUint64(lo, seq), encodeEvent(nil, e), nil)
	for len(keys)+1 > s.opts.HistoryLen {
		b.Delete(keys[0], nil)
		keys = keys[1:]
	}
	return nil
}

// History returns path's events, oldest first.
func (s *pebbleStore) History(path string) ([]Event, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	lo := indexKey(nsHistory, path, "")
	var events []Event
	var derr error
	err := s.scanRange(lo, upper(lo), func(_, v []byte) bool {
		e, err := decodeEvent(v)
		events, derr = append(events, e), err
		return err == nil
	})
	if err = cmp.Or(derr, err); err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return events, nil
}

// Enqueue records jobs in one synced batch. A path already queued keeps
// its first reason and time.
func (s *pebbleStore) Enqueue(jobs ...Job) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	b := s.db.NewIndexedBatch()
	defer b.Close()
	for _, j := range jobs {
		k := key(nsQueue, j.Path)
		_, closer, err := b.Get(k)
		if err == nil {
			closer.Close()
			continue
		}
		if !errors.Is(err, pebble.ErrNotFound) {
			return fmt.Errorf("enqueue %s: %w", j.Path, err)
		}
		b.Set(k, encodeJob(nil, j), nil)
	}
	if err := s.apply(s.wo, b.Commit); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// Dequeue removes path's job; removing an absent job is not an error.
func (s *pebbleStore) Dequeue(path string) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if err := s.apply(s.wo, func(wo *pebble.WriteOptions) error { return s.db.Delete(key(nsQueue, path), wo) }); err != nil {
		return fmt.Errorf("dequeue %s: %w", path, err)
	}
	return nil
}

// Pending returns every queued job, oldest first (ties by path).
func (s *pebbleStore) Pending() ([]Job, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var jobs []Job
	var derr error
	err := s.scan(nsQueue, func(k, v []byte) bool {
		j, err := decodeJob(string(k[len(nsQueue):]), v)
		jobs, derr = append(jobs, j), err
		return err == nil
	})
	if err = cmp.Or(derr, err); err != nil {
		return nil, fmt.Errorf("pending: %w", err)
	}
	slices.SortStableFunc(jobs, func(a, b Job) int { return a.Queued.Compare(b.Queued) })
	return jobs, nil
}
