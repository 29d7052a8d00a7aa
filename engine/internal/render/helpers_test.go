package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// cacheDir is where tests keep built wasm and wazero's compilation cache
// between runs, so the suite stays fast.
func cacheDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "kiln-render-test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// needTool skips the test when a toolchain is missing, or fails it in CI.
func needTool(tb testing.TB, name, install string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s not found; install %s", name, install)
	}
	tb.Skipf("%s not found; install %s to run this test", name, install)
}

// buildGoGuest builds the Go renderer in pkgDir (relative to this
// package) with BuildGo, cached by name.
func buildGoGuest(tb testing.TB, pkgDir string) string {
	tb.Helper()
	out := filepath.Join(cacheDir(tb), strings.ReplaceAll(filepath.Clean(pkgDir), string(filepath.Separator), "_")+".wasm")
	if _, err := BuildGo(context.Background(), pkgDir, out); err != nil {
		tb.Fatalf("build %s: %v", pkgDir, err)
	}
	return out
}

// buildCGuest builds testdata/c/guest.c with -DVARIANT_<variant>, cached
// by the hash of the source and flags.
func buildCGuest(tb testing.TB, variant string) string {
	tb.Helper()
	needTool(tb, "clang", "clang, lld and wasi-libc (apt install clang lld wasi-libc)")
	src, err := os.ReadFile("testdata/c/guest.c")
	if err != nil {
		tb.Fatal(err)
	}
	args := []string{"--target=wasm32-wasi", "-O2", "-DVARIANT_" + variant}
	if variant != "COMMAND" {
		args = append(args, "-mexec-model=reactor")
	}
	sum := sha256.Sum256(append(src, strings.Join(args, " ")...))
	out := filepath.Join(cacheDir(tb), "c_"+variant+"_"+hex.EncodeToString(sum[:6])+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("clang", append(args, "-o", out, "testdata/c/guest.c")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("clang %s: %v\n%s", variant, err, b)
	}
	return out
}

// newTestRuntime returns a Runtime with a compilation cache shared between
// test runs.
func newTestRuntime(tb testing.TB, logger *slog.Logger) *Runtime {
	tb.Helper()
	rt, err := NewRuntime(context.Background(), filepath.Join(cacheDir(tb), "wazero"), logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func load(tb testing.TB, rt *Runtime, cfg Config) *wasmRenderer {
	tb.Helper()
	r, err := rt.Load(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(context.Background()) })
	w := r.(*wasmRenderer)
	if err := w.module(context.Background()); err != nil { // tests look at the pool
		tb.Fatal(err)
	}
	w.done()
	return w
}

// memData is an in-memory Data: lists page in key order, and next is the
// last key of a page when more items follow.
type memData struct {
	items map[string]string
	down  bool // every read fails as unavailable
	// batches is the size of every GetMany call, to check a batch is
	// one call.
	batches []int
}

func (d *memData) Get(_ context.Context, key string) ([]byte, bool, error) {
	if d.down {
		return nil, false, fmt.Errorf("memdata: %w", ErrUnavailable)
	}
	v, ok := d.items[key]
	if !ok {
		return nil, false, nil
	}
	return []byte(v), true, nil
}

func (d *memData) GetMany(ctx context.Context, keys []string) ([][]byte, []bool, error) {
	d.batches = append(d.batches, len(keys))
	values, found := make([][]byte, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		v, f, err := d.Get(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		values[i], found[i] = v, f
	}
	return values, found, nil
}

func (d *memData) List(_ context.Context, prefix, cursor string, limit int, reverse bool) ([]Item, string, error) {
	if d.down {
		return nil, "", fmt.Errorf("memdata: %w", ErrUnavailable)
	}
	var keys []string
	for k := range d.items {
		after := cursor == "" || (!reverse && k > cursor) || (reverse && k < cursor)
		if strings.HasPrefix(k, prefix) && after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if reverse {
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	}
	var next string
	if len(keys) > limit {
		keys, next = keys[:limit], keys[limit-1]
	}
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i] = Item{Key: k, Value: []byte(d.items[k])}
	}
	return items, next, nil
}

// logRecorder is a slog handler that keeps every message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}
