package render

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// notImplemented is what kiln_paths or kiln_fallback return, without
// answering or failing, to say the module does not implement them.
const notImplemented = -1

// wasmRenderer runs one module with a pool of instances. Load checks the
// module; the first call loads it (see module).
type wasmRenderer struct {
	cfg     Config
	rt      *Runtime
	sum     [sha256.Size]byte // of the module Load checked
	exports exportSet
	guarded bool // instrumented: a timeout trips the guard global

	mu      sync.Mutex
	loading *loadCall // the load under way, if any
	loaded  bool      // engine, compiled and pool are set, until Release
	calls   int       // calls using the pool: Release waits for none
	wg      sync.WaitGroup

	engine   *engine
	compiled wazero.CompiledModule
	pool     *pool

	created atomic.Int64 // instances the pool ever created, for tests
	closed  atomic.Bool  // changed under mu
}

// loadCall is one load of the module; its waiters read err once done
// is closed.
type loadCall struct {
	done chan struct{}
	err  error
}

var _ Renderer = (*wasmRenderer)(nil)

// instance is one instantiated module; it serves one call at a time.
type instance struct {
	mod            api.Module
	fns            map[string]api.Function
	stdout, stderr *lineWriter
	logs           *logBudget // what the running call has logged

	mem       uint64    // linear memory as the pool last counted it
	idleSince time.Time // when it last went back to the pool
}

// memory is the size of the instance's linear memory: what it may have
// made resident.
func (i *instance) memory() uint64 { return uint64(i.mod.Memory().Size()) }

func (i *instance) close() {
	i.stdout.Flush()
	i.stderr.Flush()
	i.mod.Close(context.Background())
}

// newInstance instantiates compiled on e with a sandboxed WASI (no
// files, arguments or sockets; only the environment from site.hcl) and
// runs _initialize.
func (r *wasmRenderer) newInstance(ctx context.Context, e *engine, compiled wazero.CompiledModule) (*instance, error) {
	logs := &logBudget{limit: r.cfg.MaxLog}
	inst := &instance{
		stdout: newLineWriter(r.cfg.Logger.With("stream", "stdout"), logs),
		stderr: newLineWriter(r.cfg.Logger.With("stream", "stderr"), logs),
		logs:   logs,
		fns:    map[string]api.Function{},
	}
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithStdout(inst.stdout).WithStderr(inst.stderr).
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
	for _, k := range slices.Sorted(maps.Keys(r.cfg.Env)) {
		mc = mc.WithEnv(k, r.cfg.Env[k])
	}
	mod, err := e.rt.InstantiateModule(withMappedMemory(ctx), compiled, mc)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	inst.mod = mod
	if r.exports.initialize {
		ictx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		defer cancel()
		if _, err := mod.ExportedFunction("_initialize").Call(ictx); err != nil {
			inst.close()
			return nil, fmt.Errorf("_initialize: %w", budgetOr(err))
		}
	}
	for _, name := range []string{abi.ExportRender, abi.ExportPaths, abi.ExportFallback} {
		if fn := mod.ExportedFunction(name); fn != nil {
			inst.fns[name] = fn
		}
	}
	return inst, nil
}

// module makes sure the module is compiled and its pool started, and
// counts the call in until done: the first call loads it, from wazero's
// cache on disk (Load compiled it there). Calls that come meanwhile wait
// for the same load; one that gives up leaves it running for the others.
// A failed load is tried again by the next call. On nil, the caller uses
// r.pool and calls done once it has given its instance back.
func (r *wasmRenderer) module(ctx context.Context) error {
	for {
		r.mu.Lock()
		switch {
		case r.closed.Load():
			r.mu.Unlock()
			return ErrClosed
		case r.loaded:
			r.calls++
			r.mu.Unlock()
			return nil
		}
		c := r.loading
		if c == nil {
			c = &loadCall{done: make(chan struct{})}
			r.loading = c
			r.wg.Add(1)
			go r.load(c)
		}
		r.mu.Unlock()
		select {
		case <-c.done:
			if c.err != nil {
				return c.err
			}
			// Loaded: count the call in (or load again, if the module
			// was released in between).
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// done ends a call module let in.
func (r *wasmRenderer) done() {
	r.mu.Lock()
	r.calls--
	r.mu.Unlock()
}

// Release unloads the module while no call uses it and none is loading
// it: its instances are closed, and its compiled code too when wazero's
// cache is on disk, so the next call loads it again as the first call
// after Load does. It reports whether it released anything. kiln serve
// releases every renderer once its start-up check of the build-time paths
// is done: start-up is not load (RATIONALE.md).
func (r *wasmRenderer) Release(ctx context.Context) bool {
	r.mu.Lock()
	if !r.loaded || r.calls > 0 || r.loading != nil || r.closed.Load() {
		r.mu.Unlock()
		return false
	}
	p := r.pool
	r.pool, r.loaded = nil, false
	var compiled wazero.CompiledModule
	if r.rt.onDisk && !r.cfg.Eager {
		compiled = r.compiled
		r.engine, r.compiled = nil, nil
	}
	r.mu.Unlock()
	p.close()
	if compiled != nil {
		compiled.Close(ctx)
	}
	return true
}

// load runs one load and hands its outcome to the waiting calls.
func (r *wasmRenderer) load(c *loadCall) {
	defer r.wg.Done()
	ctx := context.Background()
	p, err := r.open(ctx)
	r.mu.Lock()
	switch {
	case err == nil && r.closed.Load(): // Close closes the module
		err = ErrClosed
		p.close()
	case err == nil:
		r.pool, r.loaded = p, true
	}
	r.loading = nil
	c.err = err
	r.mu.Unlock()
	close(c.done)
}

// open compiles the module Load checked (a read of wazero's cache) and
// starts its pool with one instance. The module file must not have
// changed since Load: the module that runs is the one checked at start.
func (r *wasmRenderer) open(ctx context.Context) (*pool, error) {
	if r.compiled == nil {
		bin, err := os.ReadFile(r.cfg.WasmPath)
		if err != nil {
			return nil, fmt.Errorf("load module: %w", err)
		}
		if sha256.Sum256(bin) != r.sum {
			return nil, fmt.Errorf("load module: %s changed since kiln started; restart kiln to use it", r.cfg.WasmPath)
		}
		e, compiled, _, _, err := r.rt.compile(ctx, r.cfg, bin)
		if err != nil {
			return nil, fmt.Errorf("load module: %w", err)
		}
		r.engine, r.compiled = e, compiled
	}
	p := newPool(&r.cfg, r.creator(r.engine, r.compiled))
	if err := p.start(ctx); err != nil {
		p.close()
		if r.rt.onDisk {
			r.compiled.Close(ctx)
			r.engine, r.compiled = nil, nil
		}
		return nil, fmt.Errorf("load module: %w", err)
	}
	return p, nil
}

// creator is a pool's way to start an instance of compiled on e. The
// pool keeps them, not r: a pool's creations in the background outlive a
// Release of r (its close waits for them).
func (r *wasmRenderer) creator(e *engine, compiled wazero.CompiledModule) func(context.Context) (*instance, error) {
	return func(ctx context.Context) (*instance, error) {
		inst, err := r.newInstance(ctx, e, compiled)
		if err == nil {
			r.created.Add(1)
		}
		return inst, err
	}
}

func (r *wasmRenderer) Name() string { return r.cfg.Name }

// Close closes the instances and the compiled module, once a load under
// way has ended.
func (r *wasmRenderer) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return nil
	}
	r.closed.Store(true)
	r.mu.Unlock()
	r.wg.Wait()
	if r.pool != nil {
		r.pool.close()
	}
	if r.compiled != nil {
		return r.compiled.Close(ctx)
	}
	return nil
}

func (r *wasmRenderer) Render(ctx context.Context, req Request) (*Response, error) {
	answer, deps, err := r.call(ctx, abi.ExportRender, req)
	if err != nil {
		return nil, r.wrap(req, err)
	}
	resp, err := decodeResponse(answer)
	if err != nil {
		return nil, r.wrap(req, err)
	}
	if err := checkTags(resp, r.cfg.MaxTags); err != nil {
		return nil, r.wrap(req, err)
	}
	resp.Deps = deps
	return resp, nil
}

// pathsTimeout is the least time a paths export gets: it lists every
// build-time path (a 100,000-post blog's post renderer reads the whole
// index in 0.6 s on an idle machine and passed the 2 s render timeout on
// a busy one, failing the build), once per build or start, so it is
// bounded like Next.js's getStaticPaths (staticPageGenerationTimeout,
// 60 s), not like a page.
const pathsTimeout = time.Minute

func (r *wasmRenderer) Paths(ctx context.Context, req Request) ([]string, bool, error) {
	if !r.exports.paths {
		return nil, false, nil
	}
	req.Timeout = max(req.Timeout, r.cfg.Timeout, pathsTimeout)
	answer, _, err := r.call(ctx, abi.ExportPaths, req)
	if errors.Is(err, errNotImplemented) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, r.wrap(req, err)
	}
	paths, err := decodePaths(answer)
	if err != nil {
		return nil, false, r.wrap(req, err)
	}
	return paths, true, nil
}

func (r *wasmRenderer) Fallback(ctx context.Context, req Request) (*Response, bool, error) {
	if !r.exports.fallback {
		return nil, false, nil
	}
	answer, _, err := r.call(ctx, abi.ExportFallback, req)
	if errors.Is(err, errNotImplemented) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, r.wrap(req, err)
	}
	resp, err := decodeResponse(answer)
	if err == nil {
		err = checkTags(resp, r.cfg.MaxTags)
	}
	if err != nil {
		return nil, false, r.wrap(req, err)
	}
	return resp, true, nil
}

func (r *wasmRenderer) wrap(req Request, err error) error {
	path := req.Path
	if path == "" {
		path = req.Route
	}
	return fmt.Errorf("render %s %s: %w", r.cfg.Name, path, err)
}

var errNotImplemented = errors.New("export not implemented")

// call runs one export on an instance from the pool and returns the raw
// answer and the dependencies read. The instance goes back to the pool
// unless the call trapped, timed out, exited or left memory above the
// high-water mark.
func (r *wasmRenderer) call(ctx context.Context, export string, req Request) ([]byte, Deps, error) {
	if err := r.module(ctx); err != nil {
		return nil, Deps{}, err
	}
	defer r.done()
	inst, err := r.pool.get(ctx)
	if err != nil {
		return nil, Deps{}, err
	}
	st := &callState{cfg: &r.cfg, req: encodeRequest(req), path: req.Path, logs: inst.logs}
	st.deps.budget.limit = r.cfg.MaxDependencies
	inst.logs.reset(r.cfg.MaxLog)
	timeout := r.cfg.Timeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	code, broken, err := r.run(ctx, inst, export, st, timeout)
	if broken || inst.mod.Memory().Size() > uint32(min(r.cfg.HighWater, 1<<32-1)) {
		r.pool.discard(inst)
	} else {
		r.pool.put(inst)
	}
	if err = outcome(st, export, code, err); err != nil {
		return nil, st.deps.Deps, err
	}
	return st.answer, st.deps.Deps, nil
}

// run calls the export under the timeout. broken says the instance must
// not be used again.
func (r *wasmRenderer) run(ctx context.Context, inst *instance, export string, st *callState, timeout time.Duration) (code int32, broken bool, err error) {
	cctx, cancel := context.WithTimeout(context.WithValue(ctx, stateKey{}, st), timeout)
	defer cancel()
	if r.cfg.Profiler != nil {
		var end func()
		cctx, end = r.cfg.Profiler.begin(cctx)
		defer end()
	}
	st.ctx = cctx
	res, err := inst.fns[export].Call(cctx, uint64(len(st.req)))
	if err == nil {
		return int32(res[0]), false, nil
	}
	var exit *sys.ExitError
	var budget *budgetError
	switch {
	case ctx.Err() != nil:
		return 0, true, ctx.Err()
	case errors.As(err, &budget):
		return 0, true, budget
	case errors.Is(err, errInterrupted) || errors.Is(cctx.Err(), context.DeadlineExceeded):
		return 0, true, fmt.Errorf("%w after %s", ErrTimeout, timeout)
	case errors.As(err, &exit):
		return 0, true, fmt.Errorf("renderer exited with code %d", exit.ExitCode())
	}
	return 0, true, fmt.Errorf("trap: %w", err)
}

// budgetOr is the budget error err carries, without wazero's stack trace,
// or err.
func budgetOr(err error) error {
	var budget *budgetError
	if errors.As(err, &budget) {
		return budget
	}
	return err
}

// outcome turns what happened during a call into its error, if any.
func outcome(st *callState, export string, code int32, err error) error {
	switch {
	case st.unavailable != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, st.unavailable)
	case err != nil:
		return err
	case code == notImplemented && export != abi.ExportRender && !st.answered && st.failMsg == "":
		return errNotImplemented
	case code != 0 && st.failMsg != "":
		return fmt.Errorf("renderer failed: %s", st.failMsg)
	case code != 0:
		return fmt.Errorf("renderer returned %d", code)
	case !st.answered:
		return errors.New("renderer returned without a response")
	case st.tooLarge > 0:
		return fmt.Errorf("response too large (%d bytes, limit %d)", st.tooLarge, st.cfg.MaxResponse)
	}
	return nil
}
