package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// lostServerBound is how long after a record is committed a node that
// lost its NATS server (one of three) may take to apply it: two watch
// checks (1 s) with a direct get, generous for a loaded machine; the test
// logs the time. Left to the client library's missed heartbeats (two of
// 5 s) it is 10 s and more; with the stream-info check that came before
// the direct gets, 1.7 to 2 s here, and 6.3 to 6.9 s after a kill -9 in
// the end-to-end test.
const lostServerBound = 5 * time.Second

// TestWatchAfterALostServer: a node keeps applying the records other
// nodes publish when the NATS server it is connected to goes away, or
// the one holding its pages watch (an R1 ordered consumer), at R3.
func TestWatchAfterALostServer(t *testing.T) {
	for _, tt := range []struct {
		name string
		// urls the node is given, and the server to lose once it runs.
		urls   func(urls []string) []string
		victim func(t *testing.T, x *testNode) string
	}{
		{
			name: "the server it is connected to",
			// One URL: the node connects there, and learns the others
			// from the cluster (as a client given one seed does).
			urls:   func(urls []string) []string { return urls[:1] },
			victim: func(t *testing.T, x *testNode) string { return x.nc.ConnectedServerName() },
		},
		{
			name:   "the server holding its watch",
			urls:   func(urls []string) []string { return urls },
			victim: watchServer,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			urls, servers := clustertest.Servers(t, 3)
			x := openNode(t, tt.urls(urls), "x", "lost")
			name := tt.victim(t, x)
			i := slices.IndexFunc(servers, func(s *server.Server) bool { return s.Name() == name })
			if i < 0 {
				t.Fatalf("no server named %q", name)
			}
			// The publisher reaches the two servers left.
			kv := bucketOn(t, slices.Delete(slices.Clone(urls), i, i+1), "lost_pages")
			lost := time.Now()
			servers[i].Shutdown()
			rec := store.EncodePage([]byte{valueInline}, testPage("/after", "after"))
			var committed time.Time
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := kv.Put(ctx, key("/after"), rec)
				cancel()
				if err == nil {
					committed = time.Now()
					break
				}
				if time.Since(lost) > 30*time.Second {
					t.Fatalf("publish with %s lost: %v", name, err)
				}
				time.Sleep(20 * time.Millisecond) // a stream leader being elected
			}
			within(t, lostServerBound, fmt.Sprintf("x applying a record committed %s after %s was lost",
				committed.Sub(lost).Round(time.Millisecond), name), func() bool { return body(x.st, "/after") == "after" })
			t.Logf("x applied the record %s after it was committed, %s after %s was lost",
				time.Since(committed).Round(time.Millisecond), time.Since(lost).Round(time.Millisecond), name)
		})
	}
}

// watchServer is the name of the server holding x's pages watch: the
// only consumer of its bucket's stream, as x is the only node.
func watchServer(t *testing.T, x *testNode) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := x.js.Stream(ctx, "KV_"+x.cfg.Prefix+"_pages")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	l := s.ListConsumers(ctx)
	for ci := range l.Info() {
		if ci.Cluster != nil {
			hosts = append(hosts, ci.Cluster.Leader)
		}
	}
	if l.Err() != nil || len(hosts) != 1 {
		t.Fatalf("consumers of x's pages bucket: hosts %v, %v; want one", hosts, l.Err())
	}
	return hosts[0]
}

// bucketOn opens a KV bucket through a client of its own on urls.
func bucketOn(t *testing.T, urls []string, bucket string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// silentServerBound is lostServerBound plus the time to notice a server
// that stopped answering without closing the connection: two unanswered
// pings a second apart. With the client's default pings (two minutes
// each) the node waited minutes.
const silentServerBound = lostServerBound + 3*time.Second

// TestWatchAfterASilentServer: the server a node is connected to stops
// answering without closing the connection (its machine or the network
// gone, which a killed process never shows: the kernel closes its
// sockets). The node notices by its pings, reconnects to a server it
// learned from the cluster, and applies a record published elsewhere.
func TestWatchAfterASilentServer(t *testing.T) {
	urls, _ := clustertest.Servers(t, 3)
	hole := blackHole(t, strings.TrimPrefix(urls[0], "nats://"))
	x := openNode(t, []string{"nats://" + hole.addr()}, "x", "silent")
	kv := bucketOn(t, urls[1:], "silent_pages")
	lost := time.Now()
	hole.close()
	rec := store.EncodePage([]byte{valueInline}, testPage("/after", "after"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kv.Put(ctx, key("/after"), rec); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	within(t, silentServerBound, fmt.Sprintf("x applying a record committed %s after its server went silent",
		committed.Sub(lost).Round(time.Millisecond)), func() bool { return body(x.st, "/after") == "after" })
	t.Logf("x applied the record %s after it was committed, %s after its server went silent",
		time.Since(committed).Round(time.Millisecond), time.Since(lost).Round(time.Millisecond))
}

// hole is a TCP proxy to a NATS server that can go silent: once closed,
// it keeps every connection open, reads and drops what clients send, and
// sends nothing (new connections included), as a server whose machine
// vanished.
type hole struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	shut   bool
	up     []net.Conn // connections to the server
}

func blackHole(t *testing.T, target string) *hole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hole{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go h.serve()
	return h
}

func (h *hole) addr() string { return h.ln.Addr().String() }

func (h *hole) serve() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		go h.relay(c)
	}
}

func (h *hole) relay(c net.Conn) {
	defer c.Close()
	h.mu.Lock()
	var up net.Conn
	if !h.shut {
		up, _ = net.Dial("tcp", h.target)
		if up != nil {
			h.up = append(h.up, up)
		}
	}
	h.mu.Unlock()
	if up != nil {
		go func() { _, _ = io.Copy(c, up) }() // until close() cuts it
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		h.mu.Lock()
		shut := h.shut
		h.mu.Unlock()
		if !shut && up != nil {
			if _, err := up.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

// close makes the server silent: its side of every connection is cut,
// the clients' side stays open and unanswered.
func (h *hole) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shut = true
	for _, up := range h.up {
		up.Close()
	}
}
