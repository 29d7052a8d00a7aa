package datasource

import (
	"context"
	"errors"
	"fmt"

	"github.com/kilnhq/kiln/engine/internal/pluginhost"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// List limits: a request without a limit gets defaultLimit; none gets
// more than maxLimit.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Data returns the renderers' view of a data source. It stays valid
// across plugin restarts; while the plugin is down every call fails with
// an error wrapping render.ErrUnavailable.
func (s *Supervisor) Data(name string) render.Data {
	if in, ok := s.byName[name]; ok {
		return data{in}
	}
	return unknown(name)
}

type data struct{ in *instance }

var (
	_ render.Data = data{}
	_ render.Data = unknown("")
)

func (d data) Get(ctx context.Context, key string) ([]byte, bool, error) {
	src, err := d.in.client()
	if err != nil {
		return nil, false, err
	}
	it, found, err := src.Get(ctx, key)
	if err != nil {
		return nil, false, d.in.callErr(ctx, fmt.Sprintf("get %q", key), err)
	}
	return it.Value, found, nil
}

// GetMany reads several keys in one round trip to the plugin (one Get per
// key for a plugin without GetMany) and returns one value and one found
// flag per key, in the order of keys.
func (d data) GetMany(ctx context.Context, keys []string) ([][]byte, []bool, error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	src, err := d.in.client()
	if err != nil {
		return nil, nil, err
	}
	items, found, err := src.GetMany(ctx, keys)
	if err != nil {
		return nil, nil, d.in.callErr(ctx, fmt.Sprintf("get %d keys", len(keys)), err)
	}
	values := make([][]byte, len(keys))
	for i := range keys {
		if found[i] {
			values[i] = items[i].Value
		}
	}
	return values, found, nil
}

func (d data) List(ctx context.Context, prefix, cursor string, limit int, reverse bool) ([]render.Item, string, error) {
	src, err := d.in.client()
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	page, err := src.List(ctx, plugin.ListRequest{Prefix: prefix, Cursor: cursor, Limit: min(limit, maxLimit), Reverse: reverse})
	if err != nil {
		return nil, "", d.in.callErr(ctx, fmt.Sprintf("list %q", prefix), err)
	}
	items := make([]render.Item, len(page.Items))
	for i, it := range page.Items {
		items[i] = render.Item{Key: it.Key, Value: it.Value}
	}
	return items, page.Next, nil
}

// unknown is the Data of a name that is not a data source.
type unknown string

func (u unknown) err() error {
	return fmt.Errorf("%w data source %q: %w", ErrUnknown, string(u), render.ErrUnavailable)
}

func (u unknown) Get(context.Context, string) ([]byte, bool, error) { return nil, false, u.err() }

func (u unknown) GetMany(context.Context, []string) ([][]byte, []bool, error) {
	return nil, nil, u.err()
}

func (u unknown) List(context.Context, string, string, int, bool) ([]render.Item, string, error) {
	return nil, "", u.err()
}

// ErrReadOnly is returned for writes to a source that is not writable.
var ErrReadOnly = errors.New("datasource: read-only")

// Writer returns a source's writer. The error wraps ErrUnknown for a name
// that is not a data source, and ErrReadOnly for a source that says it is
// not writable. Like Data, the writer follows plugin restarts; while a
// source that has never started is down, its writer's calls fail with
// render.ErrUnavailable.
func (s *Supervisor) Writer(name string) (plugin.Writer, error) {
	in, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w data source %q", ErrUnknown, name)
	}
	if err := in.writable(); err != nil {
		return nil, err
	}
	return writer{in}, nil
}

// writable fails with ErrReadOnly once the plugin has said it is not
// writable.
func (in *instance) writable() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.known && !in.caps.Writable {
		return fmt.Errorf("data source %q: %w", in.cfg.Name, ErrReadOnly)
	}
	return nil
}

type writer struct{ in *instance }

var (
	_ plugin.Writer      = writer{}
	_ plugin.BatchWriter = writer{}
)

func (w writer) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	return w.do(ctx, "put "+key, func(c *pluginhost.Client) (uint64, error) { return c.Put(ctx, key, value) })
}

// PutMany writes a batch in one round trip (an import): its change events
// come back together.
func (w writer) PutMany(ctx context.Context, items []plugin.Item) (uint64, error) {
	return w.do(ctx, fmt.Sprintf("put %d items", len(items)), func(c *pluginhost.Client) (uint64, error) { return c.PutMany(ctx, items) })
}

func (w writer) Delete(ctx context.Context, key string) (uint64, error) {
	return w.do(ctx, "delete "+key, func(c *pluginhost.Client) (uint64, error) { return c.Delete(ctx, key) })
}

func (w writer) do(ctx context.Context, op string, call func(*pluginhost.Client) (uint64, error)) (uint64, error) {
	src, err := w.in.client()
	if err != nil {
		return 0, err
	}
	if err := w.in.writable(); err != nil {
		return 0, err
	}
	rev, err := call(src)
	if err == nil {
		return rev, nil
	}
	var ds plugin.Diagnostics
	if errors.As(err, &ds) {
		return 0, fmt.Errorf("datasource %s: %s: %w", w.in.cfg.Name, op, err)
	}
	return 0, w.in.callErr(ctx, op, err)
}
