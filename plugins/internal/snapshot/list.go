package snapshot

import (
	"context"
	"sort"
	"strings"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// A cursor is "k" + the last key returned, so that the empty key still
// makes a non-empty cursor.
func encodeCursor(key string) string { return "k" + key }

func decodeCursor(c string) (key string, err error) {
	if !strings.HasPrefix(c, "k") {
		return "", ErrCursor
	}
	return c[1:], nil
}

// List returns one page of the items whose keys start with req.Prefix, in
// key order (or reverse), at most req.Limit (at least 1) of them.
func (s *Snapshot) List(_ context.Context, req plugin.ListRequest) (plugin.ListPage, error) {
	var after string
	if req.Cursor != "" {
		k, err := decodeCursor(req.Cursor)
		if err != nil {
			return plugin.ListPage{}, s.errorf(err)
		}
		after = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Path == "" {
		return plugin.ListPage{}, s.errorf(ErrNotOpen)
	}
	lo, hi := prefixRange(s.keys, req.Prefix)
	if req.Cursor != "" {
		lo, hi = cursorRange(s.keys, lo, hi, after, req.Reverse)
	}
	return s.page(lo, hi, max(req.Limit, 1), req.Reverse), nil
}

// prefixRange returns the index range of the sorted keys with prefix.
func prefixRange(keys []string, prefix string) (lo, hi int) {
	lo = sort.SearchStrings(keys, prefix)
	hi = lo + sort.Search(len(keys)-lo, func(i int) bool { return !strings.HasPrefix(keys[lo+i], prefix) })
	return lo, hi
}

// cursorRange narrows [lo, hi) to the keys after the cursor key in the
// listing direction.
func cursorRange(keys []string, lo, hi int, after string, reverse bool) (int, int) {
	if reverse {
		return lo, max(lo, min(hi, sort.SearchStrings(keys, after)))
	}
	i := sort.Search(len(keys), func(i int) bool { return keys[i] > after })
	return min(hi, max(lo, i)), hi
}

// page returns up to limit items of keys[lo:hi] in order. Callers hold mu.
func (s *Snapshot) page(lo, hi, limit int, reverse bool) plugin.ListPage {
	var p plugin.ListPage
	n := min(limit, hi-lo)
	for i := range n {
		k := s.keys[lo+i]
		if reverse {
			k = s.keys[hi-1-i]
		}
		e := s.entries[k]
		p.Items = append(p.Items, plugin.Item{Key: k, Value: e.value, Revision: e.rev})
	}
	if n < hi-lo {
		p.Next = encodeCursor(p.Items[n-1].Key)
	}
	return p
}
