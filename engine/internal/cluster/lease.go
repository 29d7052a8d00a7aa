package cluster

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// Lease takes path's render lease in P_leases with compare-and-set.
// held is true when another node holds it: that node renders, and this
// one picks its page up from the watch. err means the cluster could not
// tell (NATS away): the caller renders alone. The lease is renewed while
// the render runs, and expires Config.LeaseTTL after its holder stops
// renewing it (a node that died).
//
// Before it returns a lease, Lease applies the bucket's record of path if
// it is newer than the local one: a render that landed elsewhere just
// before is used, not repeated.
func (n *Node) Lease(ctx context.Context, path string) (release func(), held bool, err error) {
	if !n.online() {
		return nil, false, errUnavailable
	}
	k := key(path)
	cctx, cancel := context.WithTimeout(ctx, n.timeout)
	rev, err := n.leases.Create(cctx, k, []byte(n.name))
	cancel()
	// A Create over a released (deleted) lease is a compare-and-set on
	// the delete marker's revision: a node that loses that race gets
	// "wrong last sequence", not ErrKeyExists. Both mean held.
	if isWrongLastSequence(err) {
		n.stats.LeaseConflicts.Add(1)
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
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
		cctx, cancel := context.WithTimeout(n.ctx, n.timeout)
		defer cancel()
		if err := n.leases.Delete(cctx, k, jetstream.LastRevision(rev)); err != nil && n.nc.IsConnected() {
			n.log.Debug("cluster: release lease", "path", path, "err", err)
		}
	}, false, nil
}

// Await waits until the local store holds a page of path with a Version
// above after (the lease holder's, applied from the watch), for at most
// the lease TTL: past it the holder is taken for dead. It returns nil and
// an error if none came.
func (n *Node) Await(ctx context.Context, path string, after uint64) (*store.Page, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaseTTL+n.timeout)
	defer cancel()
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
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
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
