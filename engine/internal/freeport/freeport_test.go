package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestPort: ports are distinct, below the ephemeral range, and can be
// listened on.
func TestPort(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p := Port(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if ephLow-low >= 1000 && (p < low || p >= ephLow) {
			t.Errorf("port %d outside [%d, %d)", p, low, ephLow)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("listen on port %d: %v", p, err)
		}
		l.Close()
	}
}
