package clustere2e

import (
	"context"
	"fmt"
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
	"github.com/kilnhq/kiln/engine/internal/render"
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []string{binPath, natsPath} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

// repoRoot is the module root, three folders up.
func repoRoot() string {
	dir, _ := filepath.Abs("../../..")
	return dir
}

// kilnBinary builds the kiln binary once per run (without -race, as the
// engine's process tests do: wazero under the race detector is slow).
func kilnBinary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kiln")
		cmd := exec.Command("go", "build", "-o", binPath, "./engine")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
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

// pageWasm builds the server tests' renderer once per run.
func pageWasm(t *testing.T, repo string) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = t.TempDir()
	}
	out := filepath.Join(cache, "kiln-test", "server-page.wasm")
	os.MkdirAll(filepath.Dir(out), 0o755)
	if _, err := render.BuildGo(context.Background(), filepath.Join(repo, "engine/internal/server/testdata/page"), out); err != nil {
		t.Fatalf("build page renderer: %v", err)
	}
	return out
}

// freeAddr is a free TCP address on 127.0.0.1 for a process to listen on.
func freeAddr(t *testing.T) string { return freeport.Addr(t) }

// kilnProcess is one `kiln serve`, its output in its folder's kiln.log.
type kilnProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	log  *os.File
}

// startKiln runs `kiln serve --listen ADDR` in dir with the admin secret
// s3cret and waits until it answers.
func startKiln(t *testing.T, bin, dir string) *kilnProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Env = append(os.Environ(), "KILN_ADMIN_SECRET=s3cret")
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
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(p.base + "/_kiln/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("kiln did not start: %v\n%s", err, b)
		}
	}
}

func (p *kilnProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
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
