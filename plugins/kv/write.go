package kv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// ErrEmptyKey is returned when writing the empty key.
var ErrEmptyKey = errors.New("kv: empty key")

// Put stores value under key at a new revision, durable when Put returns.
func (s *Store) Put(_ context.Context, key string, value []byte) (uint64, error) {
	rev, err := s.write(key, value, false)
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return rev, nil
}

// Delete removes key at a new revision. Deleting a missing key changes
// nothing and returns the current revision.
func (s *Store) Delete(_ context.Context, key string) (uint64, error) {
	rev, err := s.write(key, nil, true)
	if err != nil {
		return 0, fmt.Errorf("delete %q: %w", key, err)
	}
	return rev, nil
}

// write commits one change. Batches are applied (made visible) under mu so
// revisions become visible in order; the fsync happens outside mu so
// concurrent writers share one WAL sync (Pebble's group commit).
func (s *Store) write(key string, value []byte, del bool) (uint64, error) {
	if key == "" {
		return 0, ErrEmptyKey
	}
	db, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer s.release()
	b, rev, err := s.apply(db, key, value, del)
	if err != nil || b == nil {
		return rev, err
	}
	defer b.Close()
	if err := b.SyncWait(); err != nil {
		return 0, fmt.Errorf("sync: %w", err)
	}
	s.markDurable(rev)
	return rev, nil
}

// apply builds and applies the batch for one change without waiting for
// the fsync. It returns a nil batch when there is nothing to do.
func (s *Store) apply(db *pebble.DB, key string, value []byte, del bool) (*pebble.Batch, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, live, err := previous(db, key)
	if err != nil {
		return nil, 0, err
	}
	if del && !live {
		return nil, s.durable, nil
	}
	rev := s.rev + 1
	b := db.NewBatch()
	if prev > 0 {
		_ = b.Delete(logKey(prev), nil)
	}
	op := byte(opPut)
	if del {
		op = opDelete
		_ = b.Delete(dataKey(key), nil)
		_ = b.Set(tombKey(key), binary.BigEndian.AppendUint64(nil, rev), nil)
	} else {
		_ = b.Set(dataKey(key), encodeRecord(rev, value), nil)
		_ = b.Delete(tombKey(key), nil)
	}
	_ = b.Set(logKey(rev), append([]byte{op}, key...), nil)
	if err := db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		return nil, 0, err
	}
	s.rev = rev
	return b, rev, nil
}

// previous returns the revision of key's latest change (0 if never
// written) and whether the key currently exists.
func previous(db *pebble.DB, key string) (rev uint64, live bool, err error) {
	if v, closer, err := db.Get(dataKey(key)); err == nil {
		defer closer.Close()
		rev, _, err := decodeRecord(v)
		return rev, true, err
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return 0, false, err
	}
	v, closer, err := db.Get(tombKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, errCorrupt
	}
	return binary.BigEndian.Uint64(v), false, nil
}

// markDurable advances the durable revision and wakes watchers. The WAL is
// sequential, so a sync for rev covers every revision applied before it.
func (s *Store) markDurable(rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.durable || s.db == nil {
		return
	}
	s.durable = rev
	close(s.changed)
	s.changed = make(chan struct{})
}
