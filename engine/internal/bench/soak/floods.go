package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts a flood's outcomes: an HTTP status, or what happened to
// the connection instead ("closed", "timeout", "refused", ...).
type tally struct {
	mu sync.Mutex
	n  map[string]int64
}

func newTally() *tally { return &tally{n: map[string]int64{}} }

func (t *tally) add(outcome string) {
	t.mu.Lock()
	t.n[outcome]++
	t.mu.Unlock()
}

func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.n)
}

// flood is one kind of hostile traffic.
type flood struct {
	name string
	how  string
	t    *tally
}

// from is a dialer whose connections come from 127.0.0.n: kiln's
// per-address limits (failed auth) see each flood as its own client.
func from(n byte) *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, n)}}
}

// exchange sends payload on a new connection and reads the answer's
// status line. It returns the status code, or what the connection did;
// "LEAK" when the answer shows an injected header or a file outside the
// site.
func exchange(d *net.Dialer, addr string, payload []byte) string {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return outcome(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(payload); err != nil {
		// kiln may answer and close before the whole payload is written.
		if s := readStatus(c); s != "closed" {
			return s
		}
		return outcome(err)
	}
	return readStatus(c)
}

func readStatus(c net.Conn) string {
	buf := make([]byte, 8<<10)
	n, err := io.ReadAtLeast(c, buf, 12)
	if n < 12 {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return "closed"
		}
		return outcome(err)
	}
	b := buf[:n]
	if bytes.Contains(b, []byte("evil=1")) || bytes.Contains(b, []byte("root:x:0:0")) {
		return "LEAK"
	}
	if !bytes.HasPrefix(b, []byte("HTTP/1.")) {
		return "garbage"
	}
	return string(b[9:12])
}

// outcome names a network error.
func outcome(err error) string {
	var ne net.Error
	s := err.Error()
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "refused"
	case strings.Contains(s, "connection reset"):
		return "reset"
	case strings.Contains(s, "broken pipe"):
		return "broken pipe"
	case err == io.EOF:
		return "closed"
	}
	return "error"
}

// every runs f every period until ctx ends.
func every(ctx context.Context, period time.Duration, f func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bigBody is a GET announcing 64 MiB, followed by 64 KiB of it.
func bigBody(target, auth string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s HTTP/1.1\r\nHost: soak\r\n%sContent-Length: %d\r\n\r\n", target, auth, 64<<20)
	b.Write(bytes.Repeat([]byte("x"), 64<<10))
	return b.Bytes()
}

// malformed are the requests an HTTP parser must refuse or answer
// without harm, sent in turn.
var malformed = [][]byte{
	// CL.TE and TE.CL smuggling, a second request hidden in the body.
	[]byte("POST / HTTP/1.1\r\nHost: soak\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /_kiln/inspect?path=/ HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("POST / HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n"),
	// CRLF and bare CR injection.
	[]byte("GET /posts/%0d%0aSet-Cookie:%20evil=1 HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("GET /posts/x\r\nSet-Cookie: evil=1 HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nX-A: a\rSet-Cookie: evil=1\r\n\r\n"),
	[]byte("GET /?q=%0d%0aSet-Cookie:evil=1 HTTP/1.1\r\nHost: soak\r\n\r\n"),
	// Path traversal.
	[]byte("GET /../../../../etc/passwd HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("GET /assets/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("GET /assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: soak\r\n\r\n"),
	// Bad request lines, versions, headers and framing.
	[]byte("GET / HTTP/7.0\r\nHost: soak\r\n\r\n"),
	[]byte("GET\x00/ HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost soak\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: -1\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
	[]byte("POST /_kiln/revalidate HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nx\r\n"),
	[]byte("GET " + strings.Repeat("/a", 40<<10) + " HTTP/1.1\r\nHost: soak\r\n\r\n"),
	[]byte("GET /%zz%00%ff HTTP/1.1\r\nHost: soak\r\n\r\n"),
}

// oversized are requests with headers past kiln's read buffer.
var oversized = [][]byte{
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nX-Big: " + strings.Repeat("b", 32<<10) + "\r\n\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\n" + strings.Repeat("X-Many: m\r\n", 2000) + "\r\n"),
	[]byte("GET / HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer " + strings.Repeat("s", 64<<10) + "\r\n\r\n"),
}

// httpFrom is a client whose connections come from 127.0.0.n.
func httpFrom(n byte, conns int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         from(n).DialContext,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
	}
}

// do sends a request and returns its status, or what went wrong.
func do(c *http.Client, req *http.Request) string {
	resp, err := c.Do(req)
	if err != nil {
		return outcome(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode)
}

// idlePool holds n sockets open without a request (half of them with
// an unfinished request line), opening a new one whenever kiln closes
// one.
type idlePool struct {
	held   atomic.Int64
	closed atomic.Int64 // sockets kiln closed
	failed atomic.Int64 // dials that failed
}

func (p *idlePool) run(ctx context.Context, addr string, n int, wg *sync.WaitGroup) {
	d := from(3)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					p.failed.Add(1)
					sleep(ctx, time.Second)
					continue
				}
				if i%2 == 1 {
					c.Write([]byte("GET / HTTP/1.1\r\nHost: so"))
				}
				p.held.Add(1)
				stop := context.AfterFunc(ctx, func() { c.Close() })
				c.Read(make([]byte, 1024)) // until kiln closes it (or the soak ends)
				stop()
				p.held.Add(-1)
				c.Close()
				if ctx.Err() == nil {
					p.closed.Add(1)
					sleep(ctx, 100*time.Millisecond)
				}
			}
		}()
		if i%100 == 99 {
			sleep(ctx, 10*time.Millisecond) // don't overflow the listen backlog
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// load is the normal load's counts from one worker.
type load struct {
	requests int64
	errors   map[string]int64 // "GET /path: what" -> count
	cache    map[string]int64 // X-Kiln-Cache -> count
	lat      []time.Duration
}

// normal GETs the stored pages in turn until ctx ends.
func normal(ctx context.Context, c *http.Client, base string, pages []string, first int) *load {
	l := &load{errors: map[string]int64{}, cache: map[string]int64{}}
	buf := make([]byte, 32<<10)
	for i := first; ctx.Err() == nil; i++ {
		p := pages[i%len(pages)]
		req, _ := http.NewRequest("GET", base+p, nil)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				break // the soak ended under this request
			}
			l.requests++
			l.errors["GET "+p+": "+outcome(err)]++
			continue
		}
		var n int64
		for {
			m, err := resp.Body.Read(buf)
			n += int64(m)
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		l.requests++
		l.lat = append(l.lat, time.Since(start))
		l.cache[resp.Header.Get("X-Kiln-Cache")]++
		switch {
		case resp.StatusCode != 200:
			l.errors[fmt.Sprintf("GET %s: %d", p, resp.StatusCode)]++
		case n == 0:
			l.errors["GET "+p+": empty body"]++
		}
	}
	return l
}

func (l *load) merge(o *load) {
	l.requests += o.requests
	for k, v := range o.errors {
		l.errors[k] += v
	}
	for k, v := range o.cache {
		l.cache[k] += v
	}
	l.lat = append(l.lat, o.lat...)
}

func (l *load) percentile(p float64) time.Duration {
	if len(l.lat) == 0 {
		return 0
	}
	slices.Sort(l.lat)
	return l.lat[min(len(l.lat)-1, int(p*float64(len(l.lat))))]
}
