package cluster

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The pages watch applies every record of P_pages, then every change, in
// order. It is a KV watch: an ordered push consumer, R1 and in memory on
// one NATS server. When that server is lost, the client library notices
// only after two missed idle heartbeats of 5 s, and its new consumer, like
// any consumer, waits for the JetStream meta leader, which is being
// elected again if the lost server led it (4 to 9 s): the end-to-end test
// measured 7 to 19 s of silence on the node whose watch ran there.
//
// So every watchCheck the watch is checked against the bucket itself. A
// check that finds no progress since the previous one reads the first
// record past the last applied revision with a direct get, which any
// server holding the stream answers, with no stream or meta leader. Found
// by two checks in a row, it means the watch is stalled: the records past
// the last applied revision are read and applied that way, and the watch
// is recreated from there in the background. Until it is, each check
// applies what it finds, so a record reaches the node within two checks
// of its commit whatever became of the watch. A watch that closes is
// recreated the same way.
const (
	watchCheck = 500 * time.Millisecond
	// directBatch bounds the records one check applies directly; the
	// next check, or the recreated watch, applies the rest.
	directBatch = 256
)

// startWatch applies every record of the bucket, then every change.
func (n *Node) startWatch() error {
	w, err := n.pages.WatchAll(n.ctx)
	if err != nil {
		return fmt.Errorf("cluster: watch %s_pages: %w", n.cfg.Prefix, err)
	}
	n.wg.Go(func() { n.watch(w) })
	return nil
}

// watch runs the pages watch w until the node closes.
func (n *Node) watch(w jetstream.KeyWatcher) {
	defer func() { stopWatch(w) }()
	caughtUp := false
	synced := 0
	updates := w.Updates()
	var fresh chan jetstream.KeyWatcher // the watch being recreated
	var last uint64                     // n.applied at the previous check
	var waiting uint64                  // a revision past it found then
	check := time.NewTicker(watchCheck)
	defer check.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case e, ok := <-updates:
			if !ok {
				updates = nil // closed: recreated at the next check
				continue
			}
			if e == nil {
				if !caughtUp {
					caughtUp = true
					_ = n.local.Sync()
					close(n.ready)
					n.log.Info("cluster: caught up", "records", synced)
				}
				continue
			}
			n.apply(e)
			synced++
			if caughtUp {
				n.applyDone(e.Revision())
			}
		case nw := <-fresh:
			fresh = nil
			if nw != nil {
				stopWatch(w)
				w, updates = nw, nw.Updates()
			}
		case <-check.C:
			if !caughtUp {
				continue
			}
			why := ""
			if applied := n.applied.Load(); applied == last {
				next := n.nextRevision(applied)
				if next != 0 && next == waiting {
					why = "stalled"
				}
				waiting = next
			} else {
				waiting = 0
			}
			if updates == nil {
				why = "closed"
			}
			if why != "" {
				n.applyDirect()
				waiting = 0
				if fresh == nil {
					fresh = n.rewatch(why)
				}
			}
			last = n.applied.Load()
		}
	}
}

// stopWatch stops w and drains what its subscription still delivers, so
// that its callback, blocked on a full channel, is not left behind.
func stopWatch(w jetstream.KeyWatcher) {
	_ = w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}

// rewatch recreates the pages watch from the revision after the last
// applied one, in the background: creating a consumer may wait for a meta
// leader, and the checks go on meanwhile. The new watch, or nil if it
// could not be created (the next stalled check tries again), arrives on
// the channel returned.
func (n *Node) rewatch(why string) chan jetstream.KeyWatcher {
	ch := make(chan jetstream.KeyWatcher, 1)
	n.wg.Go(func() {
		from := n.applied.Load() + 1
		nw, err := n.pages.WatchAll(n.ctx, jetstream.ResumeFromRevision(from))
		if err != nil {
			n.log.Warn("cluster: pages watch "+why+"; recreating it failed", "err", err)
			ch <- nil
			return
		}
		n.stats.Rewatches.Add(1)
		n.log.Warn("cluster: pages watch "+why+"; recreated", "from_revision", from)
		ch <- nw
	})
	return ch
}

// applyDirect applies the records past the last applied revision, read
// with direct gets, up to directBatch of them.
func (n *Node) applyDirect() {
	for range directBatch {
		e, err := n.direct(n.applied.Load() + 1)
		if err != nil || e == nil {
			return
		}
		n.apply(e)
		n.applyDone(e.Revision())
	}
}

// nextRevision is the first revision of the bucket from applied+1 on, 0
// if there is none or no server answered.
func (n *Node) nextRevision(applied uint64) uint64 {
	e, err := n.direct(applied + 1)
	if err != nil || e == nil {
		return 0
	}
	return e.rev
}

// direct reads the first record of the pages bucket from revision seq on,
// nil if there is none yet. It is a direct get: any server holding the
// stream answers it, from its own copy (which may trail the leader's by a
// moment: the next check sees the rest).
func (n *Node) direct(seq uint64) (*directEntry, error) {
	if !n.online() {
		return nil, errUnavailable
	}
	bucket := n.cfg.Prefix + "_pages"
	prefix := "$KV." + bucket + "."
	req, _ := json.Marshal(map[string]any{"seq": seq, "next_by_subj": prefix + ">"})
	ctx, cancel := n.call()
	defer cancel()
	m, err := n.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET.KV_"+bucket, req)
	if err != nil {
		return nil, err
	}
	if st := m.Header.Get("Status"); st != "" {
		if st == "404" {
			return nil, nil
		}
		return nil, fmt.Errorf("direct get: %s %s", st, m.Header.Get("Description"))
	}
	rev, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("direct get: sequence %q", m.Header.Get("Nats-Sequence"))
	}
	subj := m.Header.Get("Nats-Subject")
	if len(subj) <= len(prefix) {
		return nil, fmt.Errorf("direct get: subject %q", subj)
	}
	created, _ := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
	op := jetstream.KeyValuePut
	switch m.Header.Get("KV-Operation") {
	case "DEL":
		op = jetstream.KeyValueDelete
	case "PURGE":
		op = jetstream.KeyValuePurge
	}
	return &directEntry{bucket: bucket, key: subj[len(prefix):], value: m.Data, rev: rev, created: created, op: op}, nil
}

// directEntry is a record read with a direct get, as a watch would have
// delivered it.
type directEntry struct {
	bucket, key string
	value       []byte
	rev         uint64
	created     time.Time
	op          jetstream.KeyValueOp
}

var _ jetstream.KeyValueEntry = (*directEntry)(nil)

func (e *directEntry) Bucket() string                  { return e.bucket }
func (e *directEntry) Key() string                     { return e.key }
func (e *directEntry) Value() []byte                   { return e.value }
func (e *directEntry) Revision() uint64                { return e.rev }
func (e *directEntry) Created() time.Time              { return e.created }
func (e *directEntry) Delta() uint64                   { return 0 } // unknown
func (e *directEntry) Operation() jetstream.KeyValueOp { return e.op }
