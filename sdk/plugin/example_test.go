package plugin_test

import (
	"context"

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
