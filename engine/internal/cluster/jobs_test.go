package cluster

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/cluster/clustertest"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// worker is one node's side of the job queue in these tests: its
// sources' changes go in on changes, and what it regenerated is recorded.
type worker struct {
	*testNode
	changes chan datasource.Change
	mu      sync.Mutex
	done    []datasource.Change
	commits map[string]uint64
}

func (w *worker) Commit(source string, rev uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.commits[source] = max(w.commits[source], rev)
	return nil
}

func (w *worker) did() []datasource.Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]datasource.Change(nil), w.done...)
}

func (w *worker) committed(source string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commits[source]
}

func openWorker(t *testing.T, urls []string, name, prefix string, ackWait time.Duration) *worker {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultCluster(urls)
	cfg.Node, cfg.Prefix, cfg.Replicas, cfg.LeaseTTL, cfg.NodeTTL = name, prefix, 3, 2*time.Second, 3*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler), JobAckWait: ackWait})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); st.Close() })
	w := &worker{testNode: &testNode{n, st}, changes: make(chan datasource.Change), commits: map[string]uint64{}}
	n.RunJobs(context.Background(), JobOptions{Changes: w.changes, Committer: w,
		Regenerate: func(_ context.Context, batch []datasource.Change) (int, error) {
			w.mu.Lock()
			w.done = append(w.done, batch...)
			w.mu.Unlock()
			return len(batch), nil
		}})
	return w
}

func doneCount(ws ...*worker) int {
	n := 0
	for _, w := range ws {
		n += len(w.did())
	}
	return n
}

// TestJobsOncePerCluster: three nodes see the same change of one source
// (each watches its own copy); the queue keeps one job, one node does it,
// and every node commits the revision once the queue holds it.
func TestJobsOncePerCluster(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	ws := []*worker{
		openWorker(t, urls, "a", "jobs", 0),
		openWorker(t, urls, "b", "jobs", 0),
		openWorker(t, urls, "c", "jobs", 0),
	}
	edit := datasource.Change{Source: "posts", Revision: 7, Key: "post:a", Value: []byte(`{"title":"A2"}`)}
	for _, w := range ws {
		w.changes <- edit
	}
	eventually(t, "every node committed revision 7", func() bool {
		for _, w := range ws {
			if w.committed("posts") != 7 {
				return false
			}
		}
		return true
	})
	eventually(t, "the job is done", func() bool { return doneCount(ws...) >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := ws[0].js.Stream(ctx, "jobs_jobs")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.State.LastSeq, uint64(1); got != want {
		t.Errorf("jobs queued for one change seen by 3 nodes = %d, want %d", got, want)
	}
	eventually(t, "the job is acked", func() bool {
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	if got, want := doneCount(ws...), 1; got != want {
		t.Errorf("regenerations cluster-wide = %d, want %d", got, want)
	}
	if d := ws[0].did(); len(d) == 1 && (d[0].Key != edit.Key || string(d[0].Value) != string(edit.Value)) {
		t.Errorf("job = %+v, want %+v", d[0], edit)
	}
}

// TestRevisionsResumeFromTheCluster: the revision a node commits for a
// source is kept in P_revisions too; a node with an empty store reads it
// there, and a lower commit never lowers it.
func TestRevisionsResumeFromTheCluster(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	a := openNode(t, urls, "a", "revs")
	b := openNode(t, urls, "b", "revs")
	const k = "datasource/posts/revision"
	ra, rb := a.Revisions(a.st), b.Revisions(b.st)
	for _, rev := range []string{"7", "5"} {
		if err := ra.SetMeta(k, []byte(rev)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := rb.GetMeta(k)
	if err != nil || string(got) != "7" {
		t.Errorf("b's revision of posts with an empty store = %q, %v; want 7 (the cluster's)", got, err)
	}
	if err := rb.SetMeta(k, []byte("9")); err != nil {
		t.Fatal(err)
	}
	if got, err := ra.GetMeta(k); err != nil || string(got) != "9" {
		t.Errorf("a's revision after b committed 9 = %q, %v; want 9", got, err)
	}
}

// TestJobRedeliveredWhenItsNodeDies: the node that pulled a job dies
// before it acks; after AckWait another node gets the job and does it.
func TestJobRedeliveredWhenItsNodeDies(t *testing.T) {
	urls := clustertest.JetStream(t, 3)
	x := openWorker(t, urls, "x", "die", time.Second)
	pulled := make(chan struct{})
	dead := make(chan struct{})
	hook := func(n *Node, _ []datasource.Change) {
		if n == x.Node {
			close(pulled)
			<-dead // never works on it, never acks
		}
	}
	jobHook.Store(&hook)
	t.Cleanup(func() { jobHook.Store(nil); close(dead) })
	x.changes <- datasource.Change{Source: "posts", Revision: 3, Key: "post:b"}
	select {
	case <-pulled:
	case <-time.After(20 * time.Second):
		t.Fatal("x never pulled the job")
	}
	x.nc.Close() // killed: no ack, no in-progress ack
	y := openWorker(t, urls, "y", "die", time.Second)
	eventually(t, "y does x's job", func() bool { return len(y.did()) == 1 })
	if got := y.did()[0].Key; got != "post:b" {
		t.Errorf("y's job = %q, want post:b", got)
	}
	if got := y.Stats().JobsRedelivered.Load(); got != 1 {
		t.Errorf("y's jobs redelivered = %d, want 1", got)
	}
}
