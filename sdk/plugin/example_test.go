package plugin_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// hello is a complete read-only source serving one key, "greeting".
type hello struct{}

func (hello) Capabilities() plugin.Capabilities                             { return plugin.Capabilities{} }
func (hello) Schema() plugin.Schema                                         { return plugin.Schema{} }
func (hello) Configure(context.Context, []byte) plugin.Diagnostics          { return nil }
func (hello) Watch(context.Context, uint64, func(plugin.Event) error) error { return nil }

func (hello) Get(_ context.Context, key string) (plugin.Item, bool, error) {
	return plugin.Item{Key: key, Value: []byte(`"hello"`)}, key == "greeting", nil
}

func (hello) List(context.Context, plugin.ListRequest) (plugin.ListPage, error) {
	return plugin.ListPage{Items: []plugin.Item{{Key: "greeting", Value: []byte(`"hello"`)}}}, nil
}

// A plugin's main is one call. (Compiled, not run: Serve takes over the
// process.)
func ExampleServe() {
	plugin.Serve(hello{})
}

// mapSource reads several keys under one lock: its GetMany makes a page
// that reads N items one round trip, not N.
type mapSource struct {
	hello
	mu sync.Mutex
	m  map[string]string
}

func (s *mapSource) GetMany(_ context.Context, keys []string) ([]plugin.Item, []bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items, found := make([]plugin.Item, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		var v string
		if v, found[i] = s.m[k]; found[i] {
			items[i] = plugin.Item{Key: k, Value: []byte(v)}
		}
	}
	return items, found, nil
}

var _ plugin.BatchGetter = (*mapSource)(nil)

// A source implements BatchGetter to answer batched reads itself: one
// answer per key, in the order asked.
func ExampleBatchGetter() {
	s := &mapSource{m: map[string]string{"a": `1`, "b": `2`}}
	items, found, _ := s.GetMany(context.Background(), []string{"b", "missing", "a"})
	for i := range items {
		fmt.Printf("%v:%s\n", found[i], items[i].Value)
	}
	// Output:
	// true:2
	// false:
	// true:1
}
