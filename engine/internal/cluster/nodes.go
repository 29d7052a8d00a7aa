package cluster

import (
	"context"
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
)

// NodeStatus is one live node, as its heartbeat says.
type NodeStatus struct {
	Name      string    `json:"name"`
	Applied   uint64    `json:"applied"`   // last bucket revision applied
	Lag       uint64    `json:"lag"`       // records behind the bucket's last when it applied it
	Connected bool      `json:"connected"` // reaches NATS (always true in a heartbeat)
	Started   time.Time `json:"started"`   // on its own clock, for people
}

type appliedWaiter struct {
	rev uint64
	ch  chan struct{}
}

// heartbeat writes the node's entry in P_nodes every NodeTTL/3: a node is
// live until NodeTTL after its last heartbeat.
func (n *Node) heartbeat() {
	started := time.Now()
	beat := func() {
		if !n.online() {
			return
		}
		b, _ := json.Marshal(NodeStatus{Name: n.name, Applied: n.applied.Load(), Lag: n.lag.Load(), Connected: true, Started: started})
		ctx, cancel := n.call()
		defer cancel()
		if _, err := n.nodes.Put(ctx, n.name, b); err != nil {
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

// Nodes lists the live nodes.
func (n *Node) Nodes(ctx context.Context) ([]NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	l, err := n.nodes.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []NodeStatus
	for k := range l.Keys() {
		e, err := n.nodes.Get(ctx, k)
		if err != nil {
			continue
		}
		var s NodeStatus
		if json.Unmarshal(e.Value(), &s) == nil {
			out = append(out, s)
		}
	}
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
			select {
			case <-ch:
				_ = m.Respond([]byte(n.name))
			case <-time.After(n.cfg.LeaseTTL):
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
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaseTTL)
	defer cancel()
	for len(want) > 0 {
		select {
		case m := <-ch:
			delete(want, string(m.Data))
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for %d node(s)", ErrNotApplied, len(want))
		}
	}
	return nil
}

var _ = jetstream.KeyValuePut

// Inspect connects to the cluster without joining it (no watch, no
// heartbeat) and returns its status: `kiln cluster status`.
func Inspect(ctx context.Context, c *config.Cluster) (Status, error) {
	n := &Node{cfg: c, name: c.NodeName(), timeout: DefaultTimeout}
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
