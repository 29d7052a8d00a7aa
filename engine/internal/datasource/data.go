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

var _ render.Data = data{}

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

func (u unknown) List(context.Context, string, string, int, bool) ([]render.Item, string, error) {
	return nil, "", u.err()
}

// Writer returns a writable source's writer; ok is false for read-only or
// unknown sources. Like Data, it follows plugin restarts.
func (s *Supervisor) Writer(name string) (plugin.Writer, bool) {
	in, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.caps.Writable {
		return nil, false
	}
	return writer{in}, true
}

type writer struct{ in *instance }

var _ plugin.Writer = writer{}

func (w writer) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	return w.do(ctx, "put "+key, func(c *pluginhost.Client) (uint64, error) { return c.Put(ctx, key, value) })
}

func (w writer) Delete(ctx context.Context, key string) (uint64, error) {
	return w.do(ctx, "delete "+key, func(c *pluginhost.Client) (uint64, error) { return c.Delete(ctx, key) })
}

func (w writer) do(ctx context.Context, op string, call func(*pluginhost.Client) (uint64, error)) (uint64, error) {
	src, err := w.in.client()
	if err != nil {
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
