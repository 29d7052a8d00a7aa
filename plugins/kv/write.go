package kv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/kilnhq/kiln/sdk/plugin"
)

var _ plugin.BatchWriter = (*Store)(nil)

// ErrEmptyKey is returned when writing the empty key.
var ErrEmptyKey = errors.New("kv: empty key")

// Put stores value under key at a new revision, durable when Put returns.
func (s *Store) Put(_ context.Context, key string, value []byte) (uint64, error) {
	rev, err := s.write([]change{{key: key, value: value}})
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return rev, nil
}

// Delete removes key at a new revision. Deleting a missing key changes
// nothing and returns the current revision.
func (s *Store) Delete(_ context.Context, key string) (uint64, error) {
	rev, err := s.write([]change{{key: key, del: true}})
	if err != nil {
		return 0, fmt.Errorf("delete %q: %w", key, err)
	}
	return rev, nil
}

// PutMany stores items in one atomic, durable write, each at its own new
// revision (in order), and returns the last one. Import uses it when the
// writer is a local Store: one fsync for many keys.
func (s *Store) PutMany(_ context.Context, items []plugin.Item) (uint64, error) {
	cs := make([]change, len(items))
	for i, it := range items {
		cs[i] = change{key: it.Key, value: it.Value}
	}
	rev, err := s.write(cs)
	if err != nil {
		return 0, fmt.Errorf("put many: %w", err)
	}
	return rev, nil
}

// change is one Put or Delete.
type change struct {
	key   string
	value []byte
	del   bool
}

// write commits changes. Batches are applied (made visible) under mu so
// revisions become visible in order; the fsync happens outside mu so
// concurrent writers share one WAL sync (Pebble's group commit).
func (s *Store) write(cs []change) (uint64, error) {
	for _, c := range cs {
		if c.key == "" {
			return 0, ErrEmptyKey
		}
	}
	db, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer s.release()
	b, rev, err := s.apply(db, cs)
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

// apply builds and applies the batch for changes without waiting for the
// fsync. It returns a nil batch when there is nothing to do.
func (s *Store) apply(db *pebble.DB, cs []change) (*pebble.Batch, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := db.NewIndexedBatch() // reads see the batch's own earlier changes
	rev := s.rev
	for _, c := range cs {
		prev, live, err := previous(b, c.key)
		if err != nil {
			b.Close()
			return nil, 0, err
		}
		if c.del && !live {
			continue
		}
		rev++
		stage(b, c, prev, rev)
	}
	if rev == s.rev {
		b.Close()
		return nil, s.durable, nil
	}
	if err := db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		return nil, 0, err
	}
	s.rev = rev
	return b, rev, nil
}

// stage adds one change at rev to b, dropping the key's previous log entry.
func stage(b *pebble.Batch, c change, prev, rev uint64) {
	if prev > 0 {
		_ = b.Delete(logKey(prev), nil)
	}
	op := byte(opPut)
	if c.del {
		op = opDelete
		_ = b.Delete(dataKey(c.key), nil)
		_ = b.Set(tombKey(c.key), binary.BigEndian.AppendUint64(nil, rev), nil)
	} else {
		_ = b.Set(dataKey(c.key), encodeRecord(rev, c.value), nil)
		_ = b.Delete(tombKey(c.key), nil)
	}
	_ = b.Set(logKey(rev), append([]byte{op}, c.key...), nil)
}

// previous returns the revision of key's latest change (0 if never
// written) and whether the key currently exists.
func previous(db pebble.Reader, key string) (rev uint64, live bool, err error) {
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
