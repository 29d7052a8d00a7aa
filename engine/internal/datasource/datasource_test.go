package datasource

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// start runs a supervisor over real plugin processes and closes it when
// the test ends.
func start(t *testing.T, revs Revisions, sources ...*config.DataSource) *Supervisor {
	t.Helper()
	return startOpts(t, Options{Revisions: revs}, sources...)
}

// startOpts is start with options; the logger, executable and built-ins
// are filled in.
func startOpts(t *testing.T, opts Options, sources ...*config.DataSource) *Supervisor {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	opts.Executable, opts.Builtins = os.Args[0], builtinNames()
	sup, err := Start(context.Background(), sources, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sup.Close() })
	return sup
}

// jsonSource is a jsonfile data source over dir/data.json holding content.
func jsonSource(t *testing.T, dir, content string) *config.DataSource {
	t.Helper()
	path := filepath.Join(dir, "data.json")
	if content != "" {
		writeAtomic(t, path, content)
	}
	return &config.DataSource{
		Name: "content", Plugin: "jsonfile",
		Config: []byte(`{"path":` + strconv.Quote(path) + `}`),
		Pos:    config.Pos{File: filepath.Join(dir, "site.hcl"), Line: 3, Column: 1},
	}
}

// writeAtomic replaces a file the way editors do: temp file, then rename.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".swp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// next receives the next change, failing the test if none comes.
func next(t *testing.T, sup *Supervisor) Change {
	t.Helper()
	select {
	case ch := <-sup.Events():
		return ch
	case <-time.After(30 * time.Second):
		t.Fatal("no change event")
	}
	return Change{}
}

func pluginPID(t *testing.T, sup *Supervisor, name string) int {
	t.Helper()
	c := sup.byName[name].current()
	if c == nil {
		t.Fatalf("%s is down", name)
	}
	pid, err := strconv.Atoi(c.client.ID())
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// freeze stops a process with SIGSTOP and waits until it is stopped.
func freeze(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for range 600 {
		if procState(pid) == "T" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not stop", pid)
}

// procState is the state letter of /proc/<pid>/stat, "" if gone.
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name in parentheses may contain spaces.
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	return ""
}

// waitGone waits until a process has exited (gone or a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 600 {
		if s := procState(pid); s == "" || s == "Z" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("process %d still running", pid)
}

func TestGetList(t *testing.T) {
	sup := start(t, nil, jsonSource(t, t.TempDir(), `{"posts/a": {"title": "A"}, "posts/b": 2, "posts/c": "c", "pages/x": null}`))
	d := sup.Data("content")
	ctx := context.Background()

	v, found, err := d.Get(ctx, "posts/a")
	if err != nil || !found || string(v) != `{"title":"A"}` {
		t.Fatalf(`Get("posts/a") = %s, %v, %v; want {"title":"A"}, true, nil`, v, found, err)
	}
	if _, found, err := d.Get(ctx, "missing"); err != nil || found {
		t.Fatalf(`Get("missing") found=%v err=%v; want false, nil`, found, err)
	}
	values, founds, err := d.GetMany(ctx, []string{"posts/b", "missing", "posts/a"})
	if got, want := fmt.Sprintf("%s %v %v", values, founds, err), `[2  {"title":"A"}] [true false true] <nil>`; got != want {
		t.Fatalf("GetMany = %s, want %s", got, want)
	}

	tests := []struct {
		name    string
		prefix  string
		limit   int
		reverse bool
		want    []string // keys per page, "|" between pages
	}{
		{"all", "", 10, false, []string{"pages/x,posts/a,posts/b,posts/c"}},
		{"prefix paged", "posts/", 2, false, []string{"posts/a,posts/b", "posts/c"}},
		{"prefix reverse paged", "posts/", 2, true, []string{"posts/c,posts/b", "posts/a"}},
		{"one by one", "p", 1, false, []string{"pages/x", "posts/a", "posts/b", "posts/c"}},
		{"no match", "zzz", 5, false, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cursor := ""
			for {
				items, next, err := d.List(ctx, tt.prefix, cursor, tt.limit, tt.reverse)
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, it := range items {
					keys = append(keys, it.Key)
				}
				got = append(got, strings.Join(keys, ","))
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pages = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWatchAndWriter(t *testing.T) {
	dir := t.TempDir()
	ds := jsonSource(t, dir, `{"a": 1, "b": 2}`)
	sup := start(t, nil, ds)

	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 1, "b": 3, "c": [1, 2]}`)
	got := []Change{next(t, sup), next(t, sup)}
	want := []Change{
		{Source: "content", Key: "b", Value: []byte("3")},
		{Source: "content", Key: "c", Value: []byte("[1,2]")},
	}
	checkChanges(t, got, want)

	w := mustWriter(t, sup, "content")
	if _, err := w.Delete(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Put(context.Background(), "d", []byte(`{"x": true}`)); err != nil {
		t.Fatal(err)
	}
	checkChanges(t, []Change{next(t, sup), next(t, sup)}, []Change{
		{Source: "content", Key: "a", Deleted: true},
		{Source: "content", Key: "d", Value: []byte(`{"x":true}`)},
	})
	if _, err := w.Put(context.Background(), "bad", []byte(`{`)); err == nil || errors.Is(err, render.ErrUnavailable) {
		t.Errorf("Put(invalid JSON) err = %v, want a plugin error", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "data.json"))
	if got, want := string(b), `{"b": 3, "c": [1, 2], "d": {"x":true}}`; got != want {
		t.Errorf("data file = %q, want %q", got, want)
	}
}

// checkChanges compares changes ignoring revisions, and checks that the
// revisions increase.
func checkChanges(t *testing.T, got, want []Change) {
	t.Helper()
	for i := range got {
		if i > 0 && got[i].Revision <= got[i-1].Revision {
			t.Errorf("revision %d after %d", got[i].Revision, got[i-1].Revision)
		}
		g := got[i]
		g.Revision = 0
		if g.Source != want[i].Source || g.Key != want[i].Key || string(g.Value) != string(want[i].Value) || g.Deleted != want[i].Deleted {
			t.Errorf("change %d = %+v (value %s), want %+v (value %s)", i, g, g.Value, want[i], want[i].Value)
		}
	}
}

// TestKillDuringWatch kills the plugin with SIGKILL while it is frozen, so
// the file edit below happens while no plugin process can see it. The
// supervisor restarts it and the edit still arrives.
func TestKillDuringWatch(t *testing.T) {
	dir := t.TempDir()
	sup := start(t, &memRevisions{}, jsonSource(t, dir, `{"a": 1}`))
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 2}`)
	first := next(t, sup)
	if err := sup.Commit("content", first.Revision); err != nil {
		t.Fatal(err)
	}

	pid := pluginPID(t, sup, "content")
	freeze(t, pid)
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 3, "b": 1}`)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)

	got := []Change{next(t, sup), next(t, sup)}
	checkChanges(t, got, []Change{{Source: "content", Key: "a", Value: []byte("3")}, {Source: "content", Key: "b", Value: []byte("1")}})
	if got[0].Revision <= first.Revision {
		t.Errorf("revision after restart %d <= %d", got[0].Revision, first.Revision)
	}
	if newPID := pluginPID(t, sup, "content"); newPID == pid {
		t.Errorf("plugin pid unchanged")
	}
	v, _, err := sup.Data("content").Get(context.Background(), "a")
	if err != nil || string(v) != "3" {
		t.Errorf(`Get("a") after restart = %s, %v; want 3`, v, err)
	}
}

// TestEngineRestart: a new supervisor over the same revision store
// resumes after the committed revision: uncommitted events come again,
// edits made while nothing ran are delivered.
func TestEngineRestart(t *testing.T) {
	dir, revs := t.TempDir(), &memRevisions{}
	ds := jsonSource(t, dir, `{"a": 1}`)
	sup := start(t, revs, ds)
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 2}`)
	a2 := next(t, sup)
	if err := sup.Commit("content", a2.Revision); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(dir, "data.json"), `{"a": 2, "b": 1}`)
	b1 := next(t, sup) // delivered, never committed
	sup.Close()

	writeAtomic(t, filepath.Join(dir, "data.json"), `{"b": 1, "c": 1}`)
	sup2 := start(t, revs, ds)
	got := []Change{next(t, sup2), next(t, sup2), next(t, sup2)}
	checkChanges(t, got, []Change{
		{Source: "content", Key: "b", Value: []byte("1")},
		{Source: "content", Key: "c", Value: []byte("1")}, // upserts first, then deletes
		{Source: "content", Key: "a", Deleted: true},
	})
	if got[0].Revision != b1.Revision {
		t.Errorf("redelivered b at revision %d, first delivered at %d", got[0].Revision, b1.Revision)
	}
	if got, want := string(revs.m[revisionKey("content")]), strconv.FormatUint(a2.Revision, 10); got != want {
		t.Errorf("stored revision = %s, want %s", got, want)
	}
}

func TestConfigDiagnostics(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.hcl")
	tests := []struct {
		name string
		ds   *config.DataSource
		want string
	}{
		{
			"attribute position",
			&config.DataSource{Name: "p", Plugin: "probe", Config: []byte(`{"fail": "table"}`),
				Pos:       config.Pos{File: site, Line: 2, Column: 1},
				ConfigPos: map[string]config.Pos{"table": {File: site, Line: 5, Column: 13}}},
			site + ":5:13: invalid value: probe rejects it",
		},
		{
			"attribute without position",
			&config.DataSource{Name: "p", Plugin: "probe", Config: []byte(`{"fail": "other"}`),
				Pos: config.Pos{File: site, Line: 2, Column: 1}},
			site + ":2:1: invalid value (other): probe rejects it",
		},
		{
			"jsonfile missing path",
			&config.DataSource{Name: "c", Plugin: "jsonfile", Config: []byte(`{}`),
				Pos: config.Pos{File: site, Line: 9, Column: 1}},
			site + `:9:1: missing required attribute (path): "path" names the JSON file to serve`,
		},
		{
			"unknown built-in",
			&config.DataSource{Name: "x", Plugin: "nope", Pos: config.Pos{File: site, Line: 1, Column: 1}},
			site + `:1:1: data source "x": datasource: unknown built-in plugin "nope" (have: jsonfile, kv, probe)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sup, err := Start(context.Background(), []*config.DataSource{tt.ds}, Options{Logger: testLogger(t), Executable: os.Args[0], Builtins: builtinNames()})
			if err == nil {
				sup.Close()
				t.Fatal("Start succeeded")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	exe, _ := os.Executable()
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	good := hex.EncodeToString(sum[:])
	ds := &config.DataSource{Name: "p", Plugin: "probe", SHA256: good}
	sup := start(t, nil, ds)
	if _, _, err := sup.Data("p").Get(context.Background(), "pid"); err != nil {
		t.Fatalf("Get with the right checksum: %v", err)
	}
	sup.Close()

	// A wrong checksum is not the config's fault alone (the binary may be
	// mid-deploy): the engine starts without the source and retries.
	sup = start(t, nil, &config.DataSource{Name: "p", Plugin: "probe", SHA256: strings.Repeat("0", 64)})
	_, _, err = sup.Data("p").Get(context.Background(), "pid")
	if !errors.Is(err, ErrChecksum) || !errors.Is(err, render.ErrUnavailable) {
		t.Fatalf("Get with a wrong checksum: err = %v, want ErrChecksum and ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "has sha256 "+good) {
		t.Errorf("error %q does not name the actual checksum", err)
	}
}

func TestEnvFiltering(t *testing.T) {
	t.Setenv("KILN_TEST_PASSED", "yes")
	t.Setenv("KILN_TEST_SECRET", "no")
	// An external plugin: any executable, here the test binary by path.
	sup := start(t, nil, &config.DataSource{Name: "p", Command: os.Args[0], Args: []string{"plugin", "probe"}, Env: []string{"KILN_TEST_PASSED", "KILN_TEST_UNSET"}})
	tests := []struct {
		name      string
		wantFound bool
		want      string
	}{
		{"KILN_TEST_PASSED", true, "yes"},
		{"KILN_TEST_SECRET", false, ""},
		{"KILN_TEST_UNSET", false, ""},
		{"HOME", false, ""},
		{"PATH", false, ""},
		{"KILN_PLUGIN", true, "datasource-7c1f4e0a"}, // go-plugin's own
	}
	for _, tt := range tests {
		v, found, err := sup.Data("p").Get(context.Background(), "env/"+tt.name)
		if err != nil || found != tt.wantFound || string(v) != tt.want {
			t.Errorf("$%s in plugin = %q, %v, %v; want %q, %v", tt.name, v, found, err, tt.want, tt.wantFound)
		}
	}
}

func TestDataErrors(t *testing.T) {
	sup := start(t, nil, &config.DataSource{Name: "p", Plugin: "probe"})
	ctx := context.Background()
	if _, _, err := sup.Data("nope").Get(ctx, "x"); !errors.Is(err, ErrUnknown) || !errors.Is(err, render.ErrUnavailable) {
		t.Errorf("unknown source: err = %v", err)
	}
	if _, _, err := sup.Data("p").Get(ctx, "unanswerable"); !errors.Is(err, render.ErrUnavailable) || !strings.Contains(err.Error(), "probe: no such question") {
		t.Errorf("plugin error: err = %v", err)
	}
	if _, err := sup.Writer("p"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Writer(probe): err = %v, want ErrReadOnly", err)
	}
	if _, err := sup.Writer("nope"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Writer(nope): err = %v, want ErrUnknown", err)
	}
	if _, _, err := sup.Data("nope").GetMany(ctx, []string{"x"}); !errors.Is(err, ErrUnknown) {
		t.Errorf("GetMany on an unknown source: err = %v, want ErrUnknown", err)
	}
	if err := sup.Commit("nope", 1); !errors.Is(err, ErrUnknown) {
		t.Errorf("Commit on an unknown source: err = %v, want ErrUnknown", err)
	}
	pid := pluginPID(t, sup, "p")
	sup.Close()
	waitGone(t, pid)
	if _, _, err := sup.Data("p").Get(ctx, "pid"); !errors.Is(err, render.ErrUnavailable) || !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v", err)
	}
	if _, _, err := sup.Data("p").GetMany(ctx, []string{"pid"}); !errors.Is(err, render.ErrUnavailable) || !errors.Is(err, ErrClosed) {
		t.Errorf("GetMany after Close: err = %v", err)
	}
}

// TestKilledEngine kills an engine with SIGKILL: its plugin notices it
// was orphaned and exits, and the socket folder the engine left behind is
// removed by the next engine that starts.
func TestKilledEngine(t *testing.T) {
	base := t.TempDir()
	host := exec.Command(os.Args[0])
	host.Env = append(os.Environ(), "KILN_TEST_HOST="+base)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "plugin pid ") {
		host.Process.Kill()
		t.Fatalf("host said %q, %v", line, err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "plugin pid ")))
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	host.Wait()
	waitGone(t, pid)

	left, _ := filepath.Glob(filepath.Join(base, runDirPattern+"*", "sockets", "plugin*"))
	if len(left) != 1 {
		t.Fatalf("sockets left by the killed engine: %q, want one", left)
	}
	sup := startOpts(t, Options{TempDir: base}, &config.DataSource{Name: "p", Plugin: "probe"})
	if _, err := os.Stat(filepath.Dir(filepath.Dir(left[0]))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead engine's folder is still there: %v", err)
	}
	mine, _ := filepath.Glob(filepath.Join(base, runDirPattern+"*"))
	if len(mine) != 1 || mine[0] != sup.run.path {
		t.Errorf("run folders = %q, want only this engine's %s", mine, sup.run.path)
	}
	sup.Close()
	if all, _ := filepath.Glob(filepath.Join(base, "*")); len(all) != 0 {
		t.Errorf("left after Close: %q", all)
	}
}

// TestBuiltinKV runs the kv built-in through the supervisor: another
// plugin written against the same SDK, with its own durable revisions.
func TestBuiltinKV(t *testing.T) {
	dir, revs := t.TempDir(), &memRevisions{}
	ds := &config.DataSource{Name: "kv", Plugin: "kv", Config: []byte(`{"dir":` + strconv.Quote(dir) + `}`)}
	sup := start(t, revs, ds)
	w := mustWriter(t, sup, "kv")
	rev, err := w.Put(context.Background(), "site/title", []byte(`"Kiln"`))
	if err != nil {
		t.Fatal(err)
	}
	if ch := next(t, sup); ch.Key != "site/title" || ch.Revision != rev || string(ch.Value) != `"Kiln"` {
		t.Errorf("change = %+v, want site/title at %d", ch, rev)
	}
	v, found, err := sup.Data("kv").Get(context.Background(), "site/title")
	if err != nil || !found || string(v) != `"Kiln"` {
		t.Errorf("Get = %s, %v, %v", v, found, err)
	}
	if err := sup.Commit("kv", rev); err != nil {
		t.Fatal(err)
	}
	sup.Close()

	sup2 := start(t, revs, ds) // resumes after rev: nothing is redelivered
	rev2, err := mustWriter(t, sup2, "kv").Delete(context.Background(), "site/title")
	if err != nil {
		t.Fatal(err)
	}
	if ch := next(t, sup2); ch.Key != "site/title" || !ch.Deleted || ch.Revision != rev2 {
		t.Errorf("change after restart = %+v, want the delete at %d", ch, rev2)
	}
}

func mustWriter(t *testing.T, sup *Supervisor, name string) plugin.Writer {
	t.Helper()
	w, err := sup.Writer(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestFrozenPlugin: a plugin that stops answering (SIGSTOP) fails calls;
// the failed call triggers a health check that times out, and the
// supervisor replaces the process.
func TestFrozenPlugin(t *testing.T) {
	sup := start(t, nil, &config.DataSource{Name: "p", Plugin: "probe"})
	pid := pluginPID(t, sup, "p")
	freeze(t, pid)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, _, err := sup.Data("p").Get(ctx, "pid")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get from a frozen plugin: err = %v, want DeadlineExceeded", err)
	}
	waitGone(t, pid)
	for range 600 {
		if v, _, err := sup.Data("p").Get(context.Background(), "pid"); err == nil {
			if string(v) == strconv.Itoa(pid) {
				t.Fatal("answered by the frozen process")
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("plugin not restarted")
}

// TestCloseFrozen: Close does not hang on a plugin that cannot answer the
// shutdown request.
func TestCloseFrozen(t *testing.T) {
	sup := start(t, nil, &config.DataSource{Name: "p", Plugin: "probe"})
	pid := pluginPID(t, sup, "p")
	freeze(t, pid)
	sup.Close()
	waitGone(t, pid)
}

// TestStartTimeout: an executable that never does the handshake times
// out, is not left running, and leaves the source down (the engine starts).
func TestStartTimeout(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs sleep(1)")
	}
	site := filepath.Join(t.TempDir(), "site.hcl")
	ds := &config.DataSource{Name: "slow", Command: sleep, Args: []string{"60"}, StartTimeout: 300 * time.Millisecond, Pos: config.Pos{File: site, Line: 4, Column: 1}}
	sup := startOpts(t, Options{policy: policy{Min: time.Hour, Max: time.Hour, Window: time.Minute, Limit: 5}}, ds) // no retry during the test
	h := sup.Health()[0]
	if h.State != StateStarting || !strings.HasPrefix(h.LastError, site+`:4:1: data source "slow": start plugin: `) || !strings.Contains(h.LastError, "timeout") {
		t.Fatalf("health = %+v, want starting after a positioned start timeout", h)
	}
	if pids := running(sleep + "\x0060\x00"); len(pids) != 0 {
		t.Errorf("sleep still running: pids %v", pids)
	}
}

// running lists live processes whose /proc/<pid>/cmdline is cmdline.
func running(cmdline string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && string(b) == cmdline && procState(pid) != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}
