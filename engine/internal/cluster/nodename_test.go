package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// openNamed opens a node named name ("" for the default, the hostname)
// on st, with a NodeTTL of 3 s.
func openNamed(t *testing.T, urls []string, name, prefix string, st store.Store) (*Node, error) {
	t.Helper()
	cfg := config.DefaultCluster(urls)
	cfg.Node, cfg.Prefix, cfg.Replicas, cfg.LeaseTTL, cfg.NodeTTL = name, prefix, 3, 2*time.Second, 3*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Cleanup(func() { n.Close() })
		<-n.Ready()
	}
	return n, err
}

func tempStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestNodeNames: two live nodes never share a name. A name set in the
// cluster block that another live node uses stops the start; the
// default name (the hostname) is made unique with the store's id; a node
// restarted on its store, or after the other one died, keeps its name.
func TestNodeNames(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	ctx := context.Background()

	t.Run("a set name in use stops the start", func(t *testing.T) {
		if _, err := openNamed(t, urls, "web", "names1", tempStore(t)); err != nil {
			t.Fatal(err)
		}
		_, err := openNamed(t, urls, "web", "names1", tempStore(t))
		if !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), `node = "..."`) {
			t.Fatalf("second node named web: %v; want ErrNameInUse naming the node setting", err)
		}
	})

	t.Run("the default name in use gets the store id", func(t *testing.T) {
		first, err := openNamed(t, urls, "", "names2", tempStore(t))
		if err != nil {
			t.Fatal(err)
		}
		second, err := openNamed(t, urls, "", "names2", tempStore(t))
		if err != nil {
			t.Fatal(err)
		}
		host := (&config.Cluster{}).NodeName()
		if got, want := first.Name(), host; got != want {
			t.Errorf("first node's name = %q, want %q", got, want)
		}
		if got, want := second.Name(), host+"-"+second.instance[:6]; got != want {
			t.Errorf("second node's name = %q, want %q", got, want)
		}
		eventually(t, "both nodes live under their names", func() bool {
			live, err := first.Nodes(ctx)
			return err == nil && containsNode(live, first.Name()) && containsNode(live, second.Name())
		})
	})

	t.Run("restarted on its store, a node keeps its name", func(t *testing.T) {
		st := tempStore(t)
		n, err := openNamed(t, urls, "web", "names3", st)
		if err != nil {
			t.Fatal(err)
		}
		// Killed: its heartbeat stays until NodeTTL.
		beat, _ := json.Marshal(NodeStatus{Name: "web", Connected: true, Instance: n.instance})
		n.Close() // removes it: put it back
		kv := bucketOn(t, urls, "names3_nodes")
		if _, err := kv.Put(ctx, "web", beat); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		again, err := openNamed(t, urls, "web", "names3", st)
		if err != nil {
			t.Fatalf("restart on the same store: %v", err)
		}
		if again.Name() != "web" || time.Since(start) > 2*time.Second {
			t.Errorf("restart: name %q after %s; want web at once", again.Name(), time.Since(start))
		}
	})

	t.Run("a dead node's name is free once its heartbeat is not renewed", func(t *testing.T) {
		if _, err := openNamed(t, urls, "other", "names4", tempStore(t)); err != nil { // creates the buckets
			t.Fatal(err)
		}
		kv := bucketOn(t, urls, "names4_nodes")
		dead, _ := json.Marshal(NodeStatus{Name: "web", Connected: true, Instance: "0123456789abcdef"})
		if _, err := kv.Put(ctx, "web", dead); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		n, err := openNamed(t, urls, "web", "names4", tempStore(t))
		if err != nil {
			t.Fatalf("a dead node's name: %v", err)
		}
		if n.Name() != "web" {
			t.Errorf("name = %q, want web", n.Name())
		}
		t.Logf("name free %s after the start (node_ttl 3s)", time.Since(start).Round(time.Millisecond))
	})
}
