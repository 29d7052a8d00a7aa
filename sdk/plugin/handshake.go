package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kilnhq/kiln/sdk/plugin/internal/pb"
)

// Handshake is the go-plugin handshake shared by the engine and every
// plugin. The cookie only tells a binary it was started by Kiln; it is not a
// security measure. ProtocolVersion is unset because versions are
// negotiated through VersionedPlugins.
var Handshake = goplugin.HandshakeConfig{
	MagicCookieKey:   "KILN_PLUGIN",
	MagicCookieValue: "datasource-7c1f4e0a",
}

// PluginName is the name the data-source service is dispensed under.
const PluginName = "datasource"

// maxMessage bounds one gRPC message each way (one value or one list chunk).
const maxMessage = 64 << 20

// VersionedPlugins is the plugin map for version negotiation: protocol
// version -> plugin set. The host passes it as ClientConfig.VersionedPlugins;
// dispensing PluginName yields a *Client.
func VersionedPlugins() map[int]goplugin.PluginSet {
	return versionedPlugins(nil)
}

func versionedPlugins(src Source) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		ProtocolVersion: {PluginName: &grpcPlugin{src: src}},
	}
}

// grpcPlugin binds a Source to go-plugin's gRPC transport.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	src Source // nil on the host side
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDataSourceServer(s, &server{src: p.src})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{rpc: pb.NewDataSourceClient(c)}, nil
}
