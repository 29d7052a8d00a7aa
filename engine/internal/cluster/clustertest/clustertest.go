// Package clustertest starts real NATS JetStream servers for the cluster
// tests: three embedded servers clustered on loopback.
package clustertest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/kilnhq/kiln/engine/internal/freeport"
)

// JetStream starts n embedded JetStream servers clustered on loopback
// ports, each with its store in a test temp dir, waits until they have a
// meta leader that sees all n of them as peers (a stream created before
// then may get fewer replicas placed, or wait for them), and returns
// their client URLs. They shut down when the
// test ends.
func JetStream(t testing.TB, n int) []string {
	t.Helper()
	urls, _ := Servers(t, n)
	return urls
}

// Servers is JetStream, with the servers too: a test shuts one down.
// Server i is named "n<i>" and listens on urls[i].
func Servers(t testing.TB, n int) ([]string, []*server.Server) {
	t.Helper()
	urls, start := Staged(t, n)
	servers := make([]*server.Server, n)
	for i := range n {
		servers[i] = start(i)
	}
	// Real servers electing a leader: poll, with a deadline.
	for deadline := time.Now().Add(15 * time.Second); !leaderSeesAll(servers); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no JetStream meta leader seeing all %d servers", n)
		}
	}
	return urls, servers
}

// Staged prepares n clustered JetStream servers without starting them:
// it returns their client URLs and a func that starts server i and waits
// until it takes connections. Fewer than a majority started answer
// clients but have no JetStream meta leader. Started servers shut down
// when the test ends.
func Staged(t testing.TB, n int) (urls []string, start func(i int) *server.Server) {
	t.Helper()
	cports := make([]int, n)
	routes := make([]string, n)
	ports := make([]int, n)
	for i := range cports {
		cports[i] = freeport.Port(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", cports[i])
		ports[i] = freeport.Port(t)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	start = func(i int) *server.Server {
		t.Helper()
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: ports[i],
			JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "kiln", Host: "127.0.0.1", Port: cports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		})
		if err != nil {
			t.Fatal(err)
		}
		log := &problems{}
		s.SetLogger(log, false, false)
		go s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("NATS server n%d not ready after 10 s; it said: %s", i, log)
		}
		return s
	}
	return urls, start
}

func leaderSeesAll(ss []*server.Server) bool {
	for _, s := range ss {
		if s.JetStreamIsLeader() {
			return len(s.JetStreamClusterPeers()) == len(ss)
		}
	}
	return false
}

// problems keeps what a server logs as a warning or worse, for the
// message of a server that did not start (it logs nothing else: the
// tests' servers run with NoLog).
type problems struct {
	mu    sync.Mutex
	lines []string
}

func (p *problems) add(format string, v []any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lines) < 20 {
		p.lines = append(p.lines, fmt.Sprintf(format, v...))
	}
}

func (p *problems) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lines) == 0 {
		return "nothing"
	}
	return strings.Join(p.lines, "; ")
}

func (p *problems) Noticef(string, ...any)         {}
func (p *problems) Debugf(string, ...any)          {}
func (p *problems) Tracef(string, ...any)          {}
func (p *problems) Warnf(format string, v ...any)  { p.add(format, v) }
func (p *problems) Errorf(format string, v ...any) { p.add(format, v) }
func (p *problems) Fatalf(format string, v ...any) { p.add(format, v) }
