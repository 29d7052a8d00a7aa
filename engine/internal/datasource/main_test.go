package datasource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/store"
	"github.com/kilnhq/kiln/plugins/jsonfile"
	"github.com/kilnhq/kiln/plugins/kv"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// The test binary doubles as the plugin: go-plugin re-runs it as
// `<test binary> plugin <name>`, exactly as the engine re-runs kiln.
// With KILN_TEST_HOST set it is instead an engine that starts one plugin,
// prints its pid and waits to be killed (TestPluginExitsWithEngine).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "plugin" {
		newSource, ok := testBuiltins[os.Args[2]]
		if !ok {
			fmt.Fprintln(os.Stderr, "unknown built-in", os.Args[2])
			os.Exit(1)
		}
		plugin.Serve(newSource())
		os.Exit(0)
	}
	if dir := os.Getenv("KILN_TEST_HOST"); dir != "" {
		runHost()
		return
	}
	os.Exit(m.Run())
}

// testBuiltins are the plugins the test binary serves as `plugin NAME`.
var testBuiltins = map[string]func() plugin.Source{
	"probe":    func() plugin.Source { return &probe{} },
	"jsonfile": jsonfile.New,
	"kv":       kv.New,
}

func builtinNames() []string { return slices.Sorted(maps.Keys(testBuiltins)) }

// runHost is a minimal engine for TestPluginExitsWithEngine and
// TestStaleRunDir: its run folder goes under $KILN_TEST_HOST.
func runHost() {
	sup, err := Start(context.Background(), []*config.DataSource{{Name: "p", Plugin: "probe"}}, Options{Executable: os.Args[0], Builtins: builtinNames(), TempDir: os.Getenv("KILN_TEST_HOST")})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	v, _, err := sup.Data("p").Get(context.Background(), "pid")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("plugin pid %s\n", v)
	select {}
}

// probe is a test-only built-in plugin that reports on its own process.
type probe struct{ cfg probeConfig }

type probeConfig struct {
	Fail      string `json:"fail"`       // attribute to blame in a Configure error
	CrashFile string `json:"crash_file"` // Configure exits the process while this file exists
}

func (p *probe) Capabilities() plugin.Capabilities { return plugin.Capabilities{} }
func (p *probe) Schema() plugin.Schema             { return plugin.Schema{} }

func (p *probe) Configure(_ context.Context, config []byte) plugin.Diagnostics {
	if err := json.Unmarshal(config, &p.cfg); err != nil {
		return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: "bad config", Detail: err.Error()}}
	}
	plugin.Logger().Info("probe configured", "answer", 42)
	if p.cfg.CrashFile != "" {
		if _, err := os.Stat(p.cfg.CrashFile); err == nil {
			os.Exit(3)
		}
	}
	if p.cfg.Fail != "" {
		return plugin.Diagnostics{
			{Severity: plugin.SeverityWarning, Summary: "just a warning"},
			{Severity: plugin.SeverityError, Summary: "invalid value", Detail: "probe rejects it", Attribute: p.cfg.Fail},
		}
	}
	return nil
}

// Get answers "pid" with the process id and "env/NAME" with $NAME.
func (p *probe) Get(_ context.Context, key string) (plugin.Item, bool, error) {
	switch {
	case key == "pid":
		return plugin.Item{Key: key, Value: fmt.Appendf(nil, "%d", os.Getpid())}, true, nil
	case strings.HasPrefix(key, "env/"):
		v, ok := os.LookupEnv(strings.TrimPrefix(key, "env/"))
		return plugin.Item{Key: key, Value: []byte(v)}, ok, nil
	}
	return plugin.Item{}, false, errors.New("probe: no such question")
}

func (p *probe) List(context.Context, plugin.ListRequest) (plugin.ListPage, error) {
	return plugin.ListPage{}, nil
}

func (p *probe) Watch(ctx context.Context, _ uint64, _ func(plugin.Event) error) error {
	<-ctx.Done()
	return nil
}

// memRevisions is the engine store's GetMeta/SetMeta, kept in memory.
type memRevisions struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (r *memRevisions) GetMeta(key string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return v, nil
}

func (r *memRevisions) SetMeta(key string, value []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string][]byte{}
	}
	r.m[key] = append([]byte(nil), value...)
	return nil
}

// testLogger sends the supervisor's and the plugins' logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
