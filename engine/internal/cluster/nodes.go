package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// NodeStatus is one live node, as its heartbeat says.
type NodeStatus struct {
	Name      string    `json:"name"`
	Applied   uint64    `json:"applied"`   // last bucket revision applied
	Lag       uint64    `json:"lag"`       // records behind the bucket's last when it applied it
	Connected bool      `json:"connected"` // reaches NATS (always true in a heartbeat)
	Started   time.Time `json:"started"`   // on its own clock, for people
	// Instance is the node's store id (see instanceID): two live
	// heartbeats of one name with different ones are two nodes.
	Instance string `json:"instance,omitempty"`
}

type appliedWaiter struct {
	rev uint64
	ch  chan struct{}
}

// heartbeat writes the node's entry in P_nodes every NodeTTL/3: a node is
// live until NodeTTL after its last heartbeat.
func (n *Node) heartbeat() {
	started := n.clock.Now()
	var rev uint64 // of this node's last heartbeat: each is written on it
	beat := func() {
		if !n.online() {
			return
		}
		b, _ := json.Marshal(NodeStatus{Name: n.name, Applied: n.applied.Load(), Lag: n.lag.Load(), Connected: true, Started: started, Instance: n.instance})
		ctx, cancel := n.call()
		defer cancel()
		var err error
		if rev == 0 {
			rev, err = n.nodes.Put(ctx, n.name, b)
		} else if rev, err = n.nodes.Update(ctx, n.name, b, rev); isWrongLastSequence(err) {
			// Written by someone else, or expired after a late beat.
			n.nameTaken(ctx)
			rev, err = n.nodes.Put(ctx, n.name, b)
		}
		if err != nil {
			rev = 0
			n.log.Debug("cluster: heartbeat", "err", err)
		}
	}
	beat()
	t := time.NewTicker(n.cfg.NodeTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			beat()
			if live, err := n.Nodes(n.ctx); err == nil {
				n.stats.LiveNodes.Store(uint64(len(live)))
			}
		}
	}
}

// Nodes lists the live nodes: those with a heartbeat in P_nodes that
// this node has not seen unchanged for NodeTTL (the bucket's TTL removes
// it then too, on the server's clock; see liveness.go).
func (n *Node) Nodes(ctx context.Context) ([]NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	l, err := n.nodes.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []NodeStatus
	now := n.clock.Now()
	read := map[string]bool{}
	for k := range l.Keys() {
		e, err := n.nodes.Get(ctx, k)
		if err != nil {
			continue
		}
		read[k] = true
		if n.beats.see(k, e.Revision(), now) {
			continue // unrenewed for NodeTTL: dead, its key not yet removed
		}
		var s NodeStatus
		if json.Unmarshal(e.Value(), &s) == nil {
			out = append(out, s)
		}
	}
	n.beats.keep(read)
	slices.SortFunc(out, func(a, b NodeStatus) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return out, nil
}

// Status is the cluster as this node sees it.
type Status struct {
	Node      string       `json:"node"`
	Connected bool         `json:"connected"`
	Server    string       `json:"server"`
	Last      uint64       `json:"last"` // the bucket's last revision
	Nodes     []NodeStatus `json:"nodes"`
}

// Status lists the live nodes and the bucket's last revision.
func (n *Node) Status(ctx context.Context) (Status, error) {
	st := Status{Node: n.name, Connected: n.online(), Server: n.nc.ConnectedServerVersion()}
	if !st.Connected {
		return st, errUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	s, err := n.js.Stream(cctx, "KV_"+n.cfg.Prefix+"_pages")
	if err != nil {
		return st, err
	}
	st.Last = s.CachedInfo().State.LastSeq
	st.Nodes, err = n.Nodes(ctx)
	return st, err
}

func (n *Node) appliedSubject() string { return n.cfg.Prefix + ".applied" }

// startAppliedResponder answers "have you applied revision R?" once the
// node has: what WaitAll asks every live node.
func (n *Node) startAppliedResponder() {
	sub, err := n.nc.Subscribe(n.appliedSubject(), func(m *nats.Msg) {
		rev, err := strconv.ParseUint(string(m.Data), 10, 64)
		if err != nil {
			return
		}
		if n.applied.Load() >= rev {
			_ = m.Respond([]byte(n.name))
			return
		}
		ch := make(chan struct{})
		n.mu.Lock()
		n.appliedWait = append(n.appliedWait, appliedWaiter{rev, ch})
		n.mu.Unlock()
		if n.applied.Load() >= rev {
			n.applyDone(rev)
		}
		go func() {
			give := n.clock.NewTimer(n.cfg.LeaseTTL)
			defer give.Stop()
			select {
			case <-ch:
				_ = m.Respond([]byte(n.name))
			case <-give.C():
			case <-n.ctx.Done():
			}
		}()
	})
	if err != nil {
		n.log.Error("cluster: subscribe", "err", err)
		return
	}
	context.AfterFunc(n.ctx, func() { _ = sub.Unsubscribe() })
}

// applyDone wakes the waiters of revisions up to rev.
func (n *Node) applyDone(rev uint64) {
	n.mu.Lock()
	ws := n.appliedWait[:0]
	var done []chan struct{}
	for _, w := range n.appliedWait {
		if w.rev <= rev {
			done = append(done, w.ch)
		} else {
			ws = append(ws, w)
		}
	}
	n.appliedWait = ws
	n.mu.Unlock()
	for _, ch := range done {
		close(ch)
	}
}

// ErrNotApplied is WaitAll's answer when a live node did not apply the
// records in time.
var ErrNotApplied = errors.New("cluster: not every live node applied the records in time")

// WaitAll waits until every live node has applied the bucket's records of
// paths (as committed now).
func (n *Node) WaitAll(ctx context.Context, paths []string) error {
	if !n.online() {
		return errUnavailable
	}
	var rev uint64
	n.mu.Lock()
	for _, p := range paths {
		rev = max(rev, n.known[key(p)])
	}
	n.mu.Unlock()
	if rev == 0 {
		return nil
	}
	live, err := n.Nodes(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range live {
		want[s.Name] = true
	}
	want[n.name] = true
	inbox := n.nc.NewRespInbox()
	ch := make(chan *nats.Msg, len(want)+4)
	sub, err := n.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := n.nc.PublishRequest(n.appliedSubject(), inbox, []byte(strconv.FormatUint(rev, 10))); err != nil {
		return err
	}
	give := n.clock.NewTimer(n.cfg.LeaseTTL)
	defer give.Stop()
	for len(want) > 0 {
		select {
		case m := <-ch:
			delete(want, string(m.Data))
		case <-give.C():
			return fmt.Errorf("%w: waiting for %d node(s)", ErrNotApplied, len(want))
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for %d node(s): %w", ErrNotApplied, len(want), ctx.Err())
		}
	}
	return nil
}

var _ = jetstream.KeyValuePut

// Inspect connects to the cluster without joining it (no watch, no
// heartbeat) and returns its status: `kiln cluster status`.
func Inspect(ctx context.Context, c *config.Cluster) (Status, error) {
	n := &Node{cfg: c, name: c.NodeName(), timeout: DefaultTimeout, clock: isr.SystemClock(), beats: newSightings(c.NodeTTL)}
	nc, err := nats.Connect(strings.Join(c.URLs, ","), nats.Name("kiln cluster status"), nats.Timeout(DefaultTimeout))
	if err != nil {
		return Status{}, fmt.Errorf("cluster: connect to NATS %s: %w", strings.Join(c.URLs, ","), err)
	}
	defer nc.Close()
	n.nc = nc
	if err := n.setup(ctx); err != nil {
		return Status{}, err
	}
	n.up.Store(true)
	return n.Status(ctx)
}

// instanceKey is the local store's meta key holding the node's id.
const instanceKey = "cluster/instance"

// instanceID is the local store's node id, made at its first start in
// cluster mode and kept in the store: a node restarted on its store keeps
// it, and two processes never share a store (Pebble locks it), so two
// live heartbeats of one name with different ids are two nodes. A store
// that cannot keep it (a full disk) gets one for this run.
func instanceID(st store.Meta) (string, error) {
	if b, err := st.GetMeta(instanceKey); err == nil && len(b) > 0 {
		return string(b), nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	_ = st.SetMeta(instanceKey, []byte(id))
	return id, nil
}

// ErrNameInUse is Open's answer when another live node heartbeats under
// the name set in the cluster block.
var ErrNameInUse = errors.New("cluster: node name in use")

// claimName makes sure no other live node heartbeats under this node's
// name. Another node's heartbeat (another store's id) that is rewritten
// within NodeTTL is a live node: with the name set in the cluster block
// that stops the start; with the name left to its default, the hostname
// (two processes on one machine, a build next to a server), the node
// takes the hostname followed by its store id's first six digits, the
// same at every start on that store. A heartbeat not rewritten within
// NodeTTL is a node that died (started on another store before): the
// name is free.
func (n *Node) claimName(ctx context.Context) error {
	other, err := n.liveOther(ctx, n.name)
	if err != nil || other == "" {
		return err
	}
	if n.cfg.Node != "" || n.alone {
		return fmt.Errorf("%w: another live node heartbeats as %q (store id %s, this node's is %s): give each node its own name with node = \"...\" in the cluster block of site.hcl",
			ErrNameInUse, n.name, other, n.instance)
	}
	name := n.name + "-" + n.instance[:6]
	if other, err = n.liveOther(ctx, name); err != nil || other != "" {
		if err == nil {
			err = fmt.Errorf("%w: %q and %q are both taken by live nodes: give each node its own name with node = \"...\" in the cluster block of site.hcl", ErrNameInUse, n.name, name)
		}
		return err
	}
	n.log.Warn("cluster: another live node heartbeats under this host's name; this node takes another", "name", name, "taken", n.name)
	n.name, n.log = name, n.log.With("node", name)
	return nil
}

// nameTaken logs an error when another node's heartbeat holds this
// node's name: two started at once, or one started while NATS was away.
// Both keep running (a node does not stop serving over it), and both log
// it at every heartbeat until one is renamed.
func (n *Node) nameTaken(ctx context.Context) {
	e, err := n.lastFromLeader(ctx, n.cfg.Prefix+"_nodes", n.name)
	if err != nil || e == nil || e.deleted {
		return
	}
	var s NodeStatus
	if json.Unmarshal(e.data, &s) == nil && s.Instance != "" && s.Instance != n.instance {
		n.log.Error("cluster: another live node heartbeats under this node's name; give each node its own name with node = \"...\" in the cluster block of site.hcl",
			"name", n.name, "other_store_id", s.Instance)
	}
}

// liveOther is the store id of another live node heartbeating as name, ""
// if none. A heartbeat of another id is watched until it is rewritten
// (live), removed, or seen unchanged for NodeTTL (dead), polled on the
// node's clock every NodeTTL/20.
func (n *Node) liveOther(ctx context.Context, name string) (string, error) {
	seen := sighting{}
	var poll isr.Timer
	for {
		cctx, cancel := context.WithTimeout(ctx, n.timeout)
		e, err := n.lastFromLeader(cctx, n.cfg.Prefix+"_nodes", name)
		cancel()
		if err != nil {
			return "", fmt.Errorf("cluster: read heartbeat %s: %w", name, err)
		}
		if e == nil || e.deleted {
			return "", nil
		}
		var s NodeStatus
		if json.Unmarshal(e.data, &s) != nil || s.Instance == "" || s.Instance == n.instance {
			return "", nil // this node's own (a restart), or a Kiln that predates ids
		}
		now := n.clock.Now()
		if !seen.since.IsZero() && e.seq != seen.rev {
			return s.Instance, nil // rewritten: live
		}
		seen = seen.see(e.seq, now)
		if seen.expired(n.cfg.NodeTTL, now) {
			return "", nil
		}
		if poll == nil {
			poll = n.clock.NewTimer(n.cfg.NodeTTL / 20)
			defer poll.Stop()
		} else {
			poll.Reset(n.cfg.NodeTTL / 20)
		}
		select {
		case <-poll.C():
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}
