package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultMaxMemory   = 128 << 20
	DefaultMaxResponse = 16 << 20
	DefaultIdleTimeout = 30 * time.Second
)

// ErrClosed is returned by a closed Runtime or Renderer.
var ErrClosed = errors.New("render: closed")

// Config describes one renderer module.
type Config struct {
	Name     string // the renderer's name from site.hcl
	WasmPath string
	// Pool is the most instances there may be: at most Pool renders of
	// this renderer run at once. Instances are created as renders need
	// them; one stays warm. Default twice runtime.NumCPU(), as
	// config.DefaultPool (site.hcl's default, which callers pass).
	Pool int
	// Eager keeps the compiled module from Load on, for a caller that
	// renders with every renderer at once (kiln build): its first render
	// then does not read wazero's cache a second time. By default Load
	// checks the module and lets it go until the first render.
	Eager bool
	// MemoryBudget bounds the linear memory of all the instances
	// together; no instance is created past it. 0 means no bound but
	// Pool × MaxMemory.
	MemoryBudget uint64
	// IdleTimeout closes an instance, beyond the warm one, unused for
	// this long. Default 30s.
	IdleTimeout time.Duration
	// Timeout stops a render that runs longer. Default 2s.
	Timeout time.Duration
	// MaxMemory caps an instance's linear memory. Default 128 MiB.
	MaxMemory uint64
	// HighWater replaces an instance whose memory ends a render above it.
	// Default 3/4 of MaxMemory.
	HighWater uint64
	// MaxResponse fails a render whose encoded response is larger.
	// Default 16 MiB.
	MaxResponse int
	// Budgets of one render; passing one fails it with ErrBudget.
	// MaxLog bounds the bytes logged (stdout, stderr and kiln.log
	// together; default 1 MiB), MaxDependencies the keys and prefixes
	// read (default 10,000), MaxTags the tags (default 128).
	MaxLog, MaxDependencies, MaxTags int
	// Data answers the renderer's data reads. Nil means no data: every
	// key is missing and every list empty.
	Data Data
	// Assets answers the reserved keys kiln:asset:NAME with the public URL
	// of the static file NAME. Nil means no assets.
	Assets func(name string) (url string, ok bool)
	// Env is the module's WASI environment; nothing else of the engine's
	// environment is visible to it.
	Env map[string]string
	// Logger receives the renderer's logs; default the Runtime's.
	Logger *slog.Logger
	// Profiler, when set, records where the renders spend their time
	// (see Profiler). The module is compiled for it: renders are slower.
	Profiler *Profiler

	// stop is how a timeout stops a render; only benchmarks and tests
	// change it from stopAuto.
	stop stopMode
	// now is the pool's clock; nil is time.Now. Tests set it.
	now func() time.Time
}

// stopMode is how a running render is stopped.
type stopMode int

const (
	stopAuto   stopMode = iota // guard instrumentation, else wazero's checks
	stopWazero                 // wazero's WithCloseOnContextDone only
	stopNone                   // nothing: a runaway render never stops
)

func (c Config) withDefaults(rt *Runtime) Config {
	if c.Pool <= 0 {
		c.Pool = 2 * runtime.NumCPU()
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	c.MaxMemory = min(max(c.MaxMemory, 1<<16), 1<<32)
	if c.HighWater == 0 || c.HighWater > c.MaxMemory {
		c.HighWater = c.MaxMemory / 4 * 3
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = DefaultMaxResponse
	}
	c.MaxLog = positiveOr(c.MaxLog, DefaultMaxLog)
	c.MaxDependencies = positiveOr(c.MaxDependencies, DefaultMaxDependencies)
	c.MaxTags = positiveOr(c.MaxTags, DefaultMaxTags)
	if c.Logger == nil {
		c.Logger = rt.logger
	}
	c.Logger = c.Logger.With("renderer", c.Name)
	return c
}

func positiveOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Runtime compiles and runs renderer modules. It holds one wazero runtime
// per distinct memory limit, all sharing one compilation cache, so a module
// is compiled to machine code once per content and reused across restarts.
type Runtime struct {
	cache  wazero.CompilationCache
	onDisk bool // the compilation cache is on disk
	guard  guardCache
	logger *slog.Logger

	mu      sync.Mutex
	engines map[engineKey]*engine
	closed  bool
}

// engineKey selects a wazero runtime: wazero sets the memory limit and
// termination checks per runtime, not per module.
type engineKey struct {
	pages  uint32
	checks bool      // wazero's WithCloseOnContextDone, for modules without a guard
	prof   *Profiler // a profiled renderer's own runtime, host functions listened to
}

// engine is one wazero runtime with the WASI and kiln host modules.
type engine struct {
	rt   wazero.Runtime
	wasi map[string]api.FunctionDefinition
}

// NewRuntime returns a Runtime whose compilation cache lives in cacheDir
// (created if needed), with the instrumented modules in its subdirectory
// guard. An empty cacheDir keeps the compilation cache in memory and
// instruments modules at every load.
func NewRuntime(ctx context.Context, cacheDir string, logger *slog.Logger) (*Runtime, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cache := wazero.NewCompilationCache()
	var guard guardCache
	onDisk := cacheDir != ""
	if cacheDir != "" {
		guard.dir = filepath.Join(cacheDir, "guard")
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("render: cache dir: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("render: cache dir: %w", err)
		}
		cache = c
	}
	return &Runtime{cache: cache, onDisk: onDisk, guard: guard, logger: logger, engines: map[engineKey]*engine{}}, nil
}

// Close closes every wazero runtime and the compilation cache. Close the
// Renderers first.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil
	}
	rt.closed = true
	var errs []error
	for _, e := range rt.engines {
		errs = append(errs, e.rt.Close(ctx))
	}
	errs = append(errs, rt.cache.Close(ctx))
	return errors.Join(errs...)
}

// engine returns the wazero runtime for key, creating it on first use.
func (rt *Runtime) engine(ctx context.Context, key engineKey) (*engine, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	if e := rt.engines[key]; e != nil {
		return e, nil
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(rt.cache).
		WithMemoryLimitPages(key.pages).
		WithCloseOnContextDone(key.checks)
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	_, err := wasi_snapshot_preview1.Instantiate(ctx, r)
	if err == nil {
		_, err = hostModule(r).Instantiate(ctx)
	}
	if err == nil {
		_, err = guardHostModule(r).Instantiate(ctx)
	}
	if err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("render: host modules: %w", err)
	}
	e := &engine{rt: r, wasi: r.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()}
	rt.engines[key] = e
	return e, nil
}

// Load checks the module at cfg.WasmPath: it compiles it (or takes it
// from the cache), checks it against the ABI and starts one instance,
// which proves the module starts, then lets go of both. The module is
// compiled again, from the cache, for the renderer's first call (see
// wasmRenderer.module): a renderer that a start never calls holds no
// machine code, decoded module or instance.
func (rt *Runtime) Load(ctx context.Context, cfg Config) (Renderer, error) {
	cfg = cfg.withDefaults(rt)
	bin, err := os.ReadFile(cfg.WasmPath)
	if err != nil {
		return nil, fmt.Errorf("load renderer %s: %w", cfg.Name, err)
	}
	r := &wasmRenderer{cfg: cfg, rt: rt, sum: sha256.Sum256(bin)}
	if err := r.validate(ctx, bin); err != nil {
		return nil, fmt.Errorf("load renderer %s: %s: %w", cfg.Name, cfg.WasmPath, err)
	}
	return r, nil
}

// validate compiles bin, checks it and starts one instance. The compiled
// module is kept when the Runtime has no cache on disk, where compiling
// it again would not be a cache read, and when the renderer is Eager.
func (r *wasmRenderer) validate(ctx context.Context, bin []byte) error {
	e, compiled, exports, guarded, err := r.rt.compile(ctx, r.cfg, bin)
	if err != nil {
		return err
	}
	r.exports, r.guarded = exports, guarded
	inst, err := r.newInstance(ctx, e, compiled)
	if err == nil {
		inst.close()
	}
	if err == nil && (!r.rt.onDisk || r.cfg.Eager) {
		r.engine, r.compiled = e, compiled
		return nil
	}
	compiled.Close(ctx)
	return err
}

// compile checks bin and compiles it, instrumented with a guard (see
// instrument) when possible, else on a runtime with wazero's termination
// checks. guarded says which.
func (rt *Runtime) compile(ctx context.Context, cfg Config, bin []byte) (*engine, wazero.CompiledModule, exportSet, bool, error) {
	if !bytes.HasPrefix(bin, []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, nil, exportSet{}, false, errNotWasm
	}
	pages := uint32((cfg.MaxMemory + 0xffff) >> 16)
	if cfg.Profiler != nil {
		ctx = experimental.WithFunctionListenerFactory(ctx, cfg.Profiler)
	}
	if cfg.stop == stopAuto {
		guardedBin, err := rt.guard.instrument(bin, cfg.Logger)
		if err == nil {
			e, cm, exports, err := rt.compileOn(ctx, engineKey{pages: pages, prof: cfg.Profiler}, guardedBin)
			if !errors.Is(err, errCompile) {
				return e, cm, exports, err == nil, err
			}
		}
		cfg.Logger.Info("renderer runs with wazero termination checks (slower)", "reason", err)
	}
	e, cm, exports, err := rt.compileOn(ctx, engineKey{pages: pages, checks: cfg.stop != stopNone, prof: cfg.Profiler}, bin)
	return e, cm, exports, false, err
}

func (rt *Runtime) compileOn(ctx context.Context, key engineKey, bin []byte) (*engine, wazero.CompiledModule, exportSet, error) {
	e, err := rt.engine(ctx, key)
	if err != nil {
		return nil, nil, exportSet{}, err
	}
	cm, exports, err := compile(ctx, e, bin)
	return e, cm, exports, err
}
