package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReadmeCluster runs the README's "Running several nodes" walk-through
// as a reader would: its start commands, one process each (nats-server
// built from the module, kiln from this tree, on free ports in place of
// 4222 and 3001 to 3003), the nodes started one after the other, then each
// console step, checking each output is what the README shows.
func TestReadmeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and three kiln nodes on the blog")
	}
	for _, tool := range []string{"curl", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("needs %s", tool)
			}
			t.Skipf("needs %s (apt-get install %s)", tool, tool)
		}
	}
	repo, _ := filepath.Abs("..")
	readme := filepath.Join(repo, "README.md")
	const section = "## Running several nodes"
	start := strings.Split(readmeBlock(t, readme, section, "sh", "nats-server -js"), "\n")
	steps := readmeSteps(t, readme, section)
	if len(start) != 4 || len(steps) < 4 {
		t.Fatalf("found %d start lines and %d steps in %s; the parser or the README changed", len(start), len(steps), section)
	}
	bin, natsBin := kilnBinary(t), natsBinary(t)
	dir := blogCopy(t, repo)
	natsAddr := freeAddr(t)
	_, natsPort, _ := strings.Cut(natsAddr, ":")
	ports := map[string]string{"3001": freeAddr(t), "3002": freeAddr(t), "3003": freeAddr(t)}
	fix := strings.NewReplacer(
		"nats-server ", "exec "+natsBin+" -a 127.0.0.1 ", "-p 4222", "-p "+natsPort, "127.0.0.1:4222", natsAddr,
		"kiln serve", "exec "+bin+" serve", ":3001", ports["3001"], ":3002", ports["3002"], ":3003", ports["3003"],
		"localhost:3001", ports["3001"], "localhost:3002", ports["3002"], "localhost:3003", ports["3003"],
	)

	nc := exec.Command("sh", "-c", fix.Replace(start[0]))
	nc.Dir = dir
	if out, err := os.Create(filepath.Join(dir, "nats.log")); err == nil {
		nc.Stdout, nc.Stderr = out, out
	}
	if err := nc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Process.Kill(); nc.Wait() })
	waitFor(t, 30*time.Second, "nats-server answers with JetStream", func() bool { return jetStreamUp("nats://" + natsAddr) })

	for _, line := range start[1:] {
		addr := ""
		for port, a := range ports {
			if strings.Contains(line, ":"+port) {
				addr = a
			}
		}
		runKiln(t, exec.Command("sh", "-c", fix.Replace(line)), dir, addr)
		waitFor(t, time.Minute, line+" ready", func() bool {
			resp, err := http.Get("http://" + addr + "/_kiln/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}
	// Renderers compile after a node serves; the walk-through's renders
	// wait for them, and with three compiling at once on a small machine
	// a first render could outwait the render lease.
	waitFor(t, 3*time.Minute, "the nodes' renderers loaded", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "kiln.log"))
		return strings.Count(string(b), " renderer(s) in ") >= 3
	})
	for _, s := range steps {
		runStep(t, step{cmd: fix.Replace(s.cmd), want: s.want}, dir, filepath.Dir(bin), "")
	}
}

// natsBinary builds nats-server from the module into a test folder.
func natsBinary(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s, never: %s", timeout, what)
		}
	}
}

// jetStreamUp reports whether the NATS server at url answers with
// JetStream on.
func jetStreamUp(url string) bool {
	nc, err := nats.Connect(url, nats.Timeout(time.Second))
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}
