package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/server"
)

// rawRequest sends head (a request line and headers, without the blank
// line) on a new connection, then a few bytes of body, and returns the
// connection.
func rawRequest(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "%s\r\n\r\n{}", head); err != nil {
		t.Fatal(err)
	}
	return c
}

// readStatus reads the status of the answer on c.
func readStatus(t *testing.T, c net.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound on failure, not a wait
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAnnouncedBodiesReserveNothing: connections announcing 64 MiB bodies
// get 413 at once, on pages and on the admin API without the secret,
// and the engine allocates nothing near what they announce (fasthttp
// used to reserve the announced size as the headers arrived).
func TestAnnouncedBodiesReserveNothing(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	addr := strings.TrimPrefix(e.base, "http://")
	heads := []string{
		"GET /p/a HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864",
		"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864",
		"POST /p/a HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864",
		"POST /_kiln/revalidate HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864",
		"POST /_kiln/revalidate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 67108864",
		"POST /_kiln/revalidate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + adminSecret + "\r\nContent-Length: 67108864",
		"POST /_kiln/revalidate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + adminSecret + "\r\nExpect: 100-continue\r\nContent-Length: 67108864",
		"GET /p/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000000",
	}
	const conns = 4 // of each kind
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var open []net.Conn
	for range conns {
		for _, h := range heads {
			open = append(open, rawRequest(t, addr, h))
		}
	}
	for i, c := range open {
		if got, want := readStatus(t, c), http.StatusRequestEntityTooLarge; got != want {
			t.Errorf("%q: status %d, want %d", heads[i%len(heads)], got, want)
		}
	}
	runtime.ReadMemStats(&after)
	announced := uint64(len(open)) * 64 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > announced/64 {
		t.Errorf("allocated %d MiB while %d MiB of bodies were announced", got>>20, announced>>20)
	}
	if r := e.get("/p/a"); r.status != 200 {
		t.Errorf("after the flood: %d %s", r.status, r.body)
	}
}

// TestBodyCaps: a page request may carry a stray small body (ignored),
// an authorized admin request up to its cap, and past either gets 413.
func TestBodyCaps(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	auth := []string{"Authorization", "Bearer " + adminSecret}
	pad := func(n int) string { return `{"paths": ["/p/a"]}` + strings.Repeat(" ", n) }
	for _, c := range []struct {
		name, method, path, body string
		headers                  []string
		want                     int
	}{
		{"page small body", "GET", "/p/a", "hello", nil, 200},
		{"page 2 KiB body", "GET", "/p/a", strings.Repeat("x", 2<<10), nil, 413},
		{"admin 512 KiB", "POST", "/_kiln/revalidate", pad(512 << 10), auth, 200},
		{"admin 2 MiB", "POST", "/_kiln/revalidate", pad(2 << 20), auth, 413},
		{"admin unauthorized 2 KiB", "POST", "/_kiln/revalidate", pad(2 << 10), nil, 413},
		{"admin unauthorized small", "POST", "/_kiln/revalidate", pad(0), nil, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := e.do(c.method, c.path, c.body, c.headers...); r.status != c.want {
				t.Errorf("status %d, want %d: %s", r.status, c.want, r.body)
			}
		})
	}
}

func TestDefaultMaxConns(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		want   int
	}{
		{64, 16}, {256, 128}, {1024, 768}, {2048, 1536}, {1 << 20, 256 * 1024},
	} {
		if got := server.DefaultMaxConns(c.nofile); got != c.want {
			t.Errorf("DefaultMaxConns(%d) = %d, want %d", c.nofile, got, c.want)
		}
	}
}

// TestSecretNeverLogged sends requests fasthttp cannot parse, each with
// the admin secret in Authorization: no log line, at any level, may hold
// it (fasthttp logs the raw request bytes unless told not to).
func TestSecretNeverLogged(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := server.New(server.Options{Logger: log, AdminSecret: "topsecret-bearer"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	for _, head := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer topsecret-bearer\r\nno colon here",
		"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer topsecret-bearer\r\nContent-Length: zz",
		"GET / HTTP/1.1\r\nAuthorization: Bearer topsecret-bearer\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz",
		"POST /_kiln/revalidate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer topsecret-bearer\r\nContent-Length: 99999999",
	} {
		c := rawRequest(t, ln.Addr().String(), head)
		if got := readStatus(t, c); got < 400 {
			t.Errorf("%q: status %d, want an error", head, got)
		}
	}
	srv.Shutdown()
	if strings.Contains(buf.String(), "topsecret") {
		t.Errorf("the secret is in the log:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "http: ") {
		t.Errorf("no fasthttp error was logged at all:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFailedAuthRateLimit: past ten wrong secrets a minute, an address
// gets 429 with Retry-After, even with the right secret.
func TestFailedAuthRateLimit(t *testing.T) {
	srv := server.New(server.Options{AdminSecret: "right", Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	status := func(secret string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/_kiln/nothing", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if got, _ := status("right"); got != 404 {
		t.Fatalf("right secret: %d, want 404 (no such endpoint)", got)
	}
	for i := range 10 {
		if got, _ := status("wrong"); got != 401 {
			t.Fatalf("wrong secret %d: %d, want 401", i+1, got)
		}
	}
	for _, secret := range []string{"wrong", "right"} {
		if got, retry := status(secret); got != 429 || retry == "" {
			t.Errorf("%s secret past the limit: %d, Retry-After %q; want 429 with Retry-After", secret, got, retry)
		}
	}
}

// TestStoreIsPrivate: the store folder is the owner's only.
func TestStoreIsPrivate(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	fi, err := os.Stat(filepath.Join(e.dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("store mode %o, want 700", got)
	}
}

// TestHeaderFieldCap: past maxHeaders (100) fields a request gets 431 and
// its connection is closed, whether its header fits the read buffer or
// not; and requests of thousands of tiny fields leave no memory behind
// (fasthttp keeps a parsed field's slot in the pooled request for every
// later request of the connection that gets it).
func TestHeaderFieldCap(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	addr := strings.TrimPrefix(e.base, "http://")
	fields := func(n int, f string) string {
		return "GET /p/a HTTP/1.1\r\nHost: x\r\n" + strings.Repeat(f, n)
	}
	for _, c := range []struct {
		name string
		head string
		want int
	}{
		{"50 fields", fields(49, "X-F: y\r\n") + "User-Agent: t", 200},
		{"100 fields", fields(98, "X-F: y\r\n") + "User-Agent: t", 200},
		{"150 fields", fields(149, "X-F: y\r\n") + "User-Agent: t", 431},
		{"2,500 tiny fields in the read buffer", fields(2500, "X: y\r\n") + "User-Agent: t", 431},
		{"2,000 fields past the read buffer", fields(2000, "X-Many: m\r\n") + "User-Agent: t", 431},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := rawRequest(t, addr, c.head)
			conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound on failure, not a wait
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if got := resp.StatusCode; got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
			if c.want == 431 && !resp.Close {
				t.Error("431 without Connection: close")
			}
		})
	}

	// Many connections, each one request of 2,500 tiny fields, kept open.
	const conns = 200
	head := fields(2500, "X: y\r\n") + "User-Agent: t"
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range conns {
		c := rawRequest(t, addr, head)
		readStatus(t, c)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > conns*64<<10 {
		t.Errorf("the heap kept %d KiB per connection after a request of 2,500 fields", grew/conns>>10)
	}
	if r := e.get("/p/a"); r.status != 200 {
		t.Errorf("after the flood: %d %s", r.status, r.body)
	}
}

// TestHTTPVersions: a request line naming a protocol other than HTTP/1.0
// or HTTP/1.1 is answered 505 and the connection closed, as nginx does;
// fasthttp parses any HTTP/d.d and used to answer it 200.
func TestHTTPVersions(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	addr := strings.TrimPrefix(e.base, "http://")
	for _, c := range []struct {
		proto string
		want  int
	}{
		{"HTTP/1.1", 200},
		{"HTTP/1.0", 200},
		{"HTTP/7.0", 505},
		{"HTTP/2.0", 505},
		{"HTTP/0.9", 505},
		{"HTTP/1.2", 505},
		{"HTTP/1.9", 505},
	} {
		for _, target := range []string{"/p/a", "/_kiln/healthz"} {
			t.Run(c.proto+" "+target, func(t *testing.T) {
				conn := rawRequest(t, addr, "GET "+target+" "+c.proto+"\r\nHost: x")
				conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a bound on failure, not a wait
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				resp.Body.Close()
				if got := resp.StatusCode; got != c.want {
					t.Fatalf("status %d, want %d", got, c.want)
				}
				if c.want == 505 && !resp.Close {
					t.Error("505 without Connection: close")
				}
			})
		}
	}
}
