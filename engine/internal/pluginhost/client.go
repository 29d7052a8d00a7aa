// Package pluginhost is the engine's side of the data-source plugin
// protocol: a go-plugin plugin set that dispenses a plugin process's gRPC
// connection as a Client, which calls the plugin and converts its answers
// to the SDK's Go types (sdk/plugin). The plugin side, the handshake and
// the wire types live in the SDK; supervising processes is datasource's.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnhq/kiln/sdk/plugin"
	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// ErrTransport means a call did not reach the plugin or its answer did not
// come back: the plugin process is likely gone. Errors the plugin reports
// itself are plugin.Diagnostics instead.
var ErrTransport = errors.New("pluginhost: transport failed")

// VersionedPlugins is the host's plugin map for version negotiation:
// protocol version -> plugin set. Pass it as go-plugin's
// ClientConfig.VersionedPlugins with plugin.Handshake; dispensing
// plugin.PluginName then yields a *Client.
func VersionedPlugins() map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		plugin.ProtocolVersion: {plugin.PluginName: grpcPlugin{}},
	}
}

// grpcPlugin binds the host to go-plugin's gRPC transport.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (grpcPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("pluginhost: the engine does not serve plugins")
}

func (grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{rpc: pb.NewDataSourceClient(c)}, nil
}

// DialOptions are the gRPC options the host dials plugins with: messages
// up to plugin.MaxMessage each way.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(plugin.MaxMessage), grpc.MaxCallSendMsgSize(plugin.MaxMessage))}
}

// describeTimeout bounds Capabilities and Schema, whose Source methods
// take no context.
const describeTimeout = 10 * time.Second

// Client is the host side of a plugin connection. It implements
// plugin.Source and plugin.Writer by calling the plugin process. Obtain one
// by dispensing plugin.PluginName from a go-plugin client configured with
// plugin.Handshake and VersionedPlugins.
type Client struct {
	rpc        pb.DataSourceClient
	noBatch    atomic.Bool // the plugin answered GetMany with UNIMPLEMENTED
	noBatchPut atomic.Bool // the plugin answered PutMany with UNIMPLEMENTED
}

var (
	_ plugin.Source = (*Client)(nil)
	_ plugin.Writer = (*Client)(nil)
)

func transport(op string, err error) error {
	return fmt.Errorf("plugin %s: %w: %w", op, ErrTransport, err)
}

// FetchCapabilities asks the plugin what it can do.
func (c *Client) FetchCapabilities(ctx context.Context) (plugin.Capabilities, error) {
	r, err := c.rpc.Capabilities(ctx, &pb.Capabilities_Request{})
	if err != nil {
		return plugin.Capabilities{}, transport("capabilities", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return plugin.Capabilities{}, err
	}
	return plugin.Capabilities{Watch: r.GetWatch(), Writable: r.GetWritable()}, nil
}

// FetchSchema asks the plugin for its config schema.
func (c *Client) FetchSchema(ctx context.Context) (plugin.Schema, error) {
	r, err := c.rpc.Schema(ctx, &pb.Schema_Request{})
	if err != nil {
		return plugin.Schema{}, transport("schema", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return plugin.Schema{}, err
	}
	return fromProtoSchema(r)
}

// Capabilities is FetchCapabilities with errors dropped (zero value).
func (c *Client) Capabilities() plugin.Capabilities {
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	caps, _ := c.FetchCapabilities(ctx)
	return caps
}

// Schema is FetchSchema with errors dropped (empty schema).
func (c *Client) Schema() plugin.Schema {
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	s, _ := c.FetchSchema(ctx)
	return s
}

// Configure sends the config block. A transport failure comes back as an
// error diagnostic; ConfigureErr keeps it apart.
func (c *Client) Configure(ctx context.Context, config []byte) plugin.Diagnostics {
	ds, err := c.ConfigureErr(ctx, config)
	if err != nil {
		return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: "plugin configure failed", Detail: err.Error()}}
	}
	return ds
}

// ConfigureErr is Configure with transport failures returned as an error
// wrapping ErrTransport, separate from the plugin's own diagnostics.
func (c *Client) ConfigureErr(ctx context.Context, config []byte) (plugin.Diagnostics, error) {
	r, err := c.rpc.Configure(ctx, &pb.Configure_Request{Config: config})
	if err != nil {
		return nil, transport("configure", err)
	}
	return fromProtoDiags(r.GetDiagnostics()), nil
}

// Get reads one key.
func (c *Client) Get(ctx context.Context, key string) (plugin.Item, bool, error) {
	r, err := c.rpc.Get(ctx, &pb.Get_Request{Key: key})
	if err != nil {
		return plugin.Item{}, false, transport("get", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return plugin.Item{}, false, err
	}
	if !r.GetFound() {
		return plugin.Item{}, false, nil
	}
	return fromProtoItem(r.GetItem()), true, nil
}

// GetMany reads several keys in one round trip and returns one item and
// one found flag per key, in the order of keys. A plugin built before
// GetMany existed answers UNIMPLEMENTED; the client then reads one key at
// a time, as it does for a batch whose answer is too big for one message.
func (c *Client) GetMany(ctx context.Context, keys []string) ([]plugin.Item, []bool, error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	if c.noBatch.Load() {
		return c.getEach(ctx, keys)
	}
	r, err := c.rpc.GetMany(ctx, &pb.GetMany_Request{Keys: keys})
	switch status.Code(err) {
	case codes.OK:
	case codes.Unimplemented:
		c.noBatch.Store(true)
		return c.getEach(ctx, keys)
	case codes.ResourceExhausted:
		return c.getEach(ctx, keys)
	default:
		return nil, nil, transport("get many", err)
	}
	if err := diagsErr(r.GetDiagnostics()); err != nil {
		return nil, nil, err
	}
	return fromProtoResults(r.GetResults(), len(keys))
}

// getEach is GetMany as one Get per key.
func (c *Client) getEach(ctx context.Context, keys []string) ([]plugin.Item, []bool, error) {
	items, found := make([]plugin.Item, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		var err error
		if items[i], found[i], err = c.Get(ctx, k); err != nil {
			return nil, nil, err
		}
	}
	return items, found, nil
}

// List reads one page, reassembling the streamed chunks.
func (c *Client) List(ctx context.Context, req plugin.ListRequest) (plugin.ListPage, error) {
	stream, err := c.rpc.List(ctx, &pb.List_Request{
		Prefix: req.Prefix, Cursor: req.Cursor, Limit: uint32(max(req.Limit, 0)), Reverse: req.Reverse,
	})
	if err != nil {
		return plugin.ListPage{}, transport("list", err)
	}
	var page plugin.ListPage
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return page, nil
		}
		if err != nil {
			return plugin.ListPage{}, transport("list", err)
		}
		if err := diagsErr(r.GetDiagnostics()); err != nil {
			return plugin.ListPage{}, err
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
func (c *Client) Watch(ctx context.Context, from uint64, send func(plugin.Event) error) error {
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
// PutMany writes items in one round trip. A plugin built before PutMany
// existed answers UNIMPLEMENTED; the client then writes them with Put,
// many at a time, as it does for a batch too big for one message.
func (c *Client) PutMany(ctx context.Context, items []plugin.Item) (uint64, error) {
	if len(items) == 0 {
		return 0, nil
	}
	if c.noBatchPut.Load() {
		return c.putEach(ctx, items)
	}
	in := make([]*pb.Item, len(items))
	for i, it := range items {
		in[i] = &pb.Item{Key: it.Key, Value: it.Value}
	}
	r, err := c.rpc.PutMany(ctx, &pb.PutMany_Request{Items: in})
	switch status.Code(err) {
	case codes.OK:
	case codes.Unimplemented:
		c.noBatchPut.Store(true)
		return c.putEach(ctx, items)
	case codes.ResourceExhausted:
		return c.putEach(ctx, items)
	default:
		return 0, transport("put many", err)
	}
	return r.GetRevision(), diagsErr(r.GetDiagnostics())
}

// putEach is PutMany as Puts, many at a time.
func (c *Client) putEach(ctx context.Context, items []plugin.Item) (uint64, error) {
	_, err := plugin.PutAll(ctx, putOnly{c}, items)
	return 0, err
}

// putOnly is a Client without PutMany, so that PutAll uses Put.
type putOnly struct{ c *Client }

func (p putOnly) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	return p.c.Put(ctx, key, value)
}

func (p putOnly) Delete(ctx context.Context, key string) (uint64, error) {
	return p.c.Delete(ctx, key)
}

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
