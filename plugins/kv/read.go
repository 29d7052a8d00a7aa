package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// Page size limits for List.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Get returns the item stored under key.
func (s *Store) Get(_ context.Context, key string) (plugin.Item, bool, error) {
	db, err := s.acquire()
	if err != nil {
		return plugin.Item{}, false, err
	}
	defer s.release()
	v, closer, err := db.Get(dataKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return plugin.Item{}, false, nil
	}
	if err != nil {
		return plugin.Item{}, false, fmt.Errorf("get %q: %w", key, err)
	}
	defer closer.Close()
	rev, value, err := decodeRecord(v)
	if err != nil {
		return plugin.Item{}, false, fmt.Errorf("get %q: %w", key, err)
	}
	return plugin.Item{Key: key, Value: clone(value), Revision: rev}, true, nil
}

// GetMany returns the items stored under keys, in the order of keys, read
// from one consistent snapshot of the store.
func (s *Store) GetMany(_ context.Context, keys []string) ([]plugin.Item, []bool, error) {
	db, err := s.acquire()
	if err != nil {
		return nil, nil, err
	}
	defer s.release()
	snap := db.NewSnapshot()
	defer snap.Close()
	items, found := make([]plugin.Item, len(keys)), make([]bool, len(keys))
	for i, key := range keys {
		v, closer, err := snap.Get(dataKey(key))
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("get %q: %w", key, err)
		}
		rev, value, err := decodeRecord(v)
		if err == nil {
			items[i], found[i] = plugin.Item{Key: key, Value: clone(value), Revision: rev}, true
		}
		closer.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("get %q: %w", key, err)
		}
	}
	return items, found, nil
}

// List returns one page of the items whose keys start with req.Prefix.
func (s *Store) List(_ context.Context, req plugin.ListRequest) (plugin.ListPage, error) {
	db, err := s.acquire()
	if err != nil {
		return plugin.ListPage{}, err
	}
	defer s.release()
	lower := dataKey(req.Prefix)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return plugin.ListPage{}, fmt.Errorf("list: %w", err)
	}
	defer it.Close()
	ok, err := seekStart(it, req)
	if err != nil {
		return plugin.ListPage{}, err
	}
	return collect(it, ok, req)
}

// seekStart positions it on the first item of the page.
func seekStart(it *pebble.Iterator, req plugin.ListRequest) (bool, error) {
	if req.Cursor == "" {
		if req.Reverse {
			return it.Last(), nil
		}
		return it.First(), nil
	}
	after, err := decodeCursor(req.Cursor)
	if err != nil {
		return false, err
	}
	if req.Reverse {
		return it.SeekLT(dataKey(after)), nil
	}
	return it.SeekGE(append(dataKey(after), 0)), nil
}

func collect(it *pebble.Iterator, ok bool, req plugin.ListRequest) (plugin.ListPage, error) {
	limit := clampLimit(req.Limit)
	var page plugin.ListPage
	for ; ok && len(page.Items) < limit; ok = step(it, req.Reverse) {
		rev, value, err := decodeRecord(it.Value())
		if err != nil {
			return plugin.ListPage{}, fmt.Errorf("list: %w", err)
		}
		key := string(it.Key()[1:])
		page.Items = append(page.Items, plugin.Item{Key: key, Value: clone(value), Revision: rev})
	}
	if err := it.Error(); err != nil {
		return plugin.ListPage{}, fmt.Errorf("list: %w", err)
	}
	if ok && len(page.Items) > 0 {
		page.Next = encodeCursor(page.Items[len(page.Items)-1].Key)
	}
	return page, nil
}

func step(it *pebble.Iterator, reverse bool) bool {
	if reverse {
		return it.Prev()
	}
	return it.Next()
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

func clone(b []byte) []byte { return append([]byte{}, b...) }
