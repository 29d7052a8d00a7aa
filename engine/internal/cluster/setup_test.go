package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/freeport"
	"github.com/kilnhq/kiln/engine/internal/store"
)

func openErr(t *testing.T, url string) error {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.DefaultCluster([]string{url})
	cfg.Node = "x"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		n.Close()
	}
	return err
}

func TestJetStreamOff(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	defer s.Shutdown()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	err = openErr(t, s.ClientURL())
	if err == nil || !strings.Contains(err.Error(), "JetStream is off") {
		t.Fatalf("Open on a server without JetStream: %v; want a JetStream-is-off error", err)
	}
}

// TestServerTooOld uses the machine's NATS on 127.0.0.1:4222 when there
// is one (Debian's is 2.9): Kiln refuses it by name.
func TestServerTooOld(t *testing.T) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:4222", 200*time.Millisecond)
	if err != nil {
		t.Skip("no NATS on 127.0.0.1:4222")
	}
	c.Close()
	err = openErr(t, "nats://127.0.0.1:4222")
	if err != nil && strings.Contains(err.Error(), "too old") {
		return
	}
	if err != nil {
		t.Logf("Open: %v", err)
	}
	t.Skip("the NATS on 127.0.0.1:4222 is not older than " + MinServerVersion)
}

func TestAtLeast(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"2.9.25", false}, {"2.10.0", true}, {"2.10.0-beta.1", true}, {"2.15.3", true}, {"3.0.0", true}, {"1.99.99", false}} {
		if got := atLeast(tt.v, MinServerVersion); got != tt.want {
			t.Errorf("atLeast(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestStartWithoutNATS: a node whose NATS is down at start opens, serves
// its local replica (ready, since it holds pages), stores what it renders
// alone, and joins when NATS comes up: its pages are then published.
func TestStartWithoutNATS(t *testing.T) {
	port := freeport.Port(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Put(testPage("/old", "held"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultCluster([]string{url})
	cfg.Node, cfg.Prefix, cfg.Replicas = "x", "alone", 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open with NATS down: %v", err)
	}
	defer n.Close()
	if n.Joined() || !n.Serving() {
		t.Errorf("NATS down: joined %v serving %v, want false true", n.Joined(), n.Serving())
	}
	if _, held, err := n.Lease(ctx, "/new"); err == nil || held {
		t.Errorf("Lease with NATS down = held %v, %v; want an error (render alone)", held, err)
	}
	if err := n.Store().Put(testPage("/new", "alone"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	defer s.Shutdown()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	eventually(t, "x joins once NATS answers", n.Joined)
	eventually(t, "what x stored alone is published", func() bool {
		p, _, err := n.fetchLeader(key("/new"))
		return err == nil && p != nil && string(p.Body) == "alone"
	})
	if !n.Serving() {
		t.Error("x stopped serving once joined")
	}
}

// TestStartWhileJetStreamHasNoLeader: NATS answers but JetStream cannot
// (one server of three up: no meta leader), as when a node restarts while
// NATS servers do. The node starts on its local replica instead of
// exiting, and joins once the other servers are back.
func TestStartWhileJetStreamHasNoLeader(t *testing.T) {
	urls, start := clustertest.Staged(t, 3)
	start(0)
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Put(testPage("/old", "held"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultCluster(urls[:1])
	cfg.Node, cfg.Prefix, cfg.Replicas = "x", "noleader", 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open while JetStream has no leader: %v", err)
	}
	defer n.Close()
	if n.Joined() || !n.Serving() {
		t.Errorf("no JetStream leader: joined %v serving %v, want false true", n.Joined(), n.Serving())
	}
	start(1)
	start(2)
	eventually(t, "x joins once JetStream has a leader", n.Joined)
}
