package render

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The import instrument adds, and how often loops call it.
const (
	guardModule = "kiln_guard"
	guardFunc   = "check"
	// checkEvery is how many loop iterations of one function invocation
	// run between two checks; a power of two.
	checkEvery = 1 << 12
)

// errUninstrumentable means the module uses an instruction instrument does
// not know (or a tail call, which loops without a loop); such a module
// runs with wazero's own, slower, termination checks.
var errUninstrumentable = errors.New("cannot instrument")

// errInterrupted is the trap of a guarded render stopped by its context.
var errInterrupted = errors.New("interrupted")

// Section ids of the binary format.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
)

// guardHostModule builds the module instrumented guests import: its one
// function traps when the render's context is done or past its deadline.
// It reads the deadline itself rather than waiting for a timer, as no P
// may be free to run one.
func guardHostModule(r wazero.Runtime) wazero.HostModuleBuilder {
	check := api.GoModuleFunc(func(ctx context.Context, _ api.Module, _ []uint64) {
		if err := ctx.Err(); err != nil {
			panic(fmt.Errorf("%w: %w", errInterrupted, err))
		}
		if d, ok := ctx.Deadline(); ok && time.Now().After(d) {
			panic(fmt.Errorf("%w: %w", errInterrupted, context.DeadlineExceeded))
		}
	})
	return r.NewHostModuleBuilder(guardModule).NewFunctionBuilder().
		WithGoModuleFunction(check, nil, nil).Export(guardFunc)
}

// instrument rewrites a module so a timeout can stop it cheaply. It adds
// an import kiln_guard.check and a counter local to every function, and
// begins every loop with
//
//	counter++
//	if counter % checkEvery == 0 { kiln_guard.check() }
//
// A few register operations per iteration cost far less than wazero's
// WithCloseOnContextDone, which leaves native code at every loop header
// (see BenchmarkTimeout). A runaway render always spins in some loop of
// one invocation (or recurses until the stack overflows), so a counter
// per invocation is enough. The call into Go matters as much as the check:
// Go cannot preempt a goroutine running native code, so a guest spinning
// on every P would otherwise starve the scheduler, and the Go function's
// prologue is where a preemption request lands.
//
// The import shifts the index of every defined function by one, so calls,
// ref.func, exports, the start function, element segments and function
// names are renumbered. DWARF sections are dropped.
func instrument(bin []byte) ([]byte, error) {
	secs, err := sections(bin)
	if err != nil {
		return nil, err
	}
	m, err := scan(secs)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), bin[:8]...)
	for _, s := range m.withNew(secs) {
		if s.id == secCustom && strings.HasPrefix(customName(s.body), ".debug") {
			continue
		}
		body, err := m.rewrite(s)
		if err != nil {
			return nil, fmt.Errorf("%w: section %d: %w", errUninstrumentable, s.id, err)
		}
		out = appendSection(out, s.id, body)
	}
	return out, nil
}

// modInfo is what instrument needs to know before rewriting.
type modInfo struct {
	types, funcImports uint32   // counts before instrumenting
	params             []uint32 // parameter count of each type
	funcTypes          []uint32 // type of each defined function
	next               int      // the next code entry rewrite sees
}

// fn maps an old function index to the new one.
func (m *modInfo) fn(i uint32) uint32 {
	if i >= m.funcImports {
		return i + 1
	}
	return i
}

func scan(secs []section) (*modInfo, error) {
	m := &modInfo{}
	for _, s := range secs {
		r := &wreader{b: s.body}
		switch s.id {
		case secType:
			m.scanTypes(r)
		case secFunction:
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				m.funcTypes = append(m.funcTypes, r.u32())
			}
		case secImport:
			if err := m.scanImports(s.body); err != nil {
				return nil, err
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %w", errUninstrumentable, s.id, r.err)
		}
	}
	return m, nil
}

func (m *modInfo) scanTypes(r *wreader) {
	m.types = r.u32()
	for range m.types {
		if r.byte() != 0x60 {
			r.fail("not a function type")
			return
		}
		params := r.u32()
		r.bytes(int(params))
		r.bytes(int(r.u32()))
		m.params = append(m.params, params)
	}
}

func (m *modInfo) scanImports(body []byte) error {
	r := &wreader{b: body}
	for range r.u32() {
		mod := string(r.bytes(int(r.u32())))
		r.bytes(int(r.u32()))
		if mod == guardModule {
			return fmt.Errorf("%w: already imports %s", errUninstrumentable, guardModule)
		}
		switch r.byte() {
		case 0: // func: type index
			r.u32()
			m.funcImports++
		case 1: // table: reftype, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
		case 3: // global: valtype, mutability
			r.byte()
			r.byte()
		default:
			r.fail("import kind")
		}
	}
	if r.err != nil {
		return fmt.Errorf("%w: import section: %w", errUninstrumentable, r.err)
	}
	return nil
}

// withNew adds empty type, import and global sections where the module
// has none, so rewrite can extend them.
func (m *modInfo) withNew(secs []section) []section {
	has := map[byte]bool{}
	for _, s := range secs {
		has[s.id] = true
	}
	for _, id := range []byte{secType, secImport} {
		if !has[id] {
			secs = insertSection(secs, section{id: id, body: []byte{0}})
		}
	}
	return secs
}

func insertSection(secs []section, s section) []section {
	for i, t := range secs {
		if t.id != secCustom && sectionOrder(t.id) > sectionOrder(s.id) {
			return append(secs[:i:i], append([]section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

// rewrite returns the instrumented body of one section.
func (m *modInfo) rewrite(s section) ([]byte, error) {
	r := &wreader{b: s.body}
	var out []byte
	switch s.id {
	case secType: // add func() -> ()
		out = vecAppend(r, 1, func(o []byte) []byte { return append(o, 0x60, 0, 0) })
	case secImport: // add kiln_guard.check as the last function import
		out = m.rewriteImports(r)
	case secGlobal: // rewrite ref.func in initializers
		out = m.rewriteVec(r, 0, func(o []byte) []byte {
			o = append(o, r.byte(), r.byte())
			return m.expr(r, o)
		}, nil)
	case secExport:
		out = m.rewriteVec(r, 0, func(o []byte) []byte {
			o = append(o, r.bytesWithLen()...)
			kind := r.byte()
			idx := r.u32()
			if kind == 0 {
				idx = m.fn(idx)
			}
			return binary.AppendUvarint(append(o, kind), uint64(idx))
		}, nil)
	case secStart:
		out = binary.AppendUvarint(nil, uint64(m.fn(r.u32())))
	case secElement:
		out = m.rewriteVec(r, 0, func(o []byte) []byte { return m.element(r, o) }, nil)
	case secCode:
		out = m.rewriteVec(r, 0, func(o []byte) []byte {
			fn := m.function(r.bytes(int(r.u32())), r)
			m.next++
			return append(binary.AppendUvarint(o, uint64(len(fn))), fn...)
		}, nil)
	case secCustom:
		if customName(s.body) == "name" {
			return m.names(s.body), nil
		}
		return s.body, nil
	default:
		return s.body, nil
	}
	return out, r.err
}

func (m *modInfo) rewriteImports(r *wreader) []byte {
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n+1))
	var funcs uint32
	for range n {
		start := r.i
		r.bytes(int(r.u32()))
		r.bytes(int(r.u32()))
		switch r.byte() {
		case 0:
			r.u32()
			funcs++
		case 1:
			r.byte()
			r.limits()
		case 2:
			r.limits()
		case 3:
			r.byte()
			r.byte()
		}
		out = append(out, r.b[start:r.i]...)
		if funcs == m.funcImports && r.err == nil {
			funcs++ // add ours right after the last function import
			out = m.appendGuardImport(out)
		}
	}
	if m.funcImports == 0 {
		out = m.appendGuardImport(out)
	}
	return out
}

func (m *modInfo) appendGuardImport(out []byte) []byte {
	out = binary.AppendUvarint(out, uint64(len(guardModule)))
	out = append(out, guardModule...)
	out = binary.AppendUvarint(out, uint64(len(guardFunc)))
	out = append(append(out, guardFunc...), 0)
	return binary.AppendUvarint(out, uint64(m.types))
}

// rewriteVec copies a vector, rewriting each element with each and
// appending added (when not nil) as one more element.
func (m *modInfo) rewriteVec(r *wreader, extra uint32, each, added func([]byte) []byte) []byte {
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n+extra))
	for range n {
		if r.err != nil {
			break
		}
		out = each(out)
	}
	if added != nil {
		out = added(out)
	}
	return out
}

// vecAppend copies a vector whose elements stay as they are, adding extra
// elements written by add.
func vecAppend(r *wreader, extra uint32, add func([]byte) []byte) []byte {
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n+extra))
	return add(append(out, r.b[r.i:]...))
}

// element rewrites one element segment (all eight encodings).
func (m *modInfo) element(r *wreader, o []byte) []byte {
	flags := r.u32()
	o = binary.AppendUvarint(o, uint64(flags))
	if flags > 7 {
		r.fail("element flags %d", flags)
		return o
	}
	if flags&2 != 0 && flags&1 == 0 { // explicit table index
		o = binary.AppendUvarint(o, uint64(r.u32()))
	}
	if flags&1 == 0 { // active: offset expression
		o = m.expr(r, o)
	}
	if flags&3 != 0 { // elemkind or reftype
		o = append(o, r.byte())
	}
	n := r.u32()
	o = binary.AppendUvarint(o, uint64(n))
	for range n {
		if flags&4 != 0 {
			o = m.expr(r, o)
		} else {
			o = binary.AppendUvarint(o, uint64(m.fn(r.u32())))
		}
	}
	return o
}

// expr copies a constant expression up to and including its end.
func (m *modInfo) expr(r *wreader, o []byte) []byte {
	for r.err == nil {
		op := r.byte()
		if op == 0x0b {
			return append(o, op)
		}
		o = m.instr(r, op, r.i-1, o)
	}
	return o
}

// function rewrites one function body: a counter local, renumbered
// calls, checked loops.
func (m *modInfo) function(body []byte, outer *wreader) []byte {
	if m.next >= len(m.funcTypes) || m.funcTypes[m.next] >= uint32(len(m.params)) {
		outer.fail("code without a function")
		return nil
	}
	r := &wreader{b: body}
	decls := r.u32()
	counter := uint64(m.params[m.funcTypes[m.next]])
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/8), uint64(decls+1))
	start := r.i
	for range decls {
		counter += uint64(r.u32())
		r.byte()
	}
	if counter >= 50000 {
		r.fail("too many locals")
	}
	out = append(append(out, body[start:r.i]...), 0x01, 0x7f) // one more i32
	check := loopCheck(m.funcImports, uint32(counter))
	for r.i < len(body) && r.err == nil {
		start := r.i
		op := r.byte()
		out = m.instr(r, op, start, out)
		if op == 0x03 {
			out = append(out, check...)
		}
	}
	if r.err != nil && outer.err == nil {
		outer.err = r.err
	}
	return out
}

// instr copies one instruction that started at start, renumbering call
// and ref.func.
func (m *modInfo) instr(r *wreader, op byte, start int, o []byte) []byte {
	if op == 0x10 || op == 0xd2 {
		return binary.AppendUvarint(append(o, op), uint64(m.fn(r.u32())))
	}
	r.immediates(op)
	return append(o, r.b[start:r.i]...)
}

// names renumbers the function names of a name section and drops its
// other subsections.
func (m *modInfo) names(body []byte) []byte {
	r := &wreader{b: body}
	out := append([]byte(nil), r.bytesWithLen()...)
	for r.i < len(r.b) && r.err == nil {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if id != 1 {
			continue
		}
		sr := &wreader{b: sub}
		names := m.rewriteVec(sr, 0, func(o []byte) []byte {
			o = binary.AppendUvarint(o, uint64(m.fn(sr.u32())))
			return append(o, sr.bytesWithLen()...)
		}, nil)
		if sr.err == nil {
			out = append(binary.AppendUvarint(append(out, 1), uint64(len(names))), names...)
		}
	}
	return out
}

// loopCheck is the code put at the start of every loop; check is the
// function index of kiln_guard.check, counter the local index.
func loopCheck(check, counter uint32) []byte {
	idx := func(op byte, i uint32) []byte { return binary.AppendUvarint([]byte{op}, uint64(i)) }
	var c []byte
	c = append(c, idx(0x20, counter)...)                        // local.get counter
	c = append(c, 0x41, 0x01, 0x6a)                             // i32.const 1; i32.add
	c = append(c, idx(0x22, counter)...)                        // local.tee counter
	c = append(appendSLEB(append(c, 0x41), checkEvery-1), 0x71) // i32.const checkEvery-1; i32.and
	c = append(c, 0x45, 0x04, 0x40)                             // i32.eqz; if
	return append(append(c, idx(0x10, check)...), 0x0b)         // call check; end
}

// appendSLEB appends a non-negative v as a signed LEB128.
func appendSLEB(b []byte, v uint32) []byte {
	for v >= 0x40 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

type section struct {
	id   byte
	body []byte
}

func sections(bin []byte) ([]section, error) {
	if len(bin) < 8 {
		return nil, errNotWasm
	}
	r := &wreader{b: bin, i: 8}
	var secs []section
	for r.i < len(r.b) && r.err == nil {
		id := r.byte()
		n := r.u32()
		secs = append(secs, section{id, r.bytes(int(n))})
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: bad section", errUninstrumentable)
	}
	return secs, nil
}

// sectionOrder is the position a section must take; the tag section (13)
// and data count section (12) sit out of numeric order.
func sectionOrder(id byte) int {
	switch id {
	case 13:
		return 5 // after memory, before global
	case 12:
		return 9 // after element, before code
	}
	return int(id)
}

func customName(body []byte) string {
	r := &wreader{b: body}
	return string(r.bytes(int(r.u32())))
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...)
}
