package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Data-change jobs. Every node runs its data sources and publishes each
// change to the P_jobs work-queue stream with a message id made of the
// source, the revision and the key: the nodes that watch the same source
// (or their own copies of one file, edited alike) publish the same ids,
// and the stream keeps the first within its duplicate window. One durable
// pull consumer, shared by every node, hands each job to one node, which
// regenerates the affected pages (under the render leases) and acks once
// they are stored and published. A node that dies mid-job never acks: the
// job is redelivered to another node after the consumer's AckWait, and
// in-progress acks keep a long job from being redelivered meanwhile.
//
// A change counts as committed for its source (the local store's
// revision, and P_revisions for the cluster) once the stream holds it:
// from then on the queue, not the source, owns it. A node starting with
// an empty store resumes its sources from P_revisions, where the last
// node stopped.

// DefaultJobAckWait is how long a pulled job may go without an ack or an
// in-progress ack before the stream gives it to another node.
const DefaultJobAckWait = 30 * time.Second

// job is a change on the wire.
type job struct {
	Source   string `json:"source"`
	Revision uint64 `json:"revision"`
	Key      string `json:"key"`
	Value    []byte `json:"value,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// Committer is the local data-source supervisor.
type Committer interface {
	Commit(source string, revision uint64) error
}

// JobOptions wire a node's data sources to the cluster's job queue.
type JobOptions struct {
	Changes   <-chan datasource.Change // this node's sources' changes
	Committer Committer                // commits a revision once queued
	// Regenerate handles one batch of pulled changes and returns once the
	// affected pages are stored and published.
	Regenerate func(ctx context.Context, batch []datasource.Change) (int, error)
}

// RunJobs publishes this node's changes to the job queue and pulls jobs
// from it until ctx is done or the node closes.
func (n *Node) RunJobs(ctx context.Context, opts JobOptions) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-n.ctx.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	n.wg.Go(func() { n.publishChanges(ctx, opts) })
	n.wg.Go(func() { n.pullJobs(ctx, opts) })
}

func (n *Node) jobSubject(source string) string {
	return n.cfg.Prefix + ".jobs." + base64.RawURLEncoding.EncodeToString([]byte(source))
}

// publishChanges queues every change, retrying while NATS is away (the
// change is not committed until the stream holds it, so a crash
// meanwhile makes the source deliver it again). A revision is committed
// once the changes after it carry another revision, or none follow.
func (n *Node) publishChanges(ctx context.Context, opts JobOptions) {
	var pending *datasource.Change // published, not committed
	commit := func() {
		if pending != nil {
			if err := opts.Committer.Commit(pending.Source, pending.Revision); err != nil {
				n.log.Error("cluster: commit revision", "source", pending.Source, "revision", pending.Revision, "err", err)
			}
			pending = nil
		}
	}
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
			commit()
		case c, ok := <-opts.Changes:
			if !ok {
				commit()
				return
			}
			if pending != nil && (pending.Source != c.Source || pending.Revision != c.Revision) {
				commit()
			}
			if !n.queueChange(ctx, c) {
				return
			}
			pending = &c
			idle.Reset(20 * time.Millisecond)
		}
	}
}

// queueChange publishes c until the stream holds it; false when ctx ends.
func (n *Node) queueChange(ctx context.Context, c datasource.Change) bool {
	b, _ := json.Marshal(job{Source: c.Source, Revision: c.Revision, Key: c.Key, Value: c.Value, Deleted: c.Deleted})
	id := c.Source + ":" + strconv.FormatUint(c.Revision, 10) + ":" + c.Key
	delay := 100 * time.Millisecond
	for {
		if n.online() {
			cctx, cancel := context.WithTimeout(ctx, n.timeout)
			_, err := n.js.Publish(cctx, n.jobSubject(c.Source), b, jetstream.WithMsgID(id))
			cancel()
			if err == nil {
				return true
			}
			n.log.Warn("cluster: queue data change; retrying", "source", c.Source, "revision", c.Revision, "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// pullJobs is the node's worker on the shared durable consumer.
func (n *Node) pullJobs(ctx context.Context, opts JobOptions) {
	var cons jetstream.Consumer
	for cons == nil {
		if n.online() {
			cctx, cancel := context.WithTimeout(ctx, 4*n.timeout)
			c, err := n.js.CreateOrUpdateConsumer(cctx, n.cfg.Prefix+"_jobs", jetstream.ConsumerConfig{
				Durable: n.cfg.Prefix + "_workers", Description: "Kiln nodes regenerating for data changes",
				AckPolicy: jetstream.AckExplicitPolicy, AckWait: n.jobAckWait, MaxAckPending: 1024,
			})
			cancel()
			if err == nil {
				cons = c
				break
			}
			n.log.Warn("cluster: job consumer", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	for ctx.Err() == nil {
		if !n.online() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		// Block for one job (a second at most, to notice ctx and NATS),
		// then take what is queued behind it without waiting.
		first, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		msgs := []jetstream.Msg{first}
		if more, err := cons.FetchNoWait(63); err == nil {
			for m := range more.Messages() {
				msgs = append(msgs, m)
			}
		}
		n.work(ctx, msgs, opts)
	}
}

// work runs one fetched batch of jobs and acks it once done.
func (n *Node) work(ctx context.Context, msgs []jetstream.Msg, opts JobOptions) {
	changes := make([]datasource.Change, 0, len(msgs))
	for _, m := range msgs {
		n.stats.JobsPulled.Add(1)
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			n.stats.JobsRedelivered.Add(1)
		}
		var j job
		if err := json.Unmarshal(m.Data(), &j); err != nil {
			n.log.Error("cluster: bad job; dropped", "err", err)
			_ = m.Term()
			continue
		}
		changes = append(changes, datasource.Change{Source: j.Source, Revision: j.Revision, Key: j.Key, Value: j.Value, Deleted: j.Deleted})
	}
	if h := jobHook.Load(); h != nil {
		(*h)(n, changes)
	}
	done := make(chan struct{})
	progress := make(chan struct{})
	go func() { // in-progress acks: the job is alive
		defer close(progress)
		t := time.NewTicker(n.jobAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	_, err := opts.Regenerate(ctx, changes)
	close(done)
	<-progress
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			n.log.Error("cluster: data-change job failed; redelivered", "changes", len(changes), "err", err)
		}
		for _, m := range msgs {
			_ = m.Nak()
		}
		return
	}
	for _, m := range msgs {
		cctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		if err := m.DoubleAck(cctx); err != nil {
			n.log.Warn("cluster: ack job", "err", err)
		}
		cancel()
	}
}

// jobHook, set by tests, runs when a node has pulled a batch of jobs and
// before it works on them.
var jobHook = atomicHook[func(n *Node, batch []datasource.Change)]{}

// Revisions wraps the local store's revision keeping: a source's revision
// is kept locally and in P_revisions, and read as the higher of the two,
// so that a node with an empty store resumes where the cluster stopped.
func (n *Node) Revisions(local store.Meta) store.Meta { return &revisions{n: n, local: local} }

type revisions struct {
	n     *Node
	local store.Meta
}

func (r *revisions) GetMeta(k string) ([]byte, error) {
	b, err := r.local.GetMeta(k)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	mine, _ := strconv.ParseUint(string(b), 10, 64)
	theirs, ok := r.n.clusterRevision(k)
	if !ok || theirs <= mine {
		return b, err
	}
	return []byte(strconv.FormatUint(theirs, 10)), nil
}

func (r *revisions) SetMeta(k string, v []byte) error {
	if err := r.local.SetMeta(k, v); err != nil {
		return err
	}
	rev, err := strconv.ParseUint(string(v), 10, 64)
	if err == nil {
		r.n.raiseRevision(k, rev)
	}
	return nil
}

func (n *Node) clusterRevision(k string) (uint64, bool) {
	if !n.online() {
		return 0, false
	}
	ctx, cancel := n.call()
	defer cancel()
	e, err := n.revs.Get(ctx, key(k))
	if err != nil {
		return 0, false
	}
	rev, err := strconv.ParseUint(string(e.Value()), 10, 64)
	return rev, err == nil
}

// raiseRevision sets P_revisions[k] to rev unless it holds a higher one
// (compare-and-set, retried on a race with another node).
func (n *Node) raiseRevision(k string, rev uint64) {
	if !n.online() {
		return
	}
	for range 8 {
		ctx, cancel := n.call()
		e, err := n.revs.Get(ctx, key(k))
		val := []byte(strconv.FormatUint(rev, 10))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = n.revs.Create(ctx, key(k), val)
		case err != nil:
		default:
			if cur, _ := strconv.ParseUint(string(e.Value()), 10, 64); cur >= rev {
				cancel()
				return
			}
			_, err = n.revs.Update(ctx, key(k), val, e.Revision())
		}
		cancel()
		if err == nil {
			return
		}
		if !isWrongLastSequence(err) { // a race with another node: read again
			n.log.Warn("cluster: keep revision", "key", k, "err", fmt.Sprint(err))
			return
		}
	}
}
