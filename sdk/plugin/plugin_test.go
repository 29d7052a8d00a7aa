package plugin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
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

// dial starts the test binary as a plugin process and returns its client.
func dial(t *testing.T, versions map[int]goplugin.PluginSet) (*Client, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "KILN_SDK_TEST_PLUGIN=1")
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versions,
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
	return raw.(*Client), nil
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestOverProcess(t *testing.T) {
	c, err := dial(t, VersionedPlugins())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if got, want := c.Capabilities(), (Capabilities{Watch: true, Writable: true}); got != want {
		t.Errorf("Capabilities = %+v, want %+v", got, want)
	}
	if s := c.Schema(); len(s.Attributes) != 1 || s.Attributes[0] != (Attribute{Name: "seed", Type: TypeList, Required: true, Description: "key=value pairs"}) {
		t.Errorf("Schema = %+v", s)
	}
	ds := c.Configure(ctx, []byte(`{"seed": ["reject"]}`))
	want := Diagnostics{{Severity: SeverityWarning, Summary: "deprecated"}, {Severity: SeverityError, Summary: "rejected", Detail: "as asked", Attribute: "seed"}}
	if !slices.Equal(ds, want) {
		t.Errorf("Configure = %+v, want %+v", ds, want)
	}
	if ds := c.Configure(ctx, []byte(`{}`)); ds != nil {
		t.Errorf("Configure = %v", ds)
	}

	events := make(chan Event, 16)
	wctx, stop := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() { watchDone <- c.Watch(wctx, 0, func(ev Event) error { events <- ev; return nil }) }()
	if ev := <-events; !ev.Bookmark || ev.Revision != 0 {
		t.Errorf("first event = %+v, want a bookmark at 0", ev)
	}

	big := bytes.Repeat([]byte("x"), 700<<10) // three of these span several List chunks
	for _, k := range []string{"a", "b", "c"} {
		if _, err := c.Put(ctx, "big/"+k, big); err != nil {
			t.Fatal(err)
		}
	}
	if rev, err := c.Delete(ctx, "big/b"); err != nil || rev != 4 {
		t.Errorf("Delete = %d, %v; want 4", rev, err)
	}
	for i, want := range []Event{{Revision: 1, Key: "big/a", Value: big}, {Revision: 2, Key: "big/b", Value: big}, {Revision: 3, Key: "big/c", Value: big}, {Revision: 4, Key: "big/b", Deleted: true}} {
		ev := <-events
		if ev.Revision != want.Revision || ev.Key != want.Key || ev.Deleted != want.Deleted || !bytes.Equal(ev.Value, want.Value) {
			t.Errorf("event %d = %d %s deleted=%v (%d bytes), want %+v", i, ev.Revision, ev.Key, ev.Deleted, len(ev.Value), want.Key)
		}
	}
	stop()
	if err := <-watchDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after cancel: %v", err)
	}

	page, err := c.List(ctx, ListRequest{Prefix: "big/", Limit: 5})
	if err != nil || len(page.Items) != 2 || page.Items[1].Key != "big/c" || !bytes.Equal(page.Items[1].Value, big) || page.Next != "" {
		t.Errorf("List = %d items, next %q, %v", len(page.Items), page.Next, err)
	}
	page, err = c.List(ctx, ListRequest{Prefix: "big/", Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Next != "big/a" {
		t.Errorf("List(limit 1) = %d items, next %q, %v", len(page.Items), page.Next, err)
	}

	it, found, err := c.Get(ctx, "big/a")
	if err != nil || !found || !bytes.Equal(it.Value, big) {
		t.Errorf("Get(big/a) found=%v err=%v", found, err)
	}
	if _, found, err := c.Get(ctx, "nope"); found || err != nil {
		t.Errorf("Get(nope) = %v, %v", found, err)
	}
	_, _, err = c.Get(ctx, "fail")
	var diags Diagnostics
	if !errors.As(err, &diags) || diags[0].Summary != "get failed on purpose" || errors.Is(err, ErrTransport) {
		t.Errorf("Get(fail) err = %v, want the plugin's diagnostic", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	_, err := dial(t, map[int]goplugin.PluginSet{ProtocolVersion + 1: VersionedPlugins()[ProtocolVersion]})
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
