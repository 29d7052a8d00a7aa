package pluginhost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kilnhq/kiln/sdk/plugin"
	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// oldServer is a plugin built before GetMany existed: the generated
// server's UNIMPLEMENTED answers it, and Get serves "a" and "b".
type oldServer struct {
	pb.UnimplementedDataSourceServer
}

func (oldServer) Capabilities(context.Context, *pb.Capabilities_Request) (*pb.Capabilities_Response, error) {
	return &pb.Capabilities_Response{}, nil
}

func (oldServer) Configure(context.Context, *pb.Configure_Request) (*pb.Configure_Response, error) {
	return &pb.Configure_Response{}, nil
}

func (oldServer) Get(_ context.Context, r *pb.Get_Request) (*pb.Get_Response, error) {
	if k := r.GetKey(); k == "a" || k == "b" {
		return &pb.Get_Response{Item: &pb.Item{Key: k, Value: []byte(`"` + k + `"`), Revision: 1}, Found: true}, nil
	}
	return &pb.Get_Response{}, nil
}

// Put answers every write with revision 7.
func (oldServer) Put(context.Context, *pb.Put_Request) (*pb.Put_Response, error) {
	return &pb.Put_Response{Revision: 7}, nil
}

type oldPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (oldPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDataSourceServer(s, oldServer{})
	return nil
}

func (oldPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

// serveOld serves oldServer, as the old plugin's main would.
func serveOld() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  plugin.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{plugin.ProtocolVersion: {plugin.PluginName: oldPlugin{}}},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}

// describeMany formats a GetMany answer as "key=value@rev" or "key-" per
// key, in order.
func describeMany(keys []string, items []plugin.Item, found []bool) string {
	var out []string
	for i, k := range keys {
		switch {
		case !found[i]:
			out = append(out, k+"-")
		case items[i].Key != k:
			out = append(out, fmt.Sprintf("%s:WRONG KEY %s", k, items[i].Key))
		default:
			out = append(out, fmt.Sprintf("%s=%s@%d", k, items[i].Value, items[i].Revision))
		}
	}
	return strings.Join(out, " ")
}

// TestGetMany reads batches from each built-in plugin (and from a plugin
// without GetMany) as real processes: one answer per key, in key order,
// missing and repeated keys included.
func TestGetMany(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data.json")
	if err := os.WriteFile(data, []byte(`{"b": 2, "a": {"x": 1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := []string{"b", "missing", "a", "b"}
	tests := []struct {
		name, plugin, config string
		setup                func(t *testing.T, c *Client)
		want                 string
	}{
		{"jsonfile", "jsonfile", fmt.Sprintf(`{"path":%q}`, data), nil, `b=2@2 missing- a={"x":1}@1 b=2@2`},
		{"kv", "kv", fmt.Sprintf(`{"dir":%q}`, filepath.Join(dir, "kv")), func(t *testing.T, c *Client) {
			for _, kv := range [][2]string{{"a", `"A"`}, {"b", `"B"`}} {
				if _, err := c.Put(context.Background(), kv[0], []byte(kv[1])); err != nil {
					t.Fatal(err)
				}
			}
		}, `b="B"@2 missing- a="A"@1 b="B"@2`},
		{"without GetMany", "old", `{}`, nil, `b="b"@1 missing- a="a"@1 b="b"@1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, tt.plugin, tt.config)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			for range 2 { // the second time, a plugin without GetMany is known
				items, found, err := c.GetMany(context.Background(), keys)
				if err != nil {
					t.Fatal(err)
				}
				if got := describeMany(keys, items, found); got != tt.want {
					t.Errorf("GetMany = %s, want %s", got, tt.want)
				}
			}
			if items, found, err := c.GetMany(context.Background(), nil); err != nil || items != nil || found != nil {
				t.Errorf("GetMany(no keys) = %v, %v, %v", items, found, err)
			}
		})
	}
}

// TestPostgresGetMany reads a batch in one query.
func TestPostgresGetMany(t *testing.T) {
	admin, schema := testSchema(t)
	if _, err := admin.Exec(context.Background(), `INSERT INTO `+schema+`.posts VALUES ('a', '{}', 'A'), ('b', '{}', 'B')`); err != nil {
		t.Fatal(err)
	}
	c := start(t, "postgres", fmt.Sprintf(`{"dsn":%q,"table":"%s.posts","key_column":"slug","value_column":"title","key_prefix":"post:"}`, testDSN, schema))
	keys := []string{"post:b", "post:zz", "nopfx", "post:a"}
	items, found, err := c.GetMany(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describeMany(keys, items, found), "post:b=B@0 post:zz- nopfx- post:a=A@0"; got != want {
		t.Errorf("GetMany = %s, want %s", got, want)
	}
}

// TestPutMany writes a batch through each writable built-in plugin (kv has
// a BatchWriter: one transaction; jsonfile has not: the SDK puts each
// item) and through a plugin without PutMany (the client falls back to
// Put), as real processes.
func TestPutMany(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data.json")
	if err := os.WriteFile(data, []byte(`{"a": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	items := []plugin.Item{{Key: "x", Value: []byte(`"X"`)}, {Key: "y", Value: []byte(`"Y"`)}, {Key: "a", Value: []byte(`2`)}}
	keys := []string{"x", "y", "a"}
	tests := []struct {
		name, plugin, config string
		wantRev              uint64
		wantRead             string // GetMany of keys after the write; "" skips it
	}{
		{"kv", "kv", fmt.Sprintf(`{"dir":%q}`, filepath.Join(dir, "kv")), 3, `x="X"@1 y="Y"@2 a=2@3`},
		{"jsonfile", "jsonfile", fmt.Sprintf(`{"path":%q}`, data), 0, `x="X"@2 y="Y"@3 a=2@4`},
		{"without PutMany", "old", `{}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, tt.plugin, tt.config)
			rev, err := c.PutMany(context.Background(), items)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantRev != 0 && rev != tt.wantRev {
				t.Errorf("PutMany revision = %d, want %d", rev, tt.wantRev)
			}
			if tt.wantRead == "" {
				return
			}
			got, found, err := c.GetMany(context.Background(), keys)
			if err != nil {
				t.Fatal(err)
			}
			if s := describeMany(keys, got, found); s != tt.wantRead {
				t.Errorf("after PutMany: %s, want %s", s, tt.wantRead)
			}
		})
	}
}
