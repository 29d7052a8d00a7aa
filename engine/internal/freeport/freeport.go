// Package freeport picks loopback TCP ports for tests that must name a
// port before the server that listens on it starts (a NATS cluster's
// routes, a child process's --listen).
//
// The usual trick, listening on port 0 and closing, hands back a port
// from the kernel's ephemeral range, which the kernel also gives to the
// outgoing connections of every test running beside it: on a busy
// machine one of them takes the port in the gap and the server cannot
// listen. The ports here come from below that range, where no outgoing
// connection is placed, and are checked free when picked.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// low is the lowest port handed out.
const low = 10000

var (
	mu     sync.Mutex
	given  = map[int]bool{} // no port twice in one process
	ephLow = ephemeralLow()
)

// Fataler is the part of a test Port needs: a testing.TB, or a
// testscript's T.
type Fataler interface {
	Fatalf(format string, args ...any)
}

// Port returns a free port on 127.0.0.1 outside the ephemeral range.
func Port(t Fataler) int {
	mu.Lock()
	defer mu.Unlock()
	if ephLow-low >= 1000 {
		for range 200 {
			p := low + rand.IntN(ephLow-low)
			if given[p] || !free(p) {
				continue
			}
			given[p] = true
			return p
		}
	}
	// No room below the ephemeral range: the kernel's pick.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	given[p] = true
	return p
}

// Addr is Port as a host:port address on 127.0.0.1.
func Addr(t Fataler) string {
	return fmt.Sprintf("127.0.0.1:%d", Port(t))
}

func free(p int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}
