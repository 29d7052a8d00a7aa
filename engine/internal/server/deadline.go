package server

import (
	"net"
	"time"
)

// Deadlines. fasthttp moves a connection's deadlines three times a
// request: the idle wait, the read of the request, the write of the
// answer. Each move re-arms a runtime timer. With the idle time equal to
// the read timeout, the three deadlines a keep-alive connection is given
// differ by less than deadlineGrain from those it already has when
// requests come faster than that, so coarseConn keeps those and skips
// the timer work. A kept deadline is never later than the one asked for,
// and at most deadlineGrain earlier: a slow client is cut off as before,
// an honest one at most that much sooner (RATIONALE.md, "Why are
// connection deadlines coarse?").
const deadlineGrain = time.Second

// coarseConn is a connection whose deadlines move only when the new one
// is earlier than the one set, or deadlineGrain or more later. fasthttp
// sets them from the connection's own goroutine only.
type coarseConn struct {
	net.Conn
	read, write time.Time // the deadlines set on Conn
}

func (c *coarseConn) SetReadDeadline(t time.Time) error {
	if keep(c.read, t) {
		return nil
	}
	c.read = t
	return c.Conn.SetReadDeadline(t)
}

func (c *coarseConn) SetWriteDeadline(t time.Time) error {
	if keep(c.write, t) {
		return nil
	}
	c.write = t
	return c.Conn.SetWriteDeadline(t)
}

func (c *coarseConn) SetDeadline(t time.Time) error {
	c.read, c.write = t, t
	return c.Conn.SetDeadline(t)
}

// keep says whether the deadline set may stand for t: both are set, and
// t is no earlier than set and less than deadlineGrain later.
func keep(set, t time.Time) bool {
	if set.IsZero() || t.IsZero() {
		return false
	}
	d := t.Sub(set)
	return d >= 0 && d < deadlineGrain
}
