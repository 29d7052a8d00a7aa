package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/freeport"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// kilnProcess runs this test binary as the real kiln command (testscript
// dispatches on the name it is started under).
type kilnProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	log  *os.File
}

// kilnBinary builds the real kiln binary once per test run. It is built
// without -race even under `go test -race`: the race detector makes wazero
// compile renderers ten times slower, and these tests are about processes.
func kilnBinary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kiln")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func startKiln(t *testing.T, bin, dir string, args ...string) *kilnProcess {
	t.Helper()
	return startKilnCmd(t, bin, dir, "serve", args...)
}

// startKilnCmd runs `kiln CMD --listen ADDR ARGS...` in dir, with the
// admin secret s3cret, its output in dir/kiln.log, and waits until it
// answers.
func startKilnCmd(t *testing.T, bin, dir, command string, args ...string) *kilnProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{command, "--listen", addr}, args...)...)
	cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET=s3cret")
	return runKiln(t, cmd, dir, addr)
}

// freeAddr is a free TCP address on 127.0.0.1 for a process to listen on.
func freeAddr(t *testing.T) string { return freeport.Addr(t) }

// runKiln starts cmd, a kiln serving on addr, in dir with its output in
// dir/kiln.log, and waits until it answers.
func runKiln(t *testing.T, cmd *exec.Cmd, dir, addr string) *kilnProcess {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(dir, "kiln.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &kilnProcess{t: t, cmd: cmd, base: "http://" + addr, log: logf}
	t.Cleanup(func() { p.kill(); logf.Close() })
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(p.base + "/_kiln/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("kiln did not start: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process as Ctrl-C does and waits for a clean exit.
func (p *kilnProcess) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	if err := p.cmd.Wait(); err != nil {
		b, _ := os.ReadFile(p.log.Name())
		p.t.Fatalf("kiln did not stop cleanly: %v\n%s", err, b)
	}
}

func (p *kilnProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func (p *kilnProcess) get(path string) (int, http.Header, string) {
	resp, err := http.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const crashSite = `
site {
  store = "store"
}
data_source "data" {
  plugin = "jsonfile"
  config { path = "data.json" }
}
renderer "page" {
  wasm = %q
  pool = 2
}
route "/p/:slug" {
  renderer = "page"
}
`

func writeCrashData(t *testing.T, dir, title string, n int) {
	data := map[string]any{}
	for i := range n {
		data[fmt.Sprintf("page:/p/%d", i)] = map[string]any{"title": fmt.Sprintf("%s %d", title, i), "build": true, "sleep_ms": 10}
	}
	b, _ := json.Marshal(data)
	tmp := filepath.Join(dir, "data.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "data.json")); err != nil {
		t.Fatal(err)
	}
}

// TestKill9DuringRegenerationBurst edits every page's data, kills the
// engine with SIGKILL while the regenerations run, and restarts it: every
// page must be whole (its ETag matches its body) and, once the resumed
// queue drains, new.
func TestKill9DuringRegenerationBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real engine several times")
	}
	const n = 120
	dir := t.TempDir()
	repo, _ := filepath.Abs("..")
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(fmt.Sprintf(crashSite, pageWasm(t, repo))), 0o644)
	writeCrashData(t, dir, "old", n)
	bin := kilnBinary(t)

	k := startKiln(t, bin, dir)
	if st, _, body := k.get("/p/0"); st != 200 || !strings.Contains(body, "<h1>old 0</h1>") {
		t.Fatalf("prerendered page: %d %q", st, body)
	}
	for round := 0; round < 3; round++ {
		writeCrashData(t, dir, fmt.Sprintf("new%d", round), n)
		time.Sleep(time.Duration(150+100*round) * time.Millisecond)
		k.kill()
		k = startKiln(t, bin, dir)
		checkWhole(t, k, n)
	}
	want := "new2"
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < n; i++ {
		for {
			_, _, body := k.get(fmt.Sprintf("/p/%d", i))
			if strings.Contains(body, fmt.Sprintf("<h1>%s %d</h1>", want, i)) {
				break
			}
			if time.Now().After(deadline) {
				k.kill()
				st := mustOpen(t, filepath.Join(dir, "store"))
				if info, err := isr.Describe(st, st, fmt.Sprintf("/p/%d", i), time.Now()); err == nil {
					t.Logf("on disk: generated %s, history %+v", info.Generated, info.History)
				}
				if keep := os.Getenv("KILN_TEST_LOG"); keep != "" {
					b, _ := os.ReadFile(filepath.Join(dir, "kiln.log"))
					os.WriteFile(keep, b, 0o644)
				}
				t.Fatalf("/p/%d never got the last edit: %.200q\n%s", i, body, notable(filepath.Join(dir, "kiln.log")))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	checkWhole(t, k, n)
}

// checkWhole asserts every page is served whole: its strong ETag is the
// hash of the body the store holds.
func checkWhole(t *testing.T, k *kilnProcess, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		st, h, body := k.get(fmt.Sprintf("/p/%d", i))
		sum := sha256.Sum256([]byte(body))
		if want := `"` + hex.EncodeToString(sum[:12]) + `"`; st != 200 || h.Get("ETag") != want {
			t.Fatalf("/p/%d: status %d, ETag %s, want 200 and %s (torn page?)", i, st, h.Get("ETag"), want)
		}
	}
}

// notable is the log without its per-page lines.
func notable(file string) string {
	b, _ := os.ReadFile(file)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "msg=regenerated") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func mustOpen(t *testing.T, dir string) store.Store {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
