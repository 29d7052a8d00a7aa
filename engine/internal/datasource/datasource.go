// Package datasource runs the site's data-source plugins and is the
// engine's only door to them.
//
// A Supervisor starts every plugin as a child process over hashicorp/go-plugin
// (gRPC, through pluginhost), configures it, serves renderers' reads
// through Data, forwards the plugins' change events on Events, and restarts
// crashed plugins with backoff, forever: a source that keeps failing is
// reported degraded (Health) and retried at the maximum backoff until it
// comes back. Event delivery is at least once: the engine acknowledges
// processed events with Commit, the revision is persisted, and Watch
// resumes from it after a plugin crash or an engine restart.
package datasource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Revisions persists the last committed revision per data source. The
// engine passes its store; GetMeta returns store.ErrNotFound when absent.
type Revisions interface {
	GetMeta(key string) ([]byte, error)
	SetMeta(key string, value []byte) error
}

// Options configure a Supervisor.
type Options struct {
	Logger *slog.Logger // default slog.Default()
	// Executable is the kiln binary; built-in plugins run as
	// `<Executable> plugin <name>`.
	Executable string
	// Builtins names the plugins built into Executable (builtin.Names);
	// a data_source naming another is an error at Start.
	Builtins  []string
	Revisions Revisions // nil keeps revisions in memory only
	// TempDir holds the engine's private folder for plugin sockets and
	// verified executables; default os.TempDir().
	TempDir string

	policy      policy // zero: defaultPolicy; tests shorten it
	clock       clock  // nil: the wall clock; tests inject one
	afterVerify func() // tests swap the executable here
}

// Change is one change event from a data source.
type Change struct {
	Source   string
	Revision uint64
	Key      string
	Value    []byte // nil when Deleted
	Deleted  bool
}

// Sentinel errors.
var (
	ErrUnknown = errors.New("datasource: unknown")
	ErrClosed  = errors.New("datasource: closed")
)

// eventBuffer is how many changes may wait for the engine.
const eventBuffer = 256

// Supervisor owns the plugin processes.
type Supervisor struct {
	opts   Options
	log    *slog.Logger
	byName map[string]*instance
	all    []*instance
	events chan Change
	// sendMu and eventsClosed keep a watch stream from sending on events
	// while Close closes it.
	sendMu       sync.RWMutex
	eventsClosed bool

	policy policy
	clock  clock
	run    *runDir // sockets and verified executables

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // run loops
	once   sync.Once
}

// Start starts and configures every data source, in parallel. It fails,
// returning every such error at once and stopping the other plugins, only
// for errors the user must fix in site.hcl: a config the plugin rejects
// (diagnostics not marked transient), an unknown built-in plugin. A source
// that cannot start for any other reason (it crashes, times out, its
// checksum differs, its database is down) leaves the engine running
// without it: its renders fail with render.ErrUnavailable and it is
// retried with backoff until it comes up.
func Start(ctx context.Context, sources []*config.DataSource, opts Options) (*Supervisor, error) {
	s, err := newSupervisor(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, ds := range sources {
		in := newInstance(s, ds)
		s.byName[ds.Name], s.all = in, append(s.all, in)
	}
	if err := s.startAll(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.log.Debug("data sources started", "run_dir", s.run.path)
	for _, in := range s.all {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			in.run(s.ctx)
		}()
	}
	return s, nil
}

func newSupervisor(ctx context.Context, opts Options) (*Supervisor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Supervisor{opts: opts, log: opts.Logger, byName: map[string]*instance{}, events: make(chan Change, eventBuffer),
		policy: opts.policy, clock: opts.clock}
	if s.policy == (policy{}) {
		s.policy = defaultPolicy
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	run, err := openRunDir(opts.TempDir, s.log)
	if err != nil {
		return nil, fmt.Errorf("datasource: %w", err)
	}
	s.run = run
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return s, nil
}

func (s *Supervisor) startAll(ctx context.Context) error {
	errs := make([]error, len(s.all))
	var wg sync.WaitGroup
	for i, in := range s.all {
		wg.Go(func() { errs[i] = in.first(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops every plugin and closes Events. It waits for the processes
// to exit.
func (s *Supervisor) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		var wg sync.WaitGroup
		for _, in := range s.all {
			wg.Go(in.stop)
		}
		wg.Wait()
		s.sendMu.Lock()
		s.eventsClosed = true
		close(s.events)
		s.sendMu.Unlock()
		if err := s.run.Close(); err != nil {
			s.log.Warn("cannot remove the plugins' run folder", "error", err)
		}
	})
	return nil
}

// Events delivers every source's changes, in revision order per source
// and at least once: after a plugin restart or an engine restart, changes
// after the last Commit are delivered again. It is closed by Close.
func (s *Supervisor) Events() <-chan Change { return s.events }

// Commit records that the engine has durably processed source's events up
// to revision. Watch resumes after it following a crash or restart.
func (s *Supervisor) Commit(source string, revision uint64) error {
	in, ok := s.byName[source]
	if !ok {
		return fmt.Errorf("%w data source %q", ErrUnknown, source)
	}
	return in.commit(revision)
}

func revisionKey(name string) string { return "datasource/" + name + "/revision" }

// loadRevision reads a source's committed revision; absent means 0.
func (s *Supervisor) loadRevision(name string) (uint64, error) {
	if s.opts.Revisions == nil {
		return 0, nil
	}
	b, err := s.opts.Revisions.GetMeta(revisionKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load revision: %w", err)
	}
	rev, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("load revision: %w", err)
	}
	return rev, nil
}

func (s *Supervisor) saveRevision(name string, rev uint64) error {
	if s.opts.Revisions == nil {
		return nil
	}
	if err := s.opts.Revisions.SetMeta(revisionKey(name), []byte(strconv.FormatUint(rev, 10))); err != nil {
		return fmt.Errorf("datasource %s: save revision: %w", name, err)
	}
	return nil
}
