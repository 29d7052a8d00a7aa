package post

import (
	kiln "github.com/kilnhq/kiln/sdk/go"
)

// Kiln reads through the Kiln SDK, so every key and prefix read becomes a
// dependency of the page being rendered.
var Kiln Source = kilnSource{}

type kilnSource struct{}

func (kilnSource) Get(key string) ([]byte, bool, error) { return kiln.Get(key) }

func (kilnSource) GetMany(keys []string) ([][]byte, []bool, error) { return kiln.GetMany(keys) }

func (kilnSource) List(prefix, cursor string, limit int, reverse bool) ([]Item, string, error) {
	items, next, err := kiln.List(prefix, kiln.ListOptions{Cursor: cursor, Limit: limit, Reverse: reverse})
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item(it)
	}
	return out, next, err
}
