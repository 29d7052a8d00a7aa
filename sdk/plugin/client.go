package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kilnhq/kiln/sdk/plugin/internal/pb"
)

// ErrTransport means a call did not reach the plugin or its answer did not
// come back: the plugin process is likely gone. Errors the plugin reports
// itself are Diagnostics instead.
var ErrTransport = errors.New("plugin: transport failed")

// describeTimeout bounds Capabilities and Schema, whose Source methods
// take no context.
const describeTimeout = 10 * time.Second

// Client is the host side of a plugin connection. It implements Source and
// Writer by calling the plugin process. Obtain one by dispensing
// PluginName from a go-plugin client configured with Handshake and
// VersionedPlugins.
type Client struct {
	rpc pb.DataSourceClient
}

var (
	_ Source = (*Client)(nil)
	_ Writer = (*Client)(nil)
)

func transport(op string, err error) error {
	return fmt.Errorf("plugin %s: %w: %w", op, ErrTransport, err)
}

// FetchCapabilities asks the plugin what it can do.
func (c *Client) FetchCapabilities(ctx context.Context) (Capabilities, error) {
	r, err := c.rpc.Capabilities(ctx, &pb.Capabilities_Request{})
	if err != nil {
		return Capabilities{}, transport("capabilities", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return Capabilities{}, err
	}
	return Capabilities{Watch: r.GetWatch(), Writable: r.GetWritable()}, nil
}

// FetchSchema asks the plugin for its config schema.
func (c *Client) FetchSchema(ctx context.Context) (Schema, error) {
	r, err := c.rpc.Schema(ctx, &pb.Schema_Request{})
	if err != nil {
		return Schema{}, transport("schema", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return Schema{}, err
	}
	return fromProtoSchema(r)
}

// Capabilities is FetchCapabilities with errors dropped (zero value).
func (c *Client) Capabilities() Capabilities {
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	caps, _ := c.FetchCapabilities(ctx)
	return caps
}

// Schema is FetchSchema with errors dropped (empty schema).
func (c *Client) Schema() Schema {
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	s, _ := c.FetchSchema(ctx)
	return s
}

// Configure sends the config block. A transport failure comes back as an
// error diagnostic; ConfigureErr keeps it apart.
func (c *Client) Configure(ctx context.Context, config []byte) Diagnostics {
	ds, err := c.ConfigureErr(ctx, config)
	if err != nil {
		return Diagnostics{{Severity: SeverityError, Summary: "plugin configure failed", Detail: err.Error()}}
	}
	return ds
}

// ConfigureErr is Configure with transport failures returned as an error
// wrapping ErrTransport, separate from the plugin's own diagnostics.
func (c *Client) ConfigureErr(ctx context.Context, config []byte) (Diagnostics, error) {
	r, err := c.rpc.Configure(ctx, &pb.Configure_Request{Config: config})
	if err != nil {
		return nil, transport("configure", err)
	}
	return fromProtoDiags(r.GetDiagnostics()), nil
}

// Get reads one key.
func (c *Client) Get(ctx context.Context, key string) (Item, bool, error) {
	r, err := c.rpc.Get(ctx, &pb.Get_Request{Key: key})
	if err != nil {
		return Item{}, false, transport("get", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return Item{}, false, err
	}
	if !r.GetFound() {
		return Item{}, false, nil
	}
	return fromProtoItem(r.GetItem()), true, nil
}

// List reads one page, reassembling the streamed chunks.
func (c *Client) List(ctx context.Context, req ListRequest) (ListPage, error) {
	stream, err := c.rpc.List(ctx, &pb.List_Request{
		Prefix: req.Prefix, Cursor: req.Cursor, Limit: uint32(max(req.Limit, 0)), Reverse: req.Reverse,
	})
	if err != nil {
		return ListPage{}, transport("list", err)
	}
	var page ListPage
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return page, nil
		}
		if err != nil {
			return ListPage{}, transport("list", err)
		}
		if err := diagsErr(r.GetDiagnostics()); err != nil {
			return ListPage{}, err
		}
		for _, it := range r.GetItems() {
			page.Items = append(page.Items, fromProtoItem(it))
		}
		page.Next = r.GetNext()
	}
}

// Watch streams changes after from to send until ctx is done, send fails,
// the plugin reports an error or the stream breaks. It returns nil only if
// the plugin ended the stream cleanly.
func (c *Client) Watch(ctx context.Context, from uint64, send func(Event) error) error {
	stream, err := c.rpc.Watch(ctx, &pb.Watch_Request{FromRevision: from})
	if err != nil {
		return transport("watch", err)
	}
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return transport("watch", err)
		}
		if err := diagsErr(r.GetDiagnostics()); err != nil {
			return err
		}
		for _, ev := range r.GetEvents() {
			if err := send(fromProtoEvent(ev)); err != nil {
				return err
			}
		}
	}
}

// Put writes a key on a writable source.
func (c *Client) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	r, err := c.rpc.Put(ctx, &pb.Put_Request{Key: key, Value: value})
	if err != nil {
		return 0, transport("put", err)
	}
	return r.GetRevision(), diagsErr(r.GetDiagnostics())
}

// Delete removes a key on a writable source.
func (c *Client) Delete(ctx context.Context, key string) (uint64, error) {
	r, err := c.rpc.Delete(ctx, &pb.Delete_Request{Key: key})
	if err != nil {
		return 0, transport("delete", err)
	}
	return r.GetRevision(), diagsErr(r.GetDiagnostics())
}
