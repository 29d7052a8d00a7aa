package render

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBudgets runs hostile guests, each passing one budget: the render
// fails with an error naming the budget and its limit, long before its
// timeout, the host allocates a bounded amount doing it, and the
// renderer keeps working.
func TestBudgets(t *testing.T) {
	goGuest := func(t *testing.T) string { return buildGoGuest(t, "testdata/misbehave") }
	cGuest := func(variant string) func(t *testing.T) string {
		return func(t *testing.T) string { return buildCGuest(t, variant) }
	}
	tests := []struct {
		name     string
		wasm     func(t *testing.T) string
		path     string
		cfg      Config
		want     string
		maxAlloc uint64 // host bytes allocated during the render
		maxLog   int    // bytes of log kept
	}{
		{"stdout flood", goGuest, "/logflood", Config{MaxLog: 64 << 10},
			"over budget: max_log is 65536 bytes of log per render", 8 << 20, 64 << 10},
		{"stdout flood, default", goGuest, "/logflood", Config{},
			"over budget: max_log is 1048576 bytes of log per render", 16 << 20, 1 << 20},
		{"kiln.log flood", goGuest, "/kilnlog", Config{MaxLog: 64 << 10},
			"over budget: max_log is 65536 bytes of log per render", 8 << 20, 64 << 10},
		{"kiln.log flood, C", cGuest("LOGFLOOD"), "/", Config{},
			"over budget: max_log is 1048576 bytes of log per render", 16 << 20, 1 << 20},
		{"a million dependencies", goGuest, "/deps", Config{},
			"over budget: max_dependencies is 10000 keys and prefixes per render", 16 << 20, 0},
		{"dependencies, lower budget", goGuest, "/deps", Config{MaxDependencies: 100},
			"over budget: max_dependencies is 100 keys and prefixes per render", 4 << 20, 0},
		{"400 responses of 16 MiB", cGuest("RESPONSES"), "/", Config{MaxMemory: 64 << 20},
			"over budget: the number of kiln.response calls is 8 calls per render", 40 << 20, 0},
		{"1000 tags", goGuest, "/tags", Config{},
			"over budget: max_tags is 128 tags per render: 1000 tags", 8 << 20, 0},
		{"1000 tags, within a raised budget", goGuest, "/tags", Config{MaxTags: 1000}, "", 8 << 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &logRecorder{}
			cfg := tt.cfg
			cfg.Name, cfg.WasmPath, cfg.Pool, cfg.Timeout = "budget", tt.wasm(t), 1, time.Minute
			r := load(t, newTestRuntime(t, slog.New(rec)), cfg)
			start := time.Now()
			alloc := allocated()
			_, err := r.Render(context.Background(), Request{Route: "/*p", Path: tt.path})
			alloc = allocated() - alloc
			checkErr(t, err, tt.want, budgetIs(tt.want))
			if tt.want != "" && strings.Contains(err.Error(), "stack trace") {
				t.Errorf("err = %v, want the budget alone", err)
			}
			elapsed := time.Since(start)
			t.Logf("%s: %s, %d bytes allocated by the host, %d bytes logged", tt.name, elapsed.Round(time.Millisecond), alloc, logged(rec))
			if elapsed > 30*time.Second {
				t.Errorf("the render ran %s: stopped by its timeout, not its budget", elapsed)
			}
			if alloc > tt.maxAlloc {
				t.Errorf("the host allocated %d bytes, want at most %d", alloc, tt.maxAlloc)
			}
			if got := logged(rec); got > tt.maxLog {
				t.Errorf("%d bytes logged, want at most %d", got, tt.maxLog)
			}
			if tt.path == "/" {
				return // the C guests misbehave on every path
			}
			if _, err := r.Render(context.Background(), Request{Route: "/*p", Path: "/ok"}); err != nil {
				t.Errorf("render after the budget: %v", err)
			}
		})
	}
}

func budgetIs(want string) error {
	if want == "" {
		return nil
	}
	return ErrBudget
}

// allocated is the bytes the process has allocated on the heap so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func logged(rec *logRecorder) int {
	n := 0
	for _, m := range rec.messages() {
		n += len(m)
	}
	return n
}

// TestDependencyBytes checks the fixed bound on the bytes of a page's keys
// and prefixes, which max_dependencies alone would leave at 64 KiB a key.
func TestDependencyBytes(t *testing.T) {
	d := depSet{budget: depBudget{limit: 1 << 20}}
	const keyLen = 64 << 10
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "4194304 bytes of keys and prefixes") {
			t.Errorf("panic = %v, want the dependency bytes budget", err)
		}
		if got, want := len(d.Keys), maxDependencyBytes/keyLen; got != want {
			t.Errorf("kept %d keys, want %d", got, want)
		}
	}()
	for i := 0; ; i++ {
		d.key(fmt.Sprintf("%0*d", keyLen, i))
	}
}
