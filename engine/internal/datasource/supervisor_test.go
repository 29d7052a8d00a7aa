package datasource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
)

// fastPolicy makes crash loops quick in tests with real processes.
var fastPolicy = policy{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond, Window: time.Minute, Limit: 3}

func TestPolicy(t *testing.T) {
	p := policy{Min: 100 * time.Millisecond, Max: 5 * time.Second, Window: time.Minute, Limit: 5}
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name         string
		recent       []time.Time
		now          time.Time
		degraded     bool
		wantWait     time.Duration
		wantDegraded bool
		wantKept     int
	}{
		{"first failure", nil, at(0), false, 100 * time.Millisecond, false, 1},
		{"second doubles", []time.Time{at(0)}, at(1), false, 200 * time.Millisecond, false, 2},
		{"fourth", []time.Time{at(0), at(1), at(2)}, at(3), false, 800 * time.Millisecond, false, 4},
		{"limit reached: degraded at the maximum", []time.Time{at(0), at(1), at(2), at(3)}, at(4), false, 5 * time.Second, true, 5},
		{"old failures forgotten", []time.Time{at(0), at(1), at(2), at(3)}, at(61.5), false, 400 * time.Millisecond, false, 3},
		{"degraded stays degraded, forever", []time.Time{at(0)}, at(3600), true, 5 * time.Second, true, 1},
		{"doubling capped at the maximum", []time.Time{at(0), at(0), at(0), at(0), at(0), at(0), at(0)}, at(1), false, 5 * time.Second, true, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, wait, degraded := p.fail(append([]time.Time(nil), tt.recent...), tt.now, tt.degraded)
			if wait != tt.wantWait || degraded != tt.wantDegraded || len(kept) != tt.wantKept {
				t.Errorf("fail = %d kept, %s, degraded %v; want %d, %s, %v", len(kept), wait, degraded, tt.wantKept, tt.wantWait, tt.wantDegraded)
			}
		})
	}
}

// fakeClock is a clock that only moves when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Now().Add(d)
	return ch
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestFailureStates drives one source's failures on a fake clock: the
// state it reports and what it logs. A crash loop logs each change of
// state once, repeats at debug level, and a summary once a minute while
// degraded.
func TestFailureStates(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{now: time.Unix(1000, 0)}
	s := &Supervisor{log: slog.New(slog.NewTextHandler(&buf, nil)), clock: clk,
		policy: policy{Min: 100 * time.Millisecond, Max: 5 * time.Second, Window: time.Minute, Limit: 5}}
	in := newInstance(s, &config.DataSource{Name: "db"})
	steps := []struct {
		name      string
		advance   time.Duration
		err       string // "" marks the source up
		wantState State
		wantLog   string // the message logged at info or above, "" for none
	}{
		{"fails at start", 0, "connection refused", StateStarting, "data source unavailable; retrying"},
		{"same error again", 100 * time.Millisecond, "connection refused", StateStarting, ""},
		{"a new error", 200 * time.Millisecond, "no such host", StateStarting, "data source unavailable; retrying"},
		{"fourth", 400 * time.Millisecond, "no such host", StateStarting, ""},
		{"fifth within the minute: degraded", 800 * time.Millisecond, "no such host", StateDegraded, "data source degraded; pages that need it answer 503 until it is back"},
		{"repeats are held back", 5 * time.Second, "no such host", StateDegraded, ""},
		{"so are other errors while degraded", 5 * time.Second, "dial unix /tmp/plugin123: refused", StateDegraded, ""},
		{"a minute on: one summary", 51 * time.Second, "no such host", StateDegraded, "data source still degraded"},
		{"hours later, still trying", time.Hour, "no such host", StateDegraded, "data source still degraded"},
		{"comes up", 5 * time.Second, "", StateUp, "data source recovered"},
		{"crashes", time.Hour, "plugin process exited", StateStarting, "data source crashed; restarting"},
	}
	for _, st := range steps {
		buf.Reset()
		clk.advance(st.advance)
		if st.err == "" {
			in.up(&conn{pid: 42})
		} else {
			in.failed(errors.New(st.err))
		}
		h := in.health()
		if h.State != st.wantState {
			t.Errorf("%s: state = %s, want %s", st.name, h.State, st.wantState)
		}
		got := ""
		if _, msg, ok := strings.Cut(buf.String(), `msg="`); ok {
			got, _, _ = strings.Cut(msg, `"`)
		}
		if got != st.wantLog || strings.Count(buf.String(), "\n") > 1 {
			t.Errorf("%s: logged %q, want %q", st.name, buf.String(), st.wantLog)
		}
	}
	if h := in.health(); h.LastError != "plugin process exited" || h.Since != clk.Now() {
		t.Errorf("health = %+v", h)
	}
}

// waitState waits until the source reports state.
func waitState(t *testing.T, sup *Supervisor, name string, state State) SourceHealth {
	t.Helper()
	var h SourceHealth
	for range 1500 {
		for _, h = range sup.Health() {
			if h.Name == name && h.State == state {
				return h
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never %s: %+v", name, state, h)
	return h
}

// TestNeverGivesUp: a plugin that crashes at every start goes past the
// crash-loop limit, is reported degraded, keeps being tried, and comes
// back once it can start again.
func TestNeverGivesUp(t *testing.T) {
	crash := filepath.Join(t.TempDir(), "crash")
	sup := startOpts(t, Options{policy: fastPolicy}, &config.DataSource{Name: "p", Plugin: "probe", Config: []byte(`{"crash_file": ` + strconv.Quote(crash) + `}`)})
	if err := os.WriteFile(crash, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pluginPID(t, sup, "p"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h := waitState(t, sup, "p", StateDegraded)
	if _, _, err := sup.Data("p").Get(context.Background(), "pid"); !errors.Is(err, render.ErrUnavailable) {
		t.Errorf("Get while degraded: err = %v, want ErrUnavailable", err)
	}
	for i := 0; sup.Health()[0].Restarts < h.Restarts+5; i++ { // still trying, well past the limit
		if i == 1500 {
			t.Fatalf("no more retries after degrading: %+v", sup.Health()[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(crash)
	h = waitState(t, sup, "p", StateUp)
	if _, _, err := sup.Data("p").Get(context.Background(), "pid"); err != nil {
		t.Errorf("Get after recovery: %v", err)
	}
	if h.LastError == "" || h.Restarts < 4 {
		t.Errorf("health after recovery = %+v, want the last error and the restarts", h)
	}
}

// TestDegradedStart: a real plugin process that fails at start leaves the
// engine running; reads fail with ErrUnavailable until the source comes
// up, then succeed.
func TestDegradedStart(t *testing.T) {
	crash := filepath.Join(t.TempDir(), "crash")
	if err := os.WriteFile(crash, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sup := startOpts(t, Options{policy: fastPolicy}, &config.DataSource{Name: "p", Plugin: "probe", Config: []byte(`{"crash_file": ` + strconv.Quote(crash) + `}`)})
	if _, _, err := sup.Data("p").Get(context.Background(), "pid"); !errors.Is(err, render.ErrUnavailable) {
		t.Fatalf("Get at a degraded start: err = %v, want ErrUnavailable", err)
	}
	if h := sup.Health()[0]; h.State == StateUp || h.LastError == "" {
		t.Fatalf("health at start = %+v, want down with an error", h)
	}
	os.Remove(crash)
	waitState(t, sup, "p", StateUp)
	if v, found, err := sup.Data("p").Get(context.Background(), "pid"); err != nil || !found || len(v) == 0 {
		t.Errorf("Get once up = %s, %v, %v", v, found, err)
	}
}

// copyFile copies the file at src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestSwappedBinary: an external plugin's executable is replaced at run
// time by one that cannot start; the source degrades, and recovers once
// the executable is restored.
func TestSwappedBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "my-plugin")
	copyFile(t, os.Args[0], bin, 0o755)
	sup := startOpts(t, Options{policy: fastPolicy}, &config.DataSource{Name: "p", Command: bin, Args: []string{"plugin", "probe"}})
	copyFile(t, "/bin/false", bin, 0o755)
	if err := syscall.Kill(pluginPID(t, sup, "p"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, sup, "p", StateDegraded)
	copyFile(t, os.Args[0], bin, 0o755)
	waitState(t, sup, "p", StateUp)
	if _, _, err := sup.Data("p").Get(context.Background(), "pid"); err != nil {
		t.Errorf("Get after the binary is restored: %v", err)
	}
}

// TestInvalidDataFileRecovers: a jsonfile plugin that restarts while its
// file is invalid cannot configure (a transient diagnostic); it is retried
// and serves again as soon as a retry sees the fixed file.
func TestInvalidDataFileRecovers(t *testing.T) {
	dir := t.TempDir()
	sup := startOpts(t, Options{policy: fastPolicy}, jsonSource(t, dir, `{"a": 1}`))
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 2,`)
	if err := syscall.Kill(pluginPID(t, sup, "content"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h := waitState(t, sup, "content", StateDegraded)
	if !strings.Contains(h.LastError, "cannot load data file") {
		t.Errorf("last error = %q, want the data file's", h.LastError)
	}
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 3}`)
	waitState(t, sup, "content", StateUp)
	if v, _, err := sup.Data("content").Get(context.Background(), "a"); err != nil || string(v) != "3" {
		t.Errorf(`Get("a") = %s, %v; want 3`, v, err)
	}
}

// TestInvalidDataFileAtStart: an invalid data file at start is transient:
// the engine starts, and the positioned error is in Health.
func TestInvalidDataFileAtStart(t *testing.T) {
	dir := t.TempDir()
	ds := jsonSource(t, dir, "{\"a\": 1,\n}")
	ds.ConfigPos = map[string]config.Pos{"path": {File: ds.Pos.File, Line: 10, Column: 12}}
	sup := startOpts(t, Options{policy: policy{Min: time.Hour, Max: time.Hour, Window: time.Minute, Limit: 5}}, ds)
	want := ds.Pos.File + ":10:12: cannot load data file: " + filepath.Join(dir, "data.json") + ":2:1: invalid character '}' looking for beginning of object key string"
	if h := sup.Health()[0]; h.State != StateStarting || h.LastError != want {
		t.Errorf("health = %+v, want starting with\n%s", h, want)
	}
}

// TestChecksumChecksWhatRuns swaps the executable between the checksum
// check and the exec: the bytes that were checked are the ones that run.
func TestChecksumChecksWhatRuns(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "my-plugin")
	copyFile(t, os.Args[0], bin, 0o755)
	b, _ := os.ReadFile(bin)
	sum := sha256.Sum256(b)
	swapped := false
	opts := Options{afterVerify: func() {
		if !swapped {
			copyFile(t, "/bin/false", bin, 0o755)
			swapped = true
		}
	}}
	sup := startOpts(t, opts, &config.DataSource{Name: "p", Command: bin, Args: []string{"plugin", "probe"}, SHA256: hex.EncodeToString(sum[:])})
	if !swapped {
		t.Fatal("the executable was not swapped")
	}
	if _, _, err := sup.Data("p").Get(context.Background(), "pid"); err != nil {
		t.Fatalf("the checked bytes did not run: %v", err)
	}
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pluginPID(t, sup, "p")) + "/exe")
	if !strings.HasPrefix(exe, sup.run.path+string(filepath.Separator)) {
		t.Errorf("plugin runs %s, want a copy in %s", exe, sup.run.path)
	}
	// The next start checks the swapped file, and refuses it.
	if err := syscall.Kill(pluginPID(t, sup, "p"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range 1500 {
		if h := sup.Health()[0]; strings.Contains(h.LastError, ErrChecksum.Error()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("health = %+v, want a checksum error", sup.Health()[0])
}
