package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kilnhq/kiln/sdk/plugin/pb"
)

// The test binary is also the plugin: with KILN_SDK_TEST_PLUGIN set it
// serves a memSource, exactly like a plugin's main.
func TestMain(m *testing.M) {
	if os.Getenv("KILN_SDK_TEST_PLUGIN") != "" {
		Serve(newMemSource())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// memSource is a small in-memory writable source.
type memSource struct {
	mu      sync.Mutex
	data    map[string][]byte
	rev     uint64
	changed chan struct{}
	log     []Event
}

func newMemSource() *memSource {
	return &memSource{data: map[string][]byte{}, changed: make(chan struct{})}
}

func (s *memSource) Capabilities() Capabilities { return Capabilities{Watch: true, Writable: true} }

func (s *memSource) Schema() Schema {
	return Schema{Attributes: []Attribute{{Name: "seed", Type: TypeList, Required: true, Description: "key=value pairs"}}}
}

func (s *memSource) Configure(_ context.Context, config []byte) Diagnostics {
	if bytes.Contains(config, []byte("reject")) {
		return Diagnostics{
			{Severity: SeverityWarning, Summary: "deprecated"},
			{Severity: SeverityError, Summary: "rejected", Detail: "as asked", Attribute: "seed"},
		}
	}
	return nil
}

func (s *memSource) Get(_ context.Context, key string) (Item, bool, error) {
	if key == "fail" {
		return Item{}, false, errors.New("get failed on purpose")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return Item{Key: key, Value: v}, ok, nil
}

func (s *memSource) List(_ context.Context, req ListRequest) (ListPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.data {
		if strings.HasPrefix(k, req.Prefix) && k > req.Cursor {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var p ListPage
	for i, k := range keys {
		if i == req.Limit {
			p.Next = keys[i-1]
			break
		}
		p.Items = append(p.Items, Item{Key: k, Value: s.data[k]})
	}
	return p, nil
}

func (s *memSource) Watch(ctx context.Context, from uint64, send func(Event) error) error {
	if from == 0 {
		s.mu.Lock()
		from = s.rev
		s.mu.Unlock()
		if err := send(Event{Revision: from, Bookmark: true}); err != nil {
			return err
		}
	}
	for {
		s.mu.Lock()
		evs, ch := slices.Clone(s.log[min(from, uint64(len(s.log))):]), s.changed
		s.mu.Unlock()
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return err
			}
			from = ev.Revision
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}

func (s *memSource) Put(_ context.Context, key string, value []byte) (uint64, error) {
	return s.change(Event{Key: key, Value: value}), nil
}

func (s *memSource) Delete(_ context.Context, key string) (uint64, error) {
	return s.change(Event{Key: key, Deleted: true}), nil
}

func (s *memSource) change(ev Event) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Deleted {
		delete(s.data, ev.Key)
	} else {
		s.data[ev.Key] = ev.Value
	}
	s.rev++
	ev.Revision = s.rev
	s.log = append(s.log, ev)
	close(s.changed)
	s.changed = make(chan struct{})
	return s.rev
}

// wireHost is a bare host for these tests: it dispenses the raw generated
// client, so the SDK's server is tested on the wire, without the engine.
type wireHost struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (wireHost) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return nil }

func (wireHost) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewDataSourceClient(c), nil
}

// dial starts the test binary as a plugin process and returns a wire
// client speaking protocol version.
func dial(t *testing.T, version int) (pb.DataSourceClient, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "KILN_SDK_TEST_PLUGIN=1")
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{version: {PluginName: wireHost{}}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Output: tWriter{t}, Level: hclog.Info}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		return nil, err
	}
	return raw.(pb.DataSourceClient), nil
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestServe checks what Serve puts on the wire for each call.
func TestServe(t *testing.T) {
	c, err := dial(t, ProtocolVersion)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	caps, err := c.Capabilities(ctx, &pb.Capabilities_Request{})
	if err != nil || !caps.GetWatch() || !caps.GetWritable() {
		t.Errorf("Capabilities = %v, %v", caps, err)
	}
	sc, err := c.Schema(ctx, &pb.Schema_Request{})
	if err != nil || len(sc.GetAttributes()) != 1 || sc.GetAttributes()[0].GetType() != "list(string)" || !sc.GetAttributes()[0].GetRequired() {
		t.Errorf("Schema = %v, %v", sc, err)
	}
	cr, err := c.Configure(ctx, &pb.Configure_Request{Config: []byte(`{"seed": ["reject"]}`)})
	if got, want := describeDiags(cr.GetDiagnostics()), "WARNING deprecated||; ERROR rejected|as asked|seed"; err != nil || got != want {
		t.Errorf("Configure diagnostics = %q, %v; want %q", got, err, want)
	}
	big := bytes.Repeat([]byte("x"), 700<<10) // three of these span several List chunks
	for _, k := range []string{"a", "b", "c"} {
		if r, err := c.Put(ctx, &pb.Put_Request{Key: "big/" + k, Value: big}); err != nil || r.GetDiagnostics() != nil {
			t.Fatal(r, err)
		}
	}
	stream, err := c.List(ctx, &pb.List_Request{Prefix: "big/", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var chunks []string
	for {
		r, err := stream.Recv()
		if err != nil {
			break
		}
		chunks = append(chunks, fmt.Sprintf("%d items next=%q", len(r.GetItems()), r.GetNext()))
	}
	if got, want := strings.Join(chunks, "; "), `1 items next=""; 1 items next="big/b"`; got != want {
		t.Errorf("List chunks = %s, want %s", got, want)
	}
	g, err := c.Get(ctx, &pb.Get_Request{Key: "fail"})
	if got, want := describeDiags(g.GetDiagnostics()), "ERROR get failed on purpose||"; err != nil || got != want {
		t.Errorf("Get(fail) = %q, %v; want the error as a diagnostic, not a status", got, err)
	}
}

// describeDiags formats wire diagnostics as "SEVERITY summary|detail|attribute; ...".
func describeDiags(ds []*pb.Diagnostic) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %s|%s|%s", d.GetSeverity(), d.GetSummary(), d.GetDetail(), d.GetAttribute()))
	}
	return strings.Join(out, "; ")
}

func TestVersionMismatch(t *testing.T) {
	_, err := dial(t, ProtocolVersion+1)
	if err == nil || !strings.Contains(err.Error(), "incompatible API version") {
		t.Fatalf("err = %v, want an incompatible version error", err)
	}
}

// TestNotStartedByKiln: run by hand, a plugin says what it is and exits
// without writing to stdout.
func TestNotStartedByKiln(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "KILN_SDK_TEST_PLUGIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "This binary is a plugin") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
