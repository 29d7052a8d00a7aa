package kiln

import (
	"encoding/json"
	"fmt"

	"github.com/kilnhq/kiln/sdk/go/abi"
)

// Item is one key/value pair from a data source.
type Item struct {
	Key   string
	Value []byte
}

// ListOptions controls one page of List.
type ListOptions struct {
	Cursor  string // the next cursor of the previous page; "" to start
	Limit   int    // page size; 0 means 100, at most 1000
	Reverse bool   // descending key order
}

// Get returns the value stored under key; found is false when there is none.
func Get(key string) (value []byte, found bool, err error) {
	value, res := host.Get(key)
	switch {
	case res == abi.Unavailable:
		return nil, false, fmt.Errorf("get %q: %w", key, ErrUnavailable)
	case res < 0:
		return nil, false, nil
	}
	return value, true, nil
}

// GetMany reads many keys in one call to the host, so a page that shows N
// items makes one round trip to the data source instead of N: values[i]
// and found[i] answer keys[i]. Every key becomes a dependency, as with Get.
// Batches larger than the host's limit (1000 keys) are split for you.
func GetMany(keys []string) (values [][]byte, found []bool, err error) {
	values, found = make([][]byte, 0, len(keys)), make([]bool, 0, len(keys))
	var buf []byte
	for len(keys) > 0 {
		batch := keys[:min(len(keys), abi.MaxGetMany)]
		keys = keys[len(batch):]
		buf = abi.AppendKeys(buf[:0], batch)
		b, res := getMany(buf)
		if res < 0 {
			return nil, nil, fmt.Errorf("get %d keys: %w", len(batch), ErrUnavailable)
		}
		vs, fs, err := abi.DecodeValues(b)
		if err == nil && len(vs) != len(batch) {
			err = abi.ErrMalformed
		}
		if err != nil {
			return nil, nil, fmt.Errorf("get %d keys: %w", len(batch), err)
		}
		values, found = append(values, vs...), append(found, fs...)
	}
	return values, found, nil
}

// GetJSON decodes the JSON value stored under key into v.
func GetJSON(key string, v any) (found bool, err error) {
	b, found, err := Get(key)
	if err != nil || !found {
		return found, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("get %q: %w", key, err)
	}
	return true, nil
}

// List returns one page of the items whose keys start with prefix, in key
// order (or reverse). next is the cursor of the following page, "" after
// the last one.
func List(prefix string, opt ListOptions) (items []Item, next string, err error) {
	b, res := host.List(prefix, opt.Cursor, opt.Limit, opt.Reverse)
	if res < 0 {
		return nil, "", fmt.Errorf("list %q: %w", prefix, ErrUnavailable)
	}
	page, err := abi.DecodeListPage(b)
	if err != nil {
		return nil, "", fmt.Errorf("list %q: %w", prefix, err)
	}
	items = make([]Item, len(page.Items))
	for i, it := range page.Items {
		items[i] = Item{Key: it.Key, Value: it.Value}
	}
	return items, page.Next, nil
}

// Each calls fn for every item under prefix, paging for you, until fn
// returns false. opt.Cursor is where to start.
func Each(prefix string, opt ListOptions, fn func(Item) bool) error {
	for {
		items, next, err := List(prefix, opt)
		if err != nil {
			return err
		}
		for _, it := range items {
			if !fn(it) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		opt.Cursor = next
	}
}

// Asset returns the public, content-hashed URL of the static file name
// (e.g. "style.css" -> "/assets/style.3f9a1c0e.css"), or "" when there is
// no such file.
func Asset(name string) string {
	url, found, err := Get("kiln:asset:" + name)
	if err != nil || !found {
		return ""
	}
	return string(url)
}

// Level is a log level.
type Level int32

// Log levels.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Log writes msg to the engine's log, tagged with the renderer and path.
func Log(level Level, msg string) { host.Log(int32(level), msg) }

// Logf is Log with fmt.Sprintf formatting.
func Logf(level Level, format string, args ...any) { Log(level, fmt.Sprintf(format, args...)) }
