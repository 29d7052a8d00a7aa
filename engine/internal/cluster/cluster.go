// Package cluster runs a Kiln node as one of several sharing one page
// cache and one render lease table on NATS JetStream.
//
// What it owns, per site prefix P:
//   - P_pages, a KV bucket with every page record, whole (status,
//     headers, encodings, freshness, dependencies, tags, generation time
//     and node); a record larger than the server's max payload goes to
//     the object store P_bodies and the bucket holds a pointer to it;
//   - P_leases, a KV bucket of per-path render leases (compare-and-set
//     with a TTL, renewed while a render runs);
//   - P_nodes, a KV bucket of node heartbeats: a node is live while its
//     entry has not expired (Config.NodeTTL after its last heartbeat);
//   - P_revisions, a KV bucket of the committed revision per data source;
//   - P_jobs, a work-queue stream of data-change jobs, deduplicated by
//     message id.
//
// The node's Pebble store stays the place every request reads: Store
// wraps it so that every page the engine stores is published, and a watch
// of P_pages applies the other nodes' records to it (see apply for the
// rule that decides which record is newer).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// MinServerVersion is the oldest NATS server Kiln runs against: 2.10
// brought the KV and stream features the buckets rely on (per-bucket
// TTLs on replicated memory buckets, subject transforms left aside).
const MinServerVersion = "2.10.0"

// DefaultTimeout bounds every NATS call.
const DefaultTimeout = 2 * time.Second

// pingInterval is how often the client pings its server.
const pingInterval = time.Second

// Options configure a Node.
type Options struct {
	Config  *config.Cluster
	Store   store.Store // the local replica
	Logger  *slog.Logger
	Timeout time.Duration // per NATS call; default DefaultTimeout
	// JobAckWait is how long a pulled data-change job may go unacked
	// before another node gets it; default DefaultJobAckWait.
	JobAckWait time.Duration
	// Clock decides when a node's heartbeat or a render lease has gone
	// unrenewed too long, and how long Await waits; default the system
	// clock. The deadlines of NATS calls are real time.
	Clock isr.Clock
}

// Node is this process's membership of a cluster.
type Node struct {
	cfg      *config.Cluster
	name     string
	instance string // the local store's id (see instanceID)
	local    store.Store
	log      *slog.Logger
	clock    isr.Clock
	timeout  time.Duration
	// jobAckWait is the job consumer's AckWait.
	jobAckWait time.Duration

	nc     *nats.Conn
	js     jetstream.JetStream
	pages  jetstream.KeyValue
	bodies jetstream.ObjectStore
	leases jetstream.KeyValue
	nodes  jetstream.KeyValue
	revs   jetstream.KeyValue

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ready  chan struct{}
	kicker chan struct{} // republish now

	// paths serialize, per path, a local write with its publish, and
	// the watch's store of a record (see pathLock).
	paths [64]sync.Mutex

	mu          sync.Mutex
	known       map[string]uint64          // key -> last bucket revision seen or written
	dirty       map[string]bool            // paths stored locally, not yet published
	waiters     map[string][]chan struct{} // paths -> Await calls
	holding     map[string]bool            // paths whose lease a flight of this node holds
	appliedAt   map[string]time.Time       // path -> when its copy was stored here
	appliedWait []appliedWaiter

	// beats and leaseSeen are the heartbeats and the other nodes' leases
	// as this node saw them (see liveness.go).
	beats, leaseSeen *sightings

	up      atomic.Bool   // joined: buckets set up, watch started
	alone   bool          // NATS did not answer at start
	applied atomic.Uint64 // last bucket revision applied (watch order)
	lag     atomic.Uint64 // records behind the bucket's last, at the last apply
	stats   Stats
}

// Stats count what the node did, for /metrics.
type Stats struct {
	Published, Applied, Conflicts atomic.Uint64
	LeasesTaken, LeaseConflicts   atomic.Uint64
	LeaseTakeovers                atomic.Uint64
	JobsPulled, JobsRedelivered   atomic.Uint64
	PublishFailures, LiveNodes    atomic.Uint64
	Rewatches                     atomic.Uint64
}

// Open connects to NATS, checks the server, creates or updates the
// buckets and streams, and starts the watch that keeps the local store a
// replica. Ready is closed once the bucket's records have been applied.
func Open(ctx context.Context, opts Options) (*Node, error) {
	c := opts.Config
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.JobAckWait <= 0 {
		opts.JobAckWait = DefaultJobAckWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = isr.SystemClock()
	}
	instance, err := instanceID(opts.Store)
	if err != nil {
		return nil, fmt.Errorf("cluster: node id: %w", err)
	}
	n := &Node{
		cfg: c, name: c.NodeName(), instance: instance, local: opts.Store, log: opts.Logger.With("node", c.NodeName()), clock: opts.Clock,
		timeout: opts.Timeout, jobAckWait: opts.JobAckWait, ready: make(chan struct{}), kicker: make(chan struct{}, 1),
		known: map[string]uint64{}, dirty: map[string]bool{}, waiters: map[string][]chan struct{}{}, holding: map[string]bool{}, appliedAt: map[string]time.Time{},
		beats: newSightings(c.NodeTTL), leaseSeen: newSightings(c.LeaseTTL),
	}
	log := n.log // the connection's handlers keep the name the node started with
	connected := make(chan struct{}, 1)
	signal := func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	nopts := []nats.Option{
		nats.Name("kiln " + n.name), nats.Timeout(opts.Timeout), nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond), nats.ReconnectBufSize(-1),
		// A server lost without closing the connection (its machine or
		// the network gone) is noticed after two pings unanswered, 2 to
		// 3 s, not the client's default of 2 minutes each.
		nats.PingInterval(pingInterval), nats.MaxPingsOutstanding(2),
		// NATS away at start: the node serves its local replica and joins
		// the cluster once a server answers.
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(*nats.Conn) { signal() }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("cluster: NATS disconnected; serving the local replica", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("cluster: NATS reconnected", "server", nc.ConnectedUrlRedacted())
			signal()
			n.kick()
		}),
	}
	if creds := credsFile(c); creds != "" {
		nopts = append(nopts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(strings.Join(c.URLs, ","), nopts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS %s: %w", strings.Join(c.URLs, ","), err)
	}
	n.nc = nc
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if nc.IsConnected() {
		// Reached at start: what is wrong with the server (too old,
		// JetStream off) stops the start, said clearly.
		err := n.join(ctx)
		switch {
		case err == nil:
		case transient(err):
			// NATS answers but JetStream does not yet (no meta leader
			// while servers restart, a stream leader being elected):
			// serve the local replica and join when it does.
			n.alone = true
			n.log.Warn("cluster: JetStream not answering at start; serving the local replica, joining when it does", "err", err)
			n.wg.Go(func() { n.joinLater(connected) })
		default:
			n.Close()
			return nil, err
		}
	} else {
		n.alone = true
		n.log.Warn("cluster: NATS unreachable at start; serving the local replica, joining when it answers", "urls", strings.Join(c.URLs, ","))
		n.wg.Go(func() { n.joinLater(connected) })
	}
	n.wg.Go(n.republishLoop)
	return n, nil
}

// join sets up the buckets, makes sure no other live node has this
// node's name, and starts the watch, the applied responder and the
// heartbeat; the node is online from then on.
func (n *Node) join(ctx context.Context) error {
	if err := n.setup(ctx); err != nil {
		return err
	}
	if err := n.claimName(ctx); err != nil {
		return err
	}
	if err := n.startWatch(); err != nil {
		return err
	}
	n.startAppliedResponder()
	n.startInspectResponder()
	n.up.Store(true)
	n.wg.Go(n.heartbeat)
	n.kick() // what was stored alone meanwhile
	return nil
}

// transient reports a join that failed for lack of an answer in time,
// not because of what the server said (too old, JetStream off, a bad
// configuration): one to retry.
func transient(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		(errors.As(err, &apiErr) && apiErr.Code == 503)
}

// joinLater joins once NATS answers, retrying while the setup fails.
func (n *Node) joinLater(connected <-chan struct{}) {
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-connected:
		case <-time.After(time.Second):
		}
		if !n.nc.IsConnected() {
			continue
		}
		if err := n.join(n.ctx); err != nil {
			n.log.Error("cluster: join once NATS answered", "err", err)
			continue
		}
		n.log.Info("cluster: NATS reached; joined the cluster", "server", n.nc.ConnectedUrlRedacted())
		return
	}
}

// online reports whether the node has joined and reaches NATS now. The
// buckets are set once it has: check it before touching them.
func (n *Node) online() bool { return n.up.Load() && n.nc.IsConnected() }

func credsFile(c *config.Cluster) string {
	if c.CredsFile != "" {
		return c.CredsFile
	}
	if c.CredsEnv != "" {
		return envLookup(c.CredsEnv)
	}
	return ""
}

// setup checks the server and creates or updates every bucket and stream.
func (n *Node) setup(ctx context.Context) error {
	v := n.nc.ConnectedServerVersion()
	if !atLeast(v, MinServerVersion) {
		return fmt.Errorf("cluster: NATS server %s at %s is too old: Kiln needs %s or newer", v, n.nc.ConnectedUrlRedacted(), MinServerVersion)
	}
	js, err := jetstream.New(n.nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.js = js
	cctx, cancel := context.WithTimeout(ctx, 4*n.timeout)
	defer cancel()
	if _, err := js.AccountInfo(cctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("cluster: JetStream is off on the NATS server at %s: start nats-server with -js (or a jetstream block), and enable it for the account", n.nc.ConnectedUrlRedacted())
		}
		return fmt.Errorf("cluster: JetStream account info: %w", err)
	}
	p, r := n.cfg.Prefix, n.cfg.Replicas
	kv := func(name string, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		cfg.Bucket, cfg.Replicas = p+"_"+name, r
		b, err := js.CreateOrUpdateKeyValue(cctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("cluster: create or update KV bucket %s: %w", cfg.Bucket, err)
		}
		return b, nil
	}
	if n.pages, err = kv("pages", jetstream.KeyValueConfig{Description: "Kiln page records", History: 1}); err != nil {
		return err
	}
	if n.leases, err = kv("leases", jetstream.KeyValueConfig{Description: "Kiln render leases", History: 1, TTL: n.cfg.LeaseTTL, Storage: jetstream.MemoryStorage}); err != nil {
		return err
	}
	if n.nodes, err = kv("nodes", jetstream.KeyValueConfig{Description: "Kiln node heartbeats", History: 1, TTL: n.cfg.NodeTTL, Storage: jetstream.MemoryStorage}); err != nil {
		return err
	}
	if n.revs, err = kv("revisions", jetstream.KeyValueConfig{Description: "Kiln committed data-source revisions", History: 1}); err != nil {
		return err
	}
	n.bodies, err = js.CreateOrUpdateObjectStore(cctx, jetstream.ObjectStoreConfig{Bucket: p + "_bodies", Description: "Kiln page records over the max payload", Replicas: r})
	if err != nil {
		return fmt.Errorf("cluster: create or update object store %s_bodies: %w", p, err)
	}
	_, err = js.CreateOrUpdateStream(cctx, jetstream.StreamConfig{
		Name: p + "_jobs", Description: "Kiln data-change jobs", Subjects: []string{p + ".jobs.>"},
		Retention: jetstream.WorkQueuePolicy, Replicas: r, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("cluster: create or update stream %s_jobs: %w", p, err)
	}
	return nil
}

// atLeast reports whether version v (like "2.10.7") is min or newer.
func atLeast(v, min string) bool {
	parse := func(s string) [3]int {
		var out [3]int
		s, _, _ = strings.Cut(s, "-")
		for i, f := range strings.SplitN(s, ".", 3) {
			out[i], _ = strconv.Atoi(f)
		}
		return out
	}
	a, b := parse(v), parse(min)
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return true
}

// Name is this node's name.
func (n *Node) Name() string { return n.name }

// Ready is closed once the node has applied every record the bucket held
// when it started: it then serves every existing page without rendering.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Connected reports whether the node reaches NATS now.
func (n *Node) Connected() bool { return n.nc.IsConnected() }

// Joined reports whether the node has reached NATS since it started and
// set up its buckets.
func (n *Node) Joined() bool { return n.up.Load() }

// Serving is what the node's readiness endpoint says: ready once it has
// applied the bucket's records. A node that started without NATS is ready
// if its local replica holds pages, since it serves them, and stays so
// while it catches up once NATS answers (a load balancer is not made to
// drop a node that served a moment before); with an empty replica it
// would only render, or fail, so it waits for the catch-up.
func (n *Node) Serving() bool {
	select {
	case <-n.ready:
		return true
	default:
	}
	return n.alone && n.local.Stats().Pages > 0
}

// Stats are the node's counters.
func (n *Node) Stats() *Stats { return &n.stats }

// Close stops the watch and the heartbeat, removes the node's heartbeat
// and closes the connection.
func (n *Node) Close() error {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.online() {
		ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		_ = n.nodes.Delete(ctx, n.name)
		cancel()
	}
	n.nc.Close()
	return nil
}

// call is a context for one NATS call: it has a deadline.
func (n *Node) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(n.ctx, n.timeout)
}
