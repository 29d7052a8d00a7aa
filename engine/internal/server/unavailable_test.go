package server_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pluginPIDs lists this process's children running `kiln plugin NAME`.
func pluginPIDs(t *testing.T, name string) []int {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[1] != self {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if strings.Contains(string(cmd), "plugin\x00"+name) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestPluginDown kills the data-source plugin until the supervisor gives
// up on it: stored pages are still served, and a blocking first render
// that needs the data answers 503 with Retry-After.
func TestPluginDown(t *testing.T) {
	if testing.Short() {
		t.Skip("crash-loops a plugin")
	}
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
  revalidate = "1s"
}`, map[string]any{"page:/p/a": page("A", "build", true), "page:/p/b": page("B")})
	stored := e.get("/p/a")
	for kills := 0; kills < 8; kills++ {
		var pids []int
		deadline := time.Now().Add(10 * time.Second)
		for pids = pluginPIDs(t, "jsonfile"); len(pids) == 0; pids = pluginPIDs(t, "jsonfile") {
			if time.Now().After(deadline) {
				break // given up: no new process
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.eventually("a 503 for a render that needs the data", func() bool {
		r := e.get("/p/b")
		return r.status == 503 && r.header.Get("Retry-After") != ""
	})
	time.Sleep(1100 * time.Millisecond) // /p/a goes stale; its regeneration fails
	r := e.get("/p/a")
	if r.status != 200 || r.body != stored.body {
		t.Errorf("stored page while the plugin is down: %d, same body %v; want 200 and the stored page", r.status, r.body == stored.body)
	}
}
