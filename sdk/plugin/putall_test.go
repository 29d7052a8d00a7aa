package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// mapWriter is a Writer over a map that fails on one key.
type mapWriter struct {
	mu   sync.Mutex
	m    map[string]string
	fail string
}

func (w *mapWriter) Put(_ context.Context, k string, v []byte) (uint64, error) {
	if k == w.fail {
		return 0, errors.New("refused")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m[k] = string(v)
	return uint64(len(w.m)), nil
}

func (w *mapWriter) Delete(context.Context, string) (uint64, error) { return 0, nil }

func TestPutAll(t *testing.T) {
	var items []plugin.Item
	for i := range 500 {
		items = append(items, plugin.Item{Key: fmt.Sprint("k", i), Value: []byte(fmt.Sprint(i))})
	}
	w := &mapWriter{m: map[string]string{}}
	n, err := plugin.PutAll(context.Background(), w, items)
	if err != nil || n != 500 || len(w.m) != 500 || w.m["k42"] != "42" {
		t.Errorf("PutAll = %d, %v; stored %d, k42=%q; want 500, nil, 500, \"42\"", n, err, len(w.m), w.m["k42"])
	}
	w = &mapWriter{m: map[string]string{}, fail: "k7"}
	if n, err := plugin.PutAll(context.Background(), w, items); err == nil || n != len(w.m) {
		t.Errorf("PutAll with a failing key = %d, %v; want an error and the count stored (%d)", n, err, len(w.m))
	}
}
