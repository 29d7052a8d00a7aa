package plugin

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// What the engine and every plugin must agree on. The engine's host side
// (engine/internal/pluginhost) uses the same values.

// Handshake is the go-plugin handshake shared by the engine and every
// plugin. The cookie only tells a binary it was started by Kiln; it is not a
// security measure. ProtocolVersion is unset because versions are
// negotiated through go-plugin's VersionedPlugins.
var Handshake = goplugin.HandshakeConfig{
	MagicCookieKey:   "KILN_PLUGIN",
	MagicCookieValue: "datasource-7c1f4e0a",
}

// PluginName is the name the data-source service is dispensed under.
const PluginName = "datasource"

// MaxMessage bounds one gRPC message each way (one value, one list chunk
// or one batch of GetMany answers).
const MaxMessage = 64 << 20

// versionedPlugins is the plugin side's map for version negotiation:
// protocol version -> plugin set serving src.
func versionedPlugins(src Source) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		ProtocolVersion: {PluginName: &grpcPlugin{src: src}},
	}
}

// grpcPlugin binds a Source to go-plugin's gRPC transport, plugin side.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	src Source
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDataSourceServer(s, &server{src: p.src})
	return nil
}

// GRPCClient is the host's business: the SDK only serves.
func (p *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("plugin: the SDK serves plugins; the host side is in the Kiln engine")
}
