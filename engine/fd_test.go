package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestIdleSocketsOverTheFdLimit opens more idle connections than the
// engine has file descriptors, under `prlimit --nofile=256`: the engine
// must stay up (it used to exit when accept returned EMFILE) and serve
// once they are gone. With the derived cap the extra connections are
// refused; with a cap above the fd limit, accept runs out of descriptors
// and must back off and retry.
func TestIdleSocketsOverTheFdLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real engine")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("needs prlimit(1)")
	}
	bin := kilnBinary(t)
	repo, _ := filepath.Abs("..")
	for _, c := range []struct{ name, extra string }{
		{"derived cap", ""},
		{"cap above the fd limit", "max_connections = 5000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			site := fmt.Sprintf(crashSite, pageWasm(t, repo))
			site = fmt.Sprintf("site {\n  store = \"store\"\n  %s\n}\n%s", c.extra, site[len("\nsite {\n  store = \"store\"\n}\n"):])
			os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(site), 0o644)
			writeCrashData(t, dir, "page", 3)
			addr := freeAddr(t)
			cmd := exec.Command(prlimit, "--nofile=256:256", bin, "serve", "--listen", addr)
			k := runKiln(t, cmd, dir, addr)
			http.DefaultClient.CloseIdleConnections()

			var idle []net.Conn
			for range 600 {
				conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					continue // the listen backlog is full
				}
				idle = append(idle, conn)
			}
			// A request on each: whatever the engine answers, it must not exit.
			for _, conn := range idle {
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(conn, "GET /p/0 HTTP/1.1\r\nHost: x\r\n\r\n")
			}
			if len(idle) <= 256 {
				t.Fatalf("only %d connections opened", len(idle))
			}
			for _, conn := range idle {
				conn.Close()
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				resp, err := http.Get(k.base + "/p/0")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				if time.Now().After(deadline) {
					b, _ := os.ReadFile(filepath.Join(dir, "kiln.log"))
					t.Fatalf("kiln never served again: %v\n%s", err, b)
				}
				time.Sleep(50 * time.Millisecond)
			}
			k.stop()
		})
	}
}
