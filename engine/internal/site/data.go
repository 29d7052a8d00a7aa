package site

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// DataAdmin exposes the data sources to the admin API (`kiln data`).
type DataAdmin struct{ Plugins *datasource.Supervisor }

var _ server.DataAdmin = DataAdmin{}

// Get reads one key.
func (d DataAdmin) Get(ctx context.Context, source, key string) ([]byte, bool, error) {
	if !d.Plugins.Has(source) {
		return nil, false, fmt.Errorf("%s: %w", source, server.ErrNoSource)
	}
	return d.Plugins.Data(source).Get(ctx, key)
}

// Put writes one key.
func (d DataAdmin) Put(ctx context.Context, source, key string, value []byte) (uint64, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	return w.Put(ctx, key, value)
}

// writer is a source's writer, or the error the admin API maps to 404 or
// 409.
func (d DataAdmin) writer(source string) (plugin.Writer, error) {
	if !d.Plugins.Has(source) {
		return nil, fmt.Errorf("%s: %w", source, server.ErrNoSource)
	}
	w, ok := d.Plugins.Writer(source)
	if !ok {
		return nil, fmt.Errorf("%s: %w", source, server.ErrNotWritable)
	}
	return w, nil
}

// Delete removes one key.
func (d DataAdmin) Delete(ctx context.Context, source, key string) (uint64, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	return w.Delete(ctx, key)
}

// Import writes every item, many at a time (plugin.PutAll). On an error
// it stops and reports how many items were written.
func (d DataAdmin) Import(ctx context.Context, source string, items map[string]json.RawMessage) (int, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	list := make([]plugin.Item, 0, len(items))
	for k, v := range items {
		list = append(list, plugin.Item{Key: k, Value: v})
	}
	return plugin.PutAll(ctx, w, list)
}

// Export reads every item, paging through the whole key space.
func (d DataAdmin) Export(ctx context.Context, source string) (map[string]json.RawMessage, error) {
	if !d.Plugins.Has(source) {
		return nil, fmt.Errorf("%s: %w", source, server.ErrNoSource)
	}
	data := d.Plugins.Data(source)
	out := map[string]json.RawMessage{}
	cursor := ""
	for {
		items, next, err := data.List(ctx, "", cursor, 1000, false)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			v := json.RawMessage(it.Value)
			if !json.Valid(it.Value) {
				v, _ = json.Marshal(string(it.Value))
			}
			out[it.Key] = v
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
