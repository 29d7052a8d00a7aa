package server

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Connections. Every connection costs a file descriptor, and so do the
// store's files and the plugins' sockets: the connection cap stays below
// the process's fd limit, so a flood of idle sockets is refused (503)
// before the engine runs out of descriptors. Should accept still fail
// for lack of them, it backs off and retries, as net/http does, instead
// of ending Serve (and `kiln serve` with it).

// maxConnsCeiling is fasthttp's own default concurrency.
const maxConnsCeiling = 256 * 1024

// DefaultMaxConns is the connection cap for a process whose fd limit is
// nofile: three quarters of it, leaving at least 128 descriptors to the
// store, the plugins and the accept that refuses a connection.
func DefaultMaxConns(nofile uint64) int {
	reserve := max(nofile/4, 128)
	if nofile <= reserve+16 {
		return 16
	}
	return int(min(nofile-reserve, maxConnsCeiling))
}

// fdLimit is the process's soft RLIMIT_NOFILE.
func fdLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1024
	}
	return r.Cur
}

// retryListener retries an accept that failed for lack of resources
// (EMFILE, ENFILE, ENOBUFS, ENOMEM) after a backoff from 5 ms to 1 s.
type retryListener struct {
	net.Listener
	log *slog.Logger
}

func (l retryListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil || !transient(err) {
			return c, err
		}
		if delay == 0 {
			delay = 5 * time.Millisecond
			l.log.Warn("accept failed, retrying: the process is out of file descriptors or memory; lower max_connections or raise the fd limit", "err", err)
		} else {
			delay = min(2*delay, time.Second)
		}
		time.Sleep(delay)
	}
}

func transient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// leanAbove is how many connections are served the fast way: past it,
// new connections go to the lean server (fasthttp's ReduceMemoryUsage),
// which holds no request context and no 16 KiB read buffer while a
// connection waits for a request, at the price of a one-byte read and an
// allocation per request. A site behind a CDN or a proxy keeps far fewer
// connections than this open; thousands of idle sockets are a flood
// (RATIONALE.md, "Why are connections past the first 256 served lean?").
const leanAbove = 256

// openConns counts one fasthttp server's open connections, from its
// ConnState hook. leanAt is the count from which new connections go
// lean: leanAbove, or never (0) when the per-address cap is on, since
// fasthttp counts an address's connections per server and the cap is
// exact only if one server holds them all.
type openConns struct {
	n      atomic.Int64
	leanAt int64
}

func (o *openConns) track(_ net.Conn, st fasthttp.ConnState) {
	switch st {
	case fasthttp.StateNew:
		o.n.Add(1)
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		o.n.Add(-1)
	}
}

// lean says whether a new connection goes to the lean server.
func (o *openConns) lean() bool { return o.leanAt > 0 && o.n.Load() >= o.leanAt }

// split accepts on ln and hands each connection to s.srv while it
// serves fewer than leanAbove, else to s.lean, until ln fails or both
// servers are shut down.
func (s *Server) split(ln net.Listener) error {
	var once sync.Once
	closeLn := func() { once.Do(func() { ln.Close() }) }
	fast, lean := newConnQueue(ln.Addr(), closeLn), newConnQueue(ln.Addr(), closeLn)
	errc := make(chan error, 2)
	go func() { errc <- s.srv.Serve(fast) }()
	go func() { errc <- s.lean.Serve(lean) }()
	var err error
	for {
		var c net.Conn
		if c, err = ln.Accept(); err != nil {
			break
		}
		q := fast
		if s.fastOpen.lean() {
			q = lean
		}
		if !q.put(&coarseConn{Conn: c}) {
			c.Close()
			break
		}
	}
	closeLn()
	fast.Close()
	lean.Close()
	err1, err2 := <-errc, <-errc
	if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		err = nil // Shutdown
	}
	return errors.Join(err, err1, err2)
}

// connQueue is a listener a fasthttp server accepts from: the
// connections split hands it. Closing it (fasthttp's Shutdown does)
// closes the real listener too.
type connQueue struct {
	addr    net.Addr
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	closeLn func()
}

func newConnQueue(addr net.Addr, closeLn func()) *connQueue {
	return &connQueue{addr: addr, conns: make(chan net.Conn), done: make(chan struct{}), closeLn: closeLn}
}

// put hands c to the server; false once the queue is closed.
func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.conns <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done); q.closeLn() })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
