package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Lease takes path's render lease in P_leases with compare-and-set.
// held is true when another node holds it (or another flight of this
// one): that node renders, and this one picks its page up from the
// watch. err means the cluster could not tell (NATS away): the caller
// renders alone. The lease is renewed while the render runs, and expires
// Config.LeaseTTL after its holder stops renewing it (a node that died).
//
// Before it returns a lease, Lease applies the bucket's record of path if
// it is newer than the local one: a render that landed elsewhere just
// before is used, not repeated.
func (n *Node) Lease(ctx context.Context, path string) (release func(), held bool, err error) {
	if !n.online() {
		return nil, false, errUnavailable
	}
	if !n.hold(path) {
		n.stats.LeaseConflicts.Add(1)
		return nil, true, nil
	}
	k := key(path)
	rev, held, err := n.take(ctx, k)
	if err != nil || held {
		n.unhold(path)
		if held {
			n.stats.LeaseConflicts.Add(1)
		}
		return nil, held, err
	}
	n.stats.LeasesTaken.Add(1)
	n.catchUp(path)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() { // renew at a third of the TTL
		defer close(stopped)
		t := time.NewTicker(n.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-n.ctx.Done():
				return
			case <-t.C:
				cctx, cancel := context.WithTimeout(n.ctx, n.timeout)
				r, err := n.leases.Update(cctx, k, []byte(n.name), rev)
				cancel()
				if err != nil {
					n.log.Warn("cluster: renew lease", "path", path, "err", err)
					continue
				}
				rev = r
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		defer n.unhold(path)
		if err := n.giveBack(k, rev); err != nil && n.nc.IsConnected() {
			n.log.Debug("cluster: release lease", "path", path, "err", err)
		}
	}, false, nil
}

// giveBack deletes lease key k with compare-and-set on rev, the holder's
// last write. A delete refused because that write is still being applied
// (error 10164) is tried again after a moment: left in place, the lease
// would look held to every node until it expired.
func (n *Node) giveBack(k string, rev uint64) error {
	backoff := time.Millisecond
	for try := 0; ; try++ {
		cctx, cancel := context.WithTimeout(n.ctx, n.timeout)
		err := n.leases.Delete(cctx, k, jetstream.LastRevision(rev))
		cancel()
		if err == nil || !isApplying(err) || try == 7 {
			return err
		}
		if err := sleepCtx(n.ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, 16*time.Millisecond)
	}
}

// take writes this node's name to lease key k with compare-and-set on
// what the stream leader holds for k, a view that has every committed
// write (a follower's may still show a lease released a moment ago):
//   - nothing (never taken, or expired): revision 0, a create;
//   - a delete marker (released): the marker's revision;
//   - this node's own name: a lease this node released whose delete
//     has not applied yet, or one left by its previous run; no flight of
//     it holds the lease now (hold says so), so it is taken over;
//   - another node's name, seen unrenewed for LeaseTTL on this node's
//     clock (see liveness.go): its holder is dead and the bucket's TTL
//     has not removed it yet; taken over;
//   - another node's name: held.
//
// A write that loses to another one reads again; one refused because
// another write of the key is still being applied (error 10164) is tried
// again after a moment.
func (n *Node) take(ctx context.Context, k string) (rev uint64, held bool, err error) {
	backoff := time.Millisecond
	for range 10 {
		cctx, cancel := context.WithTimeout(ctx, n.timeout)
		e, err := n.lastFromLeader(cctx, n.cfg.Prefix+"_leases", k)
		cancel()
		if err != nil {
			return 0, false, err
		}
		var last uint64
		own, expired := false, false
		if e != nil {
			last = e.seq
			own = !e.deleted && string(e.data) == n.name
			if !e.deleted && !own {
				if expired = n.leaseSeen.see(k, e.seq, n.clock.Now()); !expired {
					return 0, true, nil
				}
			}
		}
		cctx, cancel = context.WithTimeout(ctx, n.timeout)
		rev, err = n.leases.Update(cctx, k, []byte(n.name), last)
		cancel()
		switch {
		case err == nil:
			if own {
				n.stats.LeaseTakeovers.Add(1)
			}
			if expired {
				n.log.Info("cluster: took over a lease its holder stopped renewing", "holder", string(e.data), "ttl", n.cfg.LeaseTTL)
			}
			n.leaseSeen.forget(k)
			return rev, false, nil
		case isApplying(err):
			if err := sleepCtx(ctx, backoff); err != nil {
				return 0, false, err
			}
			backoff = min(2*backoff, 16*time.Millisecond)
		case !isWrongLastSequence(err):
			return 0, false, err
		}
	}
	// Always beaten to the key: other nodes are taking it.
	return 0, true, nil
}

// isApplying reports a compare-and-set refused because another write of
// the same key is still being applied by the stream (JetStream API error
// 10164, "wrong last sequence" of a replicated stream): the outcome is
// not known yet, so the caller reads again, soon.
func isApplying(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold marks path's lease as held by a flight of this node, false if one
// holds it already. It is what tells this node's own released lease
// (taken over) from one a flight of it still holds (held).
func (n *Node) hold(path string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.holding[path] {
		return false
	}
	n.holding[path] = true
	return true
}

func (n *Node) unhold(path string) {
	n.mu.Lock()
	delete(n.holding, path)
	n.mu.Unlock()
}

// released reports whether path's lease is free on the stream leader:
// absent, deleted, another node's unrenewed for LeaseTTL (take takes it
// over), or this node's own with no flight of it holding it.
func (n *Node) released(ctx context.Context, path string) (bool, error) {
	k := key(path)
	cctx, cancel := context.WithTimeout(ctx, n.timeout)
	e, err := n.lastFromLeader(cctx, n.cfg.Prefix+"_leases", k)
	cancel()
	if err != nil {
		return false, err
	}
	if e == nil || e.deleted {
		n.leaseSeen.forget(k)
		return true, nil
	}
	if string(e.data) != n.name {
		return n.leaseSeen.see(k, e.seq, n.clock.Now()), nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.holding[path], nil
}

// Await waits until the local store holds a page of path with a Version
// above after (the lease holder's, applied from the watch), for at most
// the lease TTL (and a NATS call's timeout) on the node's clock: past it
// the holder is taken for dead. It returns nil and an error if none came,
// and isr.ErrLeaseReleased as soon as the lease is released (on the
// stream leader), or seen unrenewed for the lease TTL, with no such page
// stored: the holder rendered nothing, or died, and the caller may take
// the lease itself.
func (n *Node) Await(ctx context.Context, path string, after uint64) (p *store.Page, err error) {
	defer func() {
		if !errors.Is(err, isr.ErrLeaseReleased) {
			// Done with the lease; one released asks for it again, and
			// take decides on what this wait saw.
			n.leaseSeen.forget(key(path))
		}
	}()
	wait := n.cfg.LeaseTTL + n.timeout
	give := n.clock.NewTimer(wait)
	defer give.Stop()
	poll := n.clock.NewTimer(0)
	defer poll.Stop()
	backoff := 20 * time.Millisecond
	for {
		w := make(chan struct{})
		n.mu.Lock()
		n.waiters[path] = append(n.waiters[path], w)
		n.mu.Unlock()
		if p, err := n.local.Get(path); err == nil && p.Version > after {
			return p, nil
		}
		select {
		case <-w:
		case <-poll.C():
			if p, err := n.checkRelease(ctx, path, after); p != nil || err != nil {
				return p, err
			}
			backoff = min(2*backoff, n.cfg.LeaseTTL/8)
			poll.Reset(backoff)
		case <-give.C():
			return nil, fmt.Errorf("cluster: no page of %s from the lease holder within %s: %w", path, wait, context.DeadlineExceeded)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// checkRelease is one poll of Await: once the lease is released, the
// holder's record (committed before the release) is read from the pages
// leader, and either it is newer than after or the lease was released
// without a page.
func (n *Node) checkRelease(ctx context.Context, path string, after uint64) (*store.Page, error) {
	free, err := n.released(ctx, path)
	if err != nil || !free {
		return nil, nil // NATS slow or away: the watch or the deadline ends the wait
	}
	n.catchUp(path)
	if p, err := n.local.Get(path); err == nil && p.Version > after {
		return p, nil
	}
	return nil, isr.ErrLeaseReleased
}

// catchUp runs once a lease is taken: the previous holder released it
// only after its record was committed, but this node's watch may not have
// applied that record yet (or may be applying it right now: the watch
// counts a revision as seen before it stores the page). So the path's
// record is read from the stream leader, which has every committed write,
// and adopted when it is newer than the local page by the rule of
// replica.go. The caller then finds it in the store and does not render.
func (n *Node) catchUp(path string) {
	cur, _, err := n.fetchLeader(key(path))
	if err != nil {
		n.log.Debug("cluster: read record under lease", "path", path, "err", err)
		return
	}
	if cur == nil {
		return
	}
	local, _ := n.local.Get(path)
	if local == nil || local.Version < cur.Version || (local.Version == cur.Version && !sameRender(local, cur)) {
		_ = n.adopt(cur)
	}
}
