package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/store"
)

func envLookup(name string) string { return os.Getenv(name) }

// Which record is newer. A page's Version counts its renders: the store
// gives a render the Version of the page it was rendered from plus one,
// and a replica keeps the Version it was published with. So, per path:
//   - a higher Version is newer, wherever it was rendered;
//   - at an equal Version, two different renders (two nodes rendering
//     alone, NATS being down) are settled by the bucket: the one that
//     reached it first stays, the other node adopts it;
//   - the same render (same Version, node and generation time) only
//     gains StaleMarked.
//
// No clock is compared, except by a build (a page rendered by `kiln
// build` replaces a record generated before it, and only those): builds
// compare their render time with the record's, as a single node does.

// key is a path's KV key: base64url of the path, which may hold any byte.
func key(path string) string { return base64.RawURLEncoding.EncodeToString([]byte(path)) }

func pathOf(key string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(key)
	return string(b), err
}

// Value kinds in P_pages: a record inline, or the name of the object
// holding one that was too large.
const (
	valueInline = 0
	valueObject = 1
)

// Store is the local store with every page write published. Reads stay
// local: a hit never leaves the node.
type Store struct {
	store.Store
	n *Node
}

// Store wraps the local store.
func (n *Node) Store() *Store { return &Store{Store: n.local, n: n} }

// Put stores p locally, then publishes it; it returns once the record
// is committed in JetStream, or NATS failed (the page is then published
// when NATS returns).
func (s *Store) Put(p *store.Page, opts store.PutOptions) error {
	if !opts.Replica {
		cp := *p
		cp.Node = s.n.name
		p = &cp
	}
	defer s.n.pathLock(p.Path)()
	if err := s.Store.Put(p, opts); err != nil {
		return err
	}
	s.n.noteApplied(p.Path)
	s.n.publishPath(p.Path, opts.Build)
	return nil
}

// MarkStale marks the page locally and publishes the mark.
func (s *Store) MarkStale(path string) error {
	defer s.n.pathLock(path)()
	if err := s.Store.MarkStale(path); err != nil {
		return err
	}
	s.n.publishPath(path, false)
	return nil
}

// Delete removes the page locally and from the bucket, unless the
// bucket holds a newer record of the path than the page deleted here (by
// the rule above): that record stays, and is applied here again.
func (s *Store) Delete(path string, dequeue bool) error {
	defer s.n.pathLock(path)()
	old, _ := s.Store.Get(path)
	if err := s.Store.Delete(path, dequeue); err != nil {
		return err
	}
	s.n.forgetApplied(path)
	s.n.deleteRecord(path, old)
	return nil
}

// deleteRecord deletes path's bucket record if it is not newer than old,
// the local page the delete removed (nil if none). The record is read
// from the stream leader and deleted with compare-and-set on its
// revision, so a record written meanwhile is never removed unseen.
func (n *Node) deleteRecord(path string, old *store.Page) {
	if !n.online() {
		return
	}
	k := key(path)
	for range 8 {
		cur, crev, err := n.fetchLeader(k)
		if err != nil {
			n.log.Warn("cluster: delete record", "path", path, "err", err)
			return
		}
		if cur == nil {
			return // absent or deleted already
		}
		if old == nil || cur.Version > old.Version || (cur.Version == old.Version && !sameRender(cur, old)) {
			n.stats.Conflicts.Add(1)
			_ = n.adopt(cur) // newer than the page deleted: it stays
			return
		}
		ctx, cancel := n.call()
		err = n.pages.Delete(ctx, k, jetstream.LastRevision(crev))
		cancel()
		if err == nil {
			return
		}
		if !isWrongLastSequence(err) {
			n.log.Warn("cluster: delete record", "path", path, "err", err)
			return
		}
	}
	n.log.Warn("cluster: delete record: too many conflicts", "path", path)
}

// isWrongLastSequence reports a compare-and-set that met another
// revision.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		(errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant))
}

// publishPath publishes path's stored page; a failure leaves the path to
// publish again when NATS returns.
func (n *Node) publishPath(path string, build bool) {
	p, err := n.local.Get(path)
	if err != nil {
		return
	}
	if err := n.publish(p, build); err != nil {
		n.stats.PublishFailures.Add(1)
		n.log.Warn("cluster: publish failed; kept locally, published when NATS returns", "path", path, "err", err)
		n.mu.Lock()
		n.dirty[path] = true
		n.mu.Unlock()
	}
}

var errUnavailable = errors.New("cluster: NATS unavailable")

// publish writes p to the bucket with compare-and-set on the key's
// revision, under the rule above. A record in the bucket that wins is
// applied locally instead.
func (n *Node) publish(p *store.Page, build bool) error {
	if !n.online() {
		return errUnavailable
	}
	k := key(p.Path)
	for range 8 {
		n.mu.Lock()
		rev, known := n.known[k]
		n.mu.Unlock()
		val, err := n.encode(p)
		if err != nil {
			return err
		}
		ctx, cancel := n.call()
		if known && rev > 0 {
			rev, err = n.pages.Update(ctx, k, val, rev)
		} else {
			rev, err = n.pages.Create(ctx, k, val)
		}
		cancel()
		if err == nil {
			n.stats.Published.Add(1)
			n.setKnown(k, rev)
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err
		}
		n.stats.Conflicts.Add(1)
		// From the leader: a follower (one just restarted, say) may answer
		// with a revision older than the one this Update lost to.
		cur, crev, err := n.fetchLeader(k)
		if err != nil {
			return err
		}
		n.setKnown(k, crev)
		if cur == nil {
			continue // deleted meanwhile: create it again
		}
		switch {
		case build:
			if cur.Generated.After(p.Generated) {
				return n.adopt(cur)
			}
			cp := *p
			cp.Version = max(p.Version, cur.Version+1)
			p = &cp
		case cur.Version > p.Version:
			return n.adopt(cur)
		case cur.Version == p.Version && !sameRender(cur, p):
			return n.adopt(cur)
		case cur.Version == p.Version && cur.StaleMarked && !p.StaleMarked:
			return n.adopt(cur)
		}
	}
	return fmt.Errorf("cluster: publish %s: too many conflicts", p.Path)
}

func sameRender(a, b *store.Page) bool {
	return a.Version == b.Version && a.Node == b.Node && a.Generated.Equal(b.Generated)
}

// adopt stores a bucket record over the local one.
func (n *Node) adopt(p *store.Page) error {
	err := n.local.Put(p, store.PutOptions{Replica: true, NoSync: true})
	if err != nil && !errors.Is(err, store.ErrNewer) {
		return err
	}
	if err == nil {
		n.noteApplied(p.Path)
	}
	n.notify(p.Path)
	return nil
}

func (n *Node) setKnown(k string, rev uint64) {
	n.mu.Lock()
	if rev > n.known[k] {
		n.known[k] = rev
	}
	n.mu.Unlock()
}

// encode makes p's bucket value, storing it in the object store when it
// is too large for one message.
func (n *Node) encode(p *store.Page) ([]byte, error) {
	rec := store.EncodePage([]byte{valueInline}, p)
	if int64(len(rec)) <= n.nc.MaxPayload()-4096 {
		return rec, nil
	}
	name := fmt.Sprintf("%s.%d.%s", key(p.Path), p.Version, p.Node)
	ctx, cancel := context.WithTimeout(n.ctx, 4*n.timeout)
	defer cancel()
	if _, err := n.bodies.PutBytes(ctx, name, rec[1:]); err != nil {
		return nil, fmt.Errorf("store large record: %w", err)
	}
	return append([]byte{valueObject}, name...), nil
}

// decode reads a bucket value.
func (n *Node) decode(val []byte) (*store.Page, error) {
	if len(val) == 0 {
		return nil, fmt.Errorf("%w: empty record", store.ErrCorrupt)
	}
	switch val[0] {
	case valueInline:
		return store.DecodePage(val[1:])
	case valueObject:
		ctx, cancel := context.WithTimeout(n.ctx, 4*n.timeout)
		defer cancel()
		b, err := n.bodies.GetBytes(ctx, string(val[1:]))
		if err != nil {
			return nil, fmt.Errorf("read large record %s: %w", val[1:], err)
		}
		return store.DecodePage(b)
	}
	return nil, fmt.Errorf("%w: record kind %d", store.ErrCorrupt, val[0])
}

// decodeRetrying is decode, tried again with backoff (about 6 s in all)
// while the failure is not a corrupt record: a large record's object may
// not have reached the server this node reads from yet, or the read timed
// out under load. Giving up drops the record until the path's next one.
func (n *Node) decodeRetrying(val []byte) (*store.Page, error) {
	delay := 100 * time.Millisecond
	for try := 0; ; try++ {
		p, err := n.decode(val)
		if err == nil || errors.Is(err, store.ErrCorrupt) || try == 5 {
			return p, err
		}
		select {
		case <-n.ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// fetchLeader reads a key's record from the stream's leader: nil if
// absent or deleted, with the revision to compare-and-set on.
func (n *Node) fetchLeader(k string) (*store.Page, uint64, error) {
	ctx, cancel := n.call()
	defer cancel()
	e, err := n.lastFromLeader(ctx, n.cfg.Prefix+"_pages", k)
	if err != nil || e == nil {
		return nil, 0, err
	}
	if e.deleted {
		return nil, e.seq, nil
	}
	p, err := n.decode(e.data)
	return p, e.seq, err
}

// leaderEntry is a key's last message in a bucket's stream.
type leaderEntry struct {
	seq     uint64 // the key's revision
	deleted bool   // a delete or purge marker
	data    []byte
}

// lastFromLeader reads key k's last message in bucket from the stream's
// leader: nil if the key has none (never written, or expired). The bucket
// allows direct gets, which any server of the stream answers, and a
// follower may answer from a view a moment behind the last commit; the
// stream's own message-get API is answered by its leader alone.
func (n *Node) lastFromLeader(ctx context.Context, bucket, k string) (*leaderEntry, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": "$KV." + bucket + "." + k})
	msg, err := n.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+bucket, req)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Message *struct {
			Seq  uint64 `json:"seq"`
			Hdrs []byte `json:"hdrs"`
			Data []byte `json:"data"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("message get: %w", err)
	}
	if resp.Error != nil {
		if resp.Error.Code == 404 {
			return nil, nil
		}
		return nil, fmt.Errorf("message get: %s", resp.Error.Description)
	}
	if resp.Message == nil {
		return nil, errors.New("message get: empty answer")
	}
	m := resp.Message
	return &leaderEntry{seq: m.Seq, deleted: bytes.Contains(m.Hdrs, []byte("KV-Operation")), data: m.Data}, nil
}

// apply stores one watched record locally if it is newer than the local
// page (see the rule at the top of this file).
func (n *Node) apply(e jetstream.KeyValueEntry) {
	defer func() {
		// Never backwards: a watch recreated from a revision may deliver
		// records a check applied directly before it.
		for {
			cur := n.applied.Load()
			if e.Revision() <= cur || n.applied.CompareAndSwap(cur, e.Revision()) {
				break
			}
		}
		n.lag.Store(e.Delta())
	}()
	k := e.Key()
	n.mu.Lock()
	seen := n.known[k]
	if e.Revision() > seen {
		n.known[k] = e.Revision()
	}
	n.mu.Unlock()
	if e.Revision() <= seen {
		return // written by this node, or applied already
	}
	path, err := pathOf(k)
	if err != nil {
		n.log.Warn("cluster: bad key in bucket", "key", k)
		return
	}
	if h := applyHook.Load(); h != nil {
		(*h)(n, path)
	}
	defer n.pathLock(path)()
	n.mu.Lock()
	superseded := n.known[k] > e.Revision()
	n.mu.Unlock()
	if superseded {
		// This node wrote a newer revision over this one between the
		// moment the watch saw it and now (its publish compared against
		// this revision): storing it now would leave the node serving a
		// record the bucket no longer holds.
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		if err := n.local.Delete(path, false); err != nil {
			n.log.Error("cluster: apply delete", "path", path, "err", err)
		}
		n.forgetApplied(path)
		n.notify(path)
		return
	}
	p, err := n.decodeRetrying(e.Value())
	if err != nil {
		n.log.Error("cluster: bad record", "path", path, "err", err)
		return
	}
	cur, _ := n.local.Get(path)
	if cur != nil && sameRender(cur, p) && cur.StaleMarked == p.StaleMarked {
		return // already here (a restart's catch-up)
	}
	if cur != nil && cur.Version == p.Version && sameRender(cur, p) && cur.StaleMarked {
		return
	}
	err = n.local.Put(p, store.PutOptions{Replica: true, NoSync: true})
	if errors.Is(err, store.ErrNewer) {
		// Rendered here while NATS was away: published when it returns.
		n.mu.Lock()
		n.dirty[path] = true
		n.mu.Unlock()
		n.kick()
		return
	}
	if err != nil {
		n.log.Error("cluster: apply record", "path", path, "err", err)
		return
	}
	n.stats.Applied.Add(1)
	n.noteApplied(path)
	n.notify(path)
}

// pathLock locks path's stripe of n.paths and returns its unlock. It
// makes a local write and its publish one step for the watch: without
// it, the watch could store another node's record of the same version
// between this node's local write and its publish, and the node would
// serve that record while the bucket holds its own.
func (n *Node) pathLock(path string) func() {
	m := &n.paths[maphash.String(pathSeed, path)%uint64(len(n.paths))]
	m.Lock()
	return m.Unlock
}

var pathSeed = maphash.MakeSeed()

// applyHook, set by tests, runs in the watch between the moment a
// record's revision counts as seen and the moment it is stored: a test
// holds the watch there to force an interleaving.
var applyHook atomicHook[func(n *Node, path string)]

// atomicHook is a test hook, set and read without a race.
type atomicHook[F any] struct{ atomic.Pointer[F] }

// notify wakes the Await calls of path.
func (n *Node) notify(path string) {
	n.mu.Lock()
	ws := n.waiters[path]
	delete(n.waiters, path)
	n.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// republishEvery is how often pages whose publish failed are published
// again. A publish fails at once while the pages stream elects a leader
// (no server answers it), so this is how long after the election such a
// page reaches the other nodes, at most; with nothing to publish a tick
// costs nothing.
const republishEvery = 500 * time.Millisecond

// kick asks the republish loop to publish the dirty paths.
func (n *Node) kick() {
	select {
	case n.kicker <- struct{}{}:
	default:
	}
}

// republishLoop publishes the pages stored while NATS was away, or while
// a stream leader was being elected, on reconnect and every republishEvery.
func (n *Node) republishLoop() {
	t := time.NewTicker(republishEvery)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		case <-n.kicker:
		}
		if !n.online() {
			continue
		}
		n.mu.Lock()
		paths := make([]string, 0, len(n.dirty))
		for p := range n.dirty {
			paths = append(paths, p)
		}
		clear(n.dirty)
		n.mu.Unlock()
		for _, path := range paths {
			unlock := n.pathLock(path)
			n.publishPath(path, false)
			unlock()
		}
	}
}
