package server

import (
	"errors"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// deadlineLog is a connection that records the read deadlines set on it.
type deadlineLog struct {
	net.Conn
	set []time.Duration // each deadline set, after t0; -1 for none
}

var t0 = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func (d *deadlineLog) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		d.set = append(d.set, -1)
	} else {
		d.set = append(d.set, t.Sub(t0))
	}
	return nil
}

func TestCoarseReadDeadlines(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		asks []time.Duration // after t0; -1 for none
		want []time.Duration // what reached the connection
	}{
		{"first is set", []time.Duration{30 * s}, []time.Duration{30 * s}},
		{"same is kept", []time.Duration{30 * s, 30 * s}, []time.Duration{30 * s}},
		{"later within the grain is kept", []time.Duration{30 * s, 30*s + 999*time.Millisecond}, []time.Duration{30 * s}},
		{"later by the grain is set", []time.Duration{30 * s, 31 * s}, []time.Duration{30 * s, 31 * s}},
		{"earlier is set", []time.Duration{30 * s, 30*s - time.Millisecond}, []time.Duration{30 * s, 30*s - time.Millisecond}},
		{"none is set", []time.Duration{30 * s, -1, -1}, []time.Duration{30 * s, -1, -1}},
		{"after none, set", []time.Duration{-1, 30 * s}, []time.Duration{-1, 30 * s}},
		{"a busy connection", []time.Duration{30 * s, 30*s + 100*time.Millisecond, 30*s + 200*time.Millisecond, 31*s + 100*time.Millisecond},
			[]time.Duration{30 * s, 31*s + 100*time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &deadlineLog{}
			c := &coarseConn{Conn: log}
			for _, d := range tt.asks {
				at := time.Time{}
				if d >= 0 {
					at = t0.Add(d)
				}
				c.SetReadDeadline(at)
			}
			if got, want := log.set, tt.want; !slices.Equal(got, want) {
				t.Errorf("deadlines set %v, want %v", got, want)
			}
		})
	}
}

// A client that stops sending is still cut off: the deadline asked for
// reaches the connection when it is the first or an earlier one.
func TestCoarseDeadlineCutsAStalledRead(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := &coarseConn{Conn: a}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Hour))
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a silent peer: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a peer that does not read: %v, want %v", err, os.ErrDeadlineExceeded)
	}
}
