// Package site assembles a running Kiln site from its config: the page
// store, the data-source plugins, the renderers and the ISR engine. It is
// the one place where things are started, in order, and closed, in
// reverse order; when a step fails, the steps before it are undone.
package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/assets"
	"github.com/kilnhq/kiln/engine/internal/builtin"
	"github.com/kilnhq/kiln/engine/internal/cluster"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

// Options say how to open a site.
type Options struct {
	Logger     *slog.Logger
	Out        io.Writer // progress messages for people; default io.Discard
	Executable string    // the kiln binary, re-run as `kiln plugin NAME`
	OnData     func()    // called after each batch of data changes is committed (kiln dev)
	// Background loads the renderers after Open returns: stored pages are
	// served at once, and renders wait for their module (kiln serve on a
	// store that already has pages).
	Background bool
	// Eager keeps every renderer's compiled module from the start (kiln
	// build uses them all at once); by default a module is checked at
	// start and loaded at its first render.
	Eager    bool
	CacheDir string    // wasm compilation cache; default <store>/wazero
	Clock    isr.Clock // the engine's clock; default the system clock
}

// Site is an open site.
type Site struct {
	Config    *config.Site
	Store     store.Store
	Assets    *assets.Set
	Plugins   *datasource.Supervisor
	Runtime   *render.Runtime
	Renderers map[string]render.Renderer
	Routes    *router.Table
	Engine    *isr.Engine
	Metrics   *metrics.Metrics
	Cluster   *cluster.Node // nil on a single node

	log         *slog.Logger
	out         io.Writer
	rendererErr chan error // the renderers' load result, once known
	closers     []func() error
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// Open starts everything a site needs to serve or build.
func Open(ctx context.Context, cfg *config.Site, opts Options) (_ *Site, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	s := &Site{Config: cfg, log: opts.Logger, out: opts.Out, Renderers: map[string]render.Renderer{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	steps := []func(context.Context, Options) error{
		s.openStore, s.joinCluster, s.loadAssets, s.startPlugins, s.loadRenderers, s.startEngine,
	}
	for _, step := range steps {
		if err := step(ctx, opts); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Site) onClose(fn func() error) { s.closers = append(s.closers, fn) }

// Close stops the engine, the renderers and the plugins, and closes the
// store, in that order.
func (s *Site) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Site) openStore(ctx context.Context, opts Options) error {
	// The store holds every page, previews and drafts included, and the
	// admin socket: only its owner may enter it, whatever the umask made
	// of the files inside (an older store is tightened too).
	if err := os.MkdirAll(s.Config.StoreDir, 0o700); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := os.Chmod(s.Config.StoreDir, 0o700); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	// The store's read-only probe runs on the engine's clock.
	st, err := store.Open(s.Config.StoreDir, store.Options{HotCacheBytes: s.Config.HotCacheBytes, Clock: opts.Clock})
	if err != nil {
		return fmt.Errorf("open store %s: %w", s.Config.StoreDir, err)
	}
	s.Store = st
	s.onClose(st.Close)
	s.Metrics = metrics.New(func() (int64, int64, int64, int64, int64) {
		st := s.Store.Stats()
		return st.Pages, st.DiskBytes, st.HotBytes, st.HotHits, st.HotMisses
	})
	s.Metrics.WatchStoreReadOnly(func() bool { return s.Store.Stats().ReadOnly })
	return nil
}

// joinCluster, with a cluster block, makes the store a replica of the
// cluster's pages: every page stored is published, every page published
// elsewhere is applied.
//
// NATS unreachable at start: a server (opts.Background) serves its local
// replica and joins when NATS answers; a build, which exists to publish,
// fails.
func (s *Site) joinCluster(ctx context.Context, opts Options) error {
	if s.Config.Cluster == nil {
		return nil
	}
	n, err := cluster.Open(ctx, cluster.Options{Config: s.Config.Cluster, Store: s.Store, Logger: s.log})
	if err != nil {
		return err
	}
	s.Cluster = n
	s.onClose(n.Close)
	if !n.Joined() && !opts.Background {
		return fmt.Errorf("cluster: NATS %s unreachable", strings.Join(s.Config.Cluster.URLs, ","))
	}
	s.Store = n.Store()
	n.Register(s.Metrics.Registry)
	if !n.Joined() {
		fmt.Fprintf(s.out, "  cluster %q: NATS unreachable; serving the local replica as node %s, joining when NATS answers\n", s.Config.Cluster.Prefix, n.Name())
		return nil
	}
	select { // catch up before serving: a new node then renders nothing stored
	case <-n.Ready():
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(s.out, "  joined cluster %q on NATS as node %s\n", s.Config.Cluster.Prefix, n.Name())
	return nil
}

func (s *Site) loadAssets(context.Context, Options) error {
	var dirs []assets.Dir
	for _, st := range s.Config.Static {
		dirs = append(dirs, assets.Dir{Prefix: st.Prefix, Path: st.Dir})
	}
	set, err := assets.Load(dirs)
	s.Assets = set
	return err
}

func (s *Site) startPlugins(ctx context.Context, opts Options) error {
	if len(s.Config.DataSources) == 0 {
		return nil
	}
	start := time.Now()
	var revs datasource.Revisions = s.Store
	if s.Cluster != nil { // resume where the cluster stopped
		revs = s.Cluster.Revisions(s.Store)
	}
	sup, err := datasource.Start(ctx, s.Config.DataSources, datasource.Options{
		Logger: s.log, Executable: opts.Executable, Builtins: builtin.Names(), Revisions: revs,
	})
	if err != nil {
		return err
	}
	s.Plugins = sup
	s.onClose(sup.Close)
	s.Metrics.WatchDataSources(func() []metrics.DataSourceState { return sourceStates(sup.Health()) })
	up := 0
	for _, h := range sup.Health() {
		if h.State == datasource.StateUp {
			up++
		}
	}
	fmt.Fprintf(s.out, "  started %d of %d data source(s) in %s\n", up, len(s.Config.DataSources), round(time.Since(start)))
	return nil
}

// sourceStates turns the supervisor's health into the metrics' view.
func sourceStates(hs []datasource.SourceHealth) []metrics.DataSourceState {
	out := make([]metrics.DataSourceState, len(hs))
	for i, h := range hs {
		out[i] = metrics.DataSourceState{Name: h.Name, Up: h.State == datasource.StateUp, Degraded: h.State == datasource.StateDegraded, Restarts: h.Restarts}
	}
	return out
}

func (s *Site) loadRenderers(ctx context.Context, opts Options) error {
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(s.Config.StoreDir, "wazero")
	}
	rt, err := render.NewRuntime(ctx, cacheDir, s.log)
	if err != nil {
		return fmt.Errorf("start wasm runtime: %w", err)
	}
	s.Runtime = rt
	s.onClose(func() error { return rt.Close(context.Background()) })
	for _, rc := range s.Config.Renderers {
		s.Renderers[rc.Name] = newLive(rc.Name)
	}
	s.onClose(func() error { // before the runtime: pools stop their instantiations
		var errs []error
		for _, r := range s.Renderers {
			errs = append(errs, r.Close(context.Background()))
		}
		return errors.Join(errs...)
	})
	s.rendererErr = make(chan error, 1)
	load := func(ctx context.Context) error {
		err := s.buildAndLoad(ctx, opts)
		s.rendererErr <- err
		return err
	}
	if !opts.Background {
		return load(ctx)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := load(context.Background()); err != nil {
			s.log.Error("renderers failed to load; pages that need them answer 500", "err", err)
		}
	}()
	return nil
}

// RenderersLoaded waits until the renderers are loaded and returns the
// error loading them, if any.
func (s *Site) RenderersLoaded() error {
	err := <-s.rendererErr
	s.rendererErr <- err
	return err
}

// buildAndLoad builds stale renderers and loads every module, in parallel.
func (s *Site) buildAndLoad(ctx context.Context, opts Options) error {
	if err := s.BuildRenderers(ctx); err != nil {
		for _, r := range s.Renderers {
			r.(*live).loaded(nil, err)
		}
		return err
	}
	start := time.Now()
	errs := make([]error, len(s.Config.Renderers))
	var wg sync.WaitGroup
	for i, rc := range s.Config.Renderers {
		wg.Add(1)
		go func() { // compile (or load from the cache) and warm up in parallel
			defer wg.Done()
			r, err := s.Runtime.Load(ctx, s.renderConfig(rc, opts))
			if err != nil {
				err = fmt.Errorf("load renderer %q: %w", rc.Name, err)
			}
			errs[i] = err
			s.Renderers[rc.Name].(*live).loaded(r, err)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "  loaded %d renderer(s) in %s\n", len(s.Config.Renderers), round(time.Since(start)))
	return nil
}

func (s *Site) renderConfig(rc *config.Renderer, opts Options) render.Config {
	var data render.Data
	if rc.Data != "" && s.Plugins != nil {
		data = s.Plugins.Data(rc.Data)
	}
	c := RenderConfig(s.Config, rc, data, s.Assets.Lookup)
	c.Eager = opts.Eager
	return c
}

// RenderConfig is what the render package needs of a renderer block:
// its module, limits and budgets, its data and the site's assets.
func RenderConfig(cfg *config.Site, rc *config.Renderer, data render.Data, assets func(string) (string, bool)) render.Config {
	return render.Config{
		Name: rc.Name, WasmPath: WasmPath(cfg, rc), Pool: rc.Pool, Timeout: rc.Timeout,
		MaxMemory: rc.MaxMemory, MaxResponse: rc.MaxResponse, Data: data, Assets: assets,
		Env: rc.Env, MemoryBudget: rc.MemoryBudget, IdleTimeout: rc.IdleTimeout,
		MaxLog: rc.MaxLog, MaxDependencies: rc.MaxDependencies, MaxTags: rc.MaxTags,
	}
}

// WasmPath is where a renderer's module is: its `wasm`, or for a Go
// source package, a file in the store's build directory.
func WasmPath(cfg *config.Site, rc *config.Renderer) string {
	if rc.Wasm != "" {
		return rc.Wasm
	}
	return filepath.Join(cfg.StoreDir, "build", rc.Name+".wasm")
}

// BuildRenderers builds every renderer whose module is missing or older
// than its sources, in parallel.
func (s *Site) BuildRenderers(ctx context.Context) error {
	start := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		built []string
	)
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	for _, rc := range s.Config.Renderers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			did, err := BuildRenderer(ctx, s.Config, rc)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("build renderer %q: %w", rc.Name, err))
			} else if did {
				built = append(built, rc.Name)
			}
		}()
	}
	wg.Wait()
	if len(built) > 0 {
		fmt.Fprintf(s.out, "  built %d renderer(s) to wasm in %s: %v\n", len(built), round(time.Since(start)), built)
	}
	return errors.Join(errs...)
}

// BuildRenderer builds one renderer's module if it is stale.
func BuildRenderer(ctx context.Context, cfg *config.Site, rc *config.Renderer) (bool, error) {
	out := WasmPath(cfg, rc)
	if rc.Source != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return false, err
		}
		return render.BuildGo(ctx, rc.Source, out)
	}
	if len(rc.Build) > 0 {
		return render.RunBuild(ctx, cfg.Dir, rc.Build, out, rc.Watch)
	}
	return false, nil
}

func (s *Site) startEngine(ctx context.Context, opts Options) error {
	routes, err := router.New(s.Config.Routes)
	if err != nil {
		return err
	}
	s.Routes = routes
	var leaser isr.Leaser
	if s.Cluster != nil {
		leaser = s.Cluster
	}
	s.Engine = isr.New(isr.Options{
		Site: s.Config, Pages: s.Store, Queue: s.Store, History: s.Store, Routes: routes,
		Renderers: s.Renderers, Logger: s.log, Metrics: s.Metrics, Workers: max(2, runtime.NumCPU()),
		Clock: opts.Clock, Leaser: leaser,
	})
	s.onClose(func() error { s.Engine.Close(); return nil })
	if err := s.Engine.Start(); err != nil {
		return err
	}
	if s.Plugins != nil {
		s.consumeChanges(opts.OnData)
	}
	return nil
}

// consumeChanges feeds data-source change events to the engine.
func (s *Site) consumeChanges(onData func()) {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	var c isr.Committer = s.Plugins
	if onData != nil {
		c = notifyCommitter{c, onData}
	}
	if s.Cluster != nil { // one regeneration per change cluster-wide
		s.Cluster.RunJobs(ctx, cluster.JobOptions{Changes: s.Plugins.Events(), Committer: c, Regenerate: s.Engine.RegenerateFor})
		return
	}
	s.wg.Go(func() { s.Engine.Consume(ctx, s.Plugins.Events(), c) })
}

// notifyCommitter calls fn after each commit (`kiln dev` reloads the tab).
type notifyCommitter struct {
	isr.Committer
	fn func()
}

func (n notifyCommitter) Commit(source string, revision uint64) error {
	err := n.Committer.Commit(source, revision)
	n.fn()
	return err
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}
