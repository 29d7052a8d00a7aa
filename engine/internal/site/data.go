package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// DataAdmin exposes the data sources to the admin API (`kiln data`).
type DataAdmin struct{ Plugins *datasource.Supervisor }

var _ server.DataAdmin = DataAdmin{}

const dataTimeout = 30 * time.Second

// Get reads one key.
func (d DataAdmin) Get(source, key string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dataTimeout)
	defer cancel()
	return d.Plugins.Data(source).Get(ctx, key)
}

// writer returns the source's writer; a read-only source's error wraps
// server.ErrNotWritable, an unknown source's datasource.ErrUnknown.
func (d DataAdmin) writer(source string) (plugin.Writer, error) {
	w, err := d.Plugins.Writer(source)
	if errors.Is(err, datasource.ErrReadOnly) {
		return nil, fmt.Errorf("%w: %w", server.ErrNotWritable, err)
	}
	return w, err
}

// Put writes one key.
func (d DataAdmin) Put(source, key string, value []byte) (uint64, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dataTimeout)
	defer cancel()
	return w.Put(ctx, key, value)
}

// Delete removes one key.
func (d DataAdmin) Delete(source, key string) (uint64, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dataTimeout)
	defer cancel()
	return w.Delete(ctx, key)
}

// Import writes every item, many at a time (plugin.PutAll). On an error
// it stops and reports how many items were written.
func (d DataAdmin) Import(source string, items map[string]json.RawMessage) (int, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	list := make([]plugin.Item, 0, len(items))
	for k, v := range items {
		list = append(list, plugin.Item{Key: k, Value: v})
	}
	return plugin.PutAll(ctx, w, list)
}

// Export reads every item, paging through the whole key space.
func (d DataAdmin) Export(source string) (map[string]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
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
