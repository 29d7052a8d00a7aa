package render

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Profiler records where a renderer's renders spend their time, per call
// stack of the guest's functions. Set it as Config.Profiler: the module is
// then compiled with wazero's function listeners, which time every call of
// a function the module defines, and each render builds a call tree that
// is merged into the profiler when it ends.
//
// Times are exact, not sampled, but every call pays the listener (two
// clock reads, tens of nanoseconds), so functions called very often look
// heavier than they are: read shares, and the calls column. One Profiler
// serves one renderer.
type Profiler struct {
	mu      sync.Mutex
	names   []string    // by function id, given by NewFunctionListener
	unnamed int         // functions the module does not name
	trees   []*profNode // one per call tree ever made
	free    []*profCall // call trees not in use
	renders int
	total   time.Duration // the renders' time in the guest
}

// NewProfiler returns an empty Profiler.
func NewProfiler() *Profiler {
	return &Profiler{}
}

const rootFn = ^uint32(0)

// Reset forgets what was recorded, keeping the function names: call it
// after warm-up renders.
func (p *Profiler) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.trees {
		t.reset()
	}
	p.renders, p.total = 0, 0
}

// profNode is one call stack: its function, called from its parent's.
type profNode struct {
	fn       uint32
	calls    int64
	self     time.Duration
	children map[uint32]*profNode
}

func (n *profNode) reset() {
	n.calls, n.self = 0, 0
	for _, c := range n.children {
		c.reset()
	}
}

func newProfNode(fn uint32) *profNode { return &profNode{fn: fn, children: map[uint32]*profNode{}} }

func (n *profNode) child(fn uint32) *profNode {
	c := n.children[fn]
	if c == nil {
		c = newProfNode(fn)
		n.children[fn] = c
	}
	return c
}

var _ experimental.FunctionListenerFactory = (*Profiler)(nil)

// NewFunctionListener names def and times its calls. The renderer's
// module is compiled on a wazero runtime of its own, whose host modules
// are listened to as well: their functions appear under their module's
// name (kiln.data_get is the data read, kiln_guard.check the timeout
// guard, wasi_snapshot_preview1.fd_write a write to stdout).
func (p *Profiler) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	name := def.Name()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case def.GoFunction() != nil:
		name = def.ModuleName() + "." + name
	case name == "":
		name = "func[" + strconv.Itoa(int(def.Index())) + "]"
		p.unnamed++
	}
	p.names = append(p.names, name)
	return profListener{fn: uint32(len(p.names) - 1)}
}

// profCall is one render's call tree and the stack of calls running.
type profCall struct {
	root   *profNode
	frames []profFrame
}

type profFrame struct {
	node  *profNode
	start time.Time
	child time.Duration // time in calls made from this one
}

type profKey struct{}

// begin starts recording a call made with the returned context; end
// counts it. A call records into a tree of its own, taken from the
// profiler's free list and kept there, so that after the first renders
// recording allocates nothing; the trees are merged when read.
func (p *Profiler) begin(ctx context.Context) (context.Context, func()) {
	p.mu.Lock()
	var c *profCall
	if n := len(p.free); n > 0 {
		c, p.free = p.free[n-1], p.free[:n-1]
	} else {
		c = &profCall{root: newProfNode(rootFn)}
		p.trees = append(p.trees, c.root)
	}
	p.mu.Unlock()
	c.frames = append(c.frames[:0], profFrame{node: c.root, start: time.Now()})
	return context.WithValue(ctx, profKey{}, c), func() {
		elapsed := time.Since(c.frames[0].start)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.renders++
		p.total += elapsed
		p.free = append(p.free, c)
	}
}

// merged is the trees of every call merged into one; mu is held.
func (p *Profiler) merged() *profNode {
	root := newProfNode(rootFn)
	for _, t := range p.trees {
		merge(root, t)
	}
	return root
}

func merge(into, from *profNode) {
	into.calls += from.calls
	into.self += from.self
	for fn, c := range from.children {
		merge(into.child(fn), c)
	}
}

// profListener times one function's calls, keeping the shadow stack of
// the call in its context; calls outside a recorded one (_initialize) are
// not counted.
type profListener struct{ fn uint32 }

func (l profListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	c, ok := ctx.Value(profKey{}).(*profCall)
	if !ok {
		return
	}
	node := c.frames[len(c.frames)-1].node.child(l.fn)
	c.frames = append(c.frames, profFrame{node: node, start: time.Now()})
}

func (profListener) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64) {
	pop(ctx)
}

func (profListener) Abort(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ error) {
	pop(ctx)
}

func pop(ctx context.Context) {
	c, ok := ctx.Value(profKey{}).(*profCall)
	if !ok || len(c.frames) < 2 {
		return
	}
	f := c.frames[len(c.frames)-1]
	c.frames = c.frames[:len(c.frames)-1]
	elapsed := time.Since(f.start)
	f.node.calls++
	f.node.self += elapsed - f.child
	c.frames[len(c.frames)-1].child += elapsed
}

// ProfileRow is one function's line of the top table.
type ProfileRow struct {
	Function  string
	Flat, Cum time.Duration // in the function itself; with what it calls
	Calls     int64
}

// Summary is what the profile holds: renders and their time in the guest.
func (p *Profiler) Summary() (renders int, total time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.renders, p.total
}

// Top returns the n functions with the most flat time, heaviest first.
func (p *Profiler) Top(n int) []ProfileRow {
	p.mu.Lock()
	defer p.mu.Unlock()
	rows := map[uint32]*ProfileRow{}
	onPath := map[uint32]int{}
	var walk func(n *profNode) time.Duration
	walk = func(n *profNode) time.Duration {
		total := n.self
		onPath[n.fn]++
		for _, c := range n.children {
			total += walk(c)
		}
		onPath[n.fn]--
		if n.fn == rootFn || n.calls == 0 {
			return total
		}
		r := rows[n.fn]
		if r == nil {
			r = &ProfileRow{Function: p.names[n.fn]}
			rows[n.fn] = r
		}
		r.Flat += n.self
		r.Calls += n.calls
		if onPath[n.fn] == 0 { // the outermost call of a recursion counts once
			r.Cum += total
		}
		return total
	}
	walk(p.merged())
	out := make([]ProfileRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ProfileRow) int {
		return cmp.Or(cmp.Compare(b.Flat, a.Flat), cmp.Compare(b.Cum, a.Cum), cmp.Compare(a.Function, b.Function))
	})
	return out[:min(n, len(out))]
}

// WriteTop writes the n heaviest functions as a table.
func (p *Profiler) WriteTop(w io.Writer, n int) error {
	renders, total := p.Summary()
	if renders == 0 {
		_, err := fmt.Fprintln(w, "no renders recorded")
		return err
	}
	fmt.Fprintf(w, "%d renders, %s in the guest (%s per render, the profiler's overhead included)\n\n",
		renders, round(total), round(total/time.Duration(renders)))
	if p.unnamed > 0 {
		fmt.Fprintf(w, "(%d functions have no name section: build the module without -s, or --strip-all, to see their names)\n\n", p.unnamed)
	}
	fmt.Fprintf(w, "%10s %6s %10s %6s %10s  %s\n", "flat", "flat%", "cum", "cum%", "calls", "function")
	for _, r := range p.Top(n) {
		fmt.Fprintf(w, "%10s %5.1f%% %10s %5.1f%% %10d  %s\n", round(r.Flat), pct(r.Flat, total),
			round(r.Cum), pct(r.Cum, total), r.Calls, r.Function)
	}
	return nil
}

func pct(d, total time.Duration) float64 { return 100 * float64(d) / float64(max(total, 1)) }

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// Profile returns the recorded calls as a pprof profile: for each call
// stack, the calls made and the time spent in its innermost function.
// `go tool pprof` reads it (top, list of functions, the flame graph of
// -http).
func (p *Profiler) Profile() *profile.Profile {
	p.mu.Lock()
	defer p.mu.Unlock()
	prof := &profile.Profile{
		SampleType:        []*profile.ValueType{{Type: "calls", Unit: "count"}, {Type: "time", Unit: "nanoseconds"}},
		DefaultSampleType: "time",
		PeriodType:        &profile.ValueType{Type: "time", Unit: "nanoseconds"},
		Period:            1,
		DurationNanos:     int64(p.total),
	}
	locs := map[uint32]*profile.Location{}
	loc := func(fn uint32) *profile.Location {
		if l := locs[fn]; l != nil {
			return l
		}
		f := &profile.Function{ID: uint64(len(prof.Function) + 1), Name: p.names[fn], SystemName: p.names[fn]}
		prof.Function = append(prof.Function, f)
		l := &profile.Location{ID: uint64(len(prof.Location) + 1), Line: []profile.Line{{Function: f}}}
		prof.Location = append(prof.Location, l)
		locs[fn] = l
		return l
	}
	var walk func(n *profNode, stack []*profile.Location)
	walk = func(n *profNode, stack []*profile.Location) {
		if n.fn != rootFn {
			stack = append([]*profile.Location{loc(n.fn)}, stack...) // leaf first
			if n.calls > 0 {
				prof.Sample = append(prof.Sample, &profile.Sample{Location: stack, Value: []int64{n.calls, int64(n.self)}})
			}
		}
		for _, fn := range slices.Sorted(maps.Keys(n.children)) {
			walk(n.children[fn], stack)
		}
	}
	walk(p.merged(), nil)
	return prof
}
