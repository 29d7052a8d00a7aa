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

// adminErr wraps the supervisor's errors in the ones the admin API maps
// to statuses: 404 for an unknown source, 409 for a read-only one.
func adminErr(err error) error {
	switch {
	case errors.Is(err, datasource.ErrUnknown):
		return fmt.Errorf("%w: %w", server.ErrNoSource, err)
	case errors.Is(err, datasource.ErrReadOnly):
		return fmt.Errorf("%w: %w", server.ErrNotWritable, err)
	}
	return err
}

// Get reads one key.
func (d DataAdmin) Get(ctx context.Context, source, key string) ([]byte, bool, error) {
	v, found, err := d.Plugins.Data(source).Get(ctx, key)
	return v, found, adminErr(err)
}

func (d DataAdmin) writer(source string) (plugin.Writer, error) {
	w, err := d.Plugins.Writer(source)
	return w, adminErr(err)
}

// Put writes one key.
func (d DataAdmin) Put(ctx context.Context, source, key string, value []byte) (uint64, error) {
	w, err := d.writer(source)
	if err != nil {
		return 0, err
	}
	return w.Put(ctx, key, value)
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
	data := d.Plugins.Data(source)
	out := map[string]json.RawMessage{}
	cursor := ""
	for {
		items, next, err := data.List(ctx, "", cursor, 1000, false)
		if err != nil {
			return nil, adminErr(err)
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

// Degraded lists the data sources that are not up, one line each, for
// /_kiln/healthz: "data source NAME: STATE since TIME: LAST ERROR".
func (s *Site) Degraded() []string {
	if s.Plugins == nil {
		return nil
	}
	var out []string
	for _, h := range s.Plugins.Health() {
		if h.State == datasource.StateUp {
			continue
		}
		line := fmt.Sprintf("data source %s: %s since %s", h.Name, h.State, h.Since.UTC().Format(time.RFC3339))
		if h.LastError != "" {
			line += ": " + h.LastError
		}
		out = append(out, line)
	}
	return out
}
