package cluster

import (
	"context"
	"slices"
	"strings"
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
			for body(x.st, "/after") != "after" {
				if time.Since(committed) > lostServerBound {
					t.Fatalf("x had not applied a record %s after it was committed (%s lost %s before)",
						lostServerBound, name, committed.Sub(lost).Round(time.Millisecond))
				}
				time.Sleep(5 * time.Millisecond)
			}
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
