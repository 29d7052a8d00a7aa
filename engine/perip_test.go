package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMaxConnectionsPerIP: with max_connections_per_ip set, one address
// past the cap gets 429 on its next connection, while another address is
// still served, and the first is served again once its connections close.
func TestMaxConnectionsPerIP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real engine")
	}
	bin := kilnBinary(t)
	repo, _ := filepath.Abs("..")
	dir := t.TempDir()
	site := fmt.Sprintf(crashSite, pageWasm(t, repo))
	site = fmt.Sprintf("site {\n  store = \"store\"\n  max_connections_per_ip = 4\n}\n%s", site[len("\nsite {\n  store = \"store\"\n}\n"):])
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(site), 0o644)
	writeCrashData(t, dir, "page", 1)
	k := startKiln(t, bin, dir)
	http.DefaultClient.CloseIdleConnections()
	addr := k.base[len("http://"):]

	get := func(from string) int {
		t.Helper()
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second)) // a bound on failure, not a wait
		fmt.Fprintf(c, "GET /p/0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("GET from %s: %v", from, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	var idle []net.Conn
	for range 4 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// The server counts a connection once it accepts it; wait for that
	// rather than for a time.
	deadline := time.Now().Add(20 * time.Second)
	for get("127.0.0.2") != http.StatusTooManyRequests {
		if time.Now().After(deadline) {
			t.Fatal("a fifth connection from 127.0.0.2 was never refused with 429")
		}
	}
	if got := get("127.0.0.3"); got != 200 {
		t.Errorf("another address: %d, want 200", got)
	}
	for _, c := range idle {
		c.Close()
	}
	deadline = time.Now().Add(20 * time.Second)
	for get("127.0.0.2") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("127.0.0.2 never served again after closing its connections")
		}
		time.Sleep(50 * time.Millisecond)
	}
	k.stop()
}
