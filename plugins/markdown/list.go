package markdown

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// errCursor is returned for a cursor this plugin did not hand out.
var errCursor = errors.New("markdown: invalid cursor")

// A cursor is "k" + the last key returned, so that the empty key still
// makes a non-empty cursor.
func encodeCursor(key string) string { return "k" + key }

func decodeCursor(c string) (string, error) {
	if !strings.HasPrefix(c, "k") {
		return "", errCursor
	}
	return c[1:], nil
}

func (s *source) List(_ context.Context, req plugin.ListRequest) (plugin.ListPage, error) {
	var after string
	if req.Cursor != "" {
		k, err := decodeCursor(req.Cursor)
		if err != nil {
			return plugin.ListPage{}, err
		}
		after = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return plugin.ListPage{}, errNotConfigured
	}
	keys := s.servedKeys(req.Prefix)
	if req.Cursor != "" {
		keys = afterCursor(keys, after, req.Reverse)
	}
	return s.page(keys, max(req.Limit, 1), req.Reverse), nil
}

// servedKeys returns the sorted keys with prefix that have a value.
// Callers hold mu.
func (s *source) servedKeys(prefix string) []string {
	lo := sort.SearchStrings(s.keys, prefix)
	var out []string
	for _, k := range s.keys[lo:] {
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if s.entries[k].value != nil {
			out = append(out, k)
		}
	}
	return out
}

// afterCursor keeps the keys after the cursor key in listing order.
func afterCursor(keys []string, after string, reverse bool) []string {
	if reverse {
		return keys[:sort.SearchStrings(keys, after)]
	}
	return keys[sort.Search(len(keys), func(i int) bool { return keys[i] > after }):]
}

// page returns up to limit items of keys in listing order. Callers hold mu.
func (s *source) page(keys []string, limit int, reverse bool) plugin.ListPage {
	var p plugin.ListPage
	n := min(limit, len(keys))
	for i := range n {
		k := keys[i]
		if reverse {
			k = keys[len(keys)-1-i]
		}
		e := s.entries[k]
		p.Items = append(p.Items, plugin.Item{Key: k, Value: e.value, Revision: e.rev})
	}
	if n < len(keys) {
		p.Next = encodeCursor(p.Items[n-1].Key)
	}
	return p
}
