package server

import (
	"bufio"
	"net"
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestOpenConnsTrack(t *testing.T) {
	tests := []struct {
		name   string
		states []fasthttp.ConnState
		want   int64
	}{
		{"new", []fasthttp.ConnState{fasthttp.StateNew}, 1},
		{"new, active, idle", []fasthttp.ConnState{fasthttp.StateNew, fasthttp.StateActive, fasthttp.StateIdle}, 1},
		{"new then closed", []fasthttp.ConnState{fasthttp.StateNew, fasthttp.StateActive, fasthttp.StateClosed}, 0},
		{"new then hijacked", []fasthttp.ConnState{fasthttp.StateNew, fasthttp.StateHijacked}, 0},
		{"two new, one closed", []fasthttp.ConnState{fasthttp.StateNew, fasthttp.StateNew, fasthttp.StateClosed}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o openConns
			for _, st := range tt.states {
				o.track(nil, st)
			}
			if got := o.n.Load(); got != tt.want {
				t.Errorf("open = %d, want %d", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		leanAt int64
		open   int64
		want   bool
	}{
		{"below", leanAbove, leanAbove - 1, false},
		{"at", leanAbove, leanAbove, true},
		{"above", leanAbove, leanAbove + 1000, true},
		{"never (per-address cap on)", 0, leanAbove + 1000, false},
	} {
		o := openConns{leanAt: tt.leanAt}
		o.n.Store(tt.open)
		if got := o.lean(); got != tt.want {
			t.Errorf("%s: lean() with %d open = %v, want %v", tt.name, tt.open, got, tt.want)
		}
	}
}

// TestConnectionsPastTheFirstAreServedLean opens connections one after
// the other, each answered before the next: the first leanAbove are
// served by the fast server, the rest by the lean one, and both answer
// alike.
func TestConnectionsPastTheFirstAreServedLean(t *testing.T) {
	srv := New(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	const extra = 20
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range leanAbove + extra {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		// 405 (only GET and HEAD), answered before the engine is asked,
		// on a connection kept alive.
		if _, err := c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Close {
			t.Fatalf("connection %d: %s (close %v), want 405 kept alive", i, resp.Status, resp.Close)
		}
	}
	if got := srv.fastOpen.n.Load(); got != leanAbove {
		t.Errorf("fast server has %d connections open, want %d", got, leanAbove)
	}
	if got := srv.lean.GetOpenConnectionsCount(); got != extra {
		t.Errorf("lean server has %d connections open, want %d", got, extra)
	}
	if err := srv.Shutdown(); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	perIP := New(Options{MaxConnsPerIP: 4})
	defer perIP.cancel()
	perIP.fastOpen.n.Store(leanAbove)
	if perIP.fastOpen.lean() {
		t.Error("with a per-address cap, connections go lean")
	}
}
