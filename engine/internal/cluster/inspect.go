package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/config"
)

// Copy is one node's copy of a page, as `kiln inspect` shows it: every
// live node answers a request on P.inspect with its local record.
type Copy struct {
	Node        string    `json:"node"`
	Stored      bool      `json:"stored"`
	Version     uint64    `json:"version,omitempty"`
	GeneratedBy string    `json:"generated_by,omitempty"` // the node that rendered it
	Generated   time.Time `json:"generated,omitzero"`
	StaleMarked bool      `json:"stale_marked,omitempty"`
	// AppliedAt is when this node stored the copy from the bucket (or
	// rendered it); zero when it did so before its last start.
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

func (n *Node) inspectSubject() string { return n.cfg.Prefix + ".inspect" }

// noteApplied records when path's current copy was stored here.
func (n *Node) noteApplied(path string) {
	n.mu.Lock()
	n.appliedAt[path] = n.clock.Now()
	n.mu.Unlock()
}

func (n *Node) forgetApplied(path string) {
	n.mu.Lock()
	delete(n.appliedAt, path)
	n.mu.Unlock()
}

// startInspectResponder answers P.inspect requests (a path) with this
// node's Copy.
func (n *Node) startInspectResponder() {
	sub, err := n.nc.Subscribe(n.inspectSubject(), func(m *nats.Msg) {
		path := string(m.Data)
		c := Copy{Node: n.name}
		if p, err := n.local.Get(path); err == nil {
			c.Stored, c.Version, c.GeneratedBy, c.Generated, c.StaleMarked = true, p.Version, p.Node, p.Generated, p.StaleMarked
			n.mu.Lock()
			c.AppliedAt = n.appliedAt[path]
			n.mu.Unlock()
		}
		b, _ := json.Marshal(c)
		_ = m.Respond(b)
	})
	if err != nil {
		n.log.Error("cluster: subscribe", "err", err)
		return
	}
	context.AfterFunc(n.ctx, func() { _ = sub.Unsubscribe() })
}

// InspectPath asks every live node of the cluster for its copy of path:
// `kiln inspect` in cluster mode. It waits for the live nodes' answers
// for at most DefaultTimeout; a node that did not answer is left out.
func InspectPath(ctx context.Context, c *config.Cluster, path string) ([]Copy, error) {
	nc, err := nats.Connect(strings.Join(c.URLs, ","), nats.Name("kiln inspect"), nats.Timeout(DefaultTimeout))
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS %s: %w", strings.Join(c.URLs, ","), err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	want := map[string]bool{}
	if js, err := jetstream.New(nc); err == nil {
		if kv, err := js.KeyValue(ctx, c.Prefix+"_nodes"); err == nil {
			if l, err := kv.ListKeys(ctx); err == nil {
				for k := range l.Keys() {
					want[k] = true
				}
			}
		}
	}
	inbox := nc.NewRespInbox()
	ch := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(c.Prefix+".inspect", inbox, []byte(path)); err != nil {
		return nil, err
	}
	var out []Copy
	for {
		select {
		case m := <-ch:
			var cp Copy
			if json.Unmarshal(m.Data, &cp) == nil {
				out = append(out, cp)
				delete(want, cp.Node)
			}
			if len(want) > 0 {
				continue
			}
		case <-ctx.Done():
		}
		break
	}
	slices.SortFunc(out, func(a, b Copy) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}
