package server

import (
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
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
