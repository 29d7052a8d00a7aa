package render

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The mutable i32 globals instrument adds. Setting the guard to a non-zero
// value and the fuel to 0 makes the running guest trap at its next loop
// iteration.
const (
	guardExport = "kiln_guard"
	fuelExport  = "kiln_fuel"
	// fuelPerExit is how many loop iterations run between two exits to Go.
	fuelPerExit = 1 << 16
)

// errUninstrumentable means the module uses an instruction instrument does
// not know (or a tail call, which loops without a loop); such a module
// runs with wazero's own, slower, termination checks.
var errUninstrumentable = errors.New("cannot instrument")

// Section ids of the binary format.
const (
	secCustom = 0
	secImport = 2
	secGlobal = 6
	secExport = 7
	secCode   = 10
)

// instrument rewrites a module so a timeout can stop it cheaply. It adds
// two exported mutable globals, the guard (0) and the fuel (fuelPerExit),
// and begins every loop with
//
//	if fuel == 0 {
//		memory.grow(0)              // leaves native code: Go may preempt here
//		if guard != 0 { unreachable }
//		fuel = fuelPerExit
//	}
//	fuel--
//
// A few loads and stores per iteration cost far less than wazero's
// WithCloseOnContextDone, which leaves native code at every loop header
// (see BenchmarkTimeout). The periodic exit matters as much as the guard:
// Go cannot preempt a goroutine running native code, so without it a
// guest spinning on every P would starve the timer meant to stop it.
// DWARF sections are dropped, as their code offsets no longer hold.
func instrument(bin []byte) ([]byte, error) {
	secs, err := sections(bin)
	if err != nil {
		return nil, err
	}
	guard, err := guardIndex(secs)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), bin[:8]...)
	addedGlobal := false
	for _, s := range secs {
		if s.id == secCustom && strings.HasPrefix(customName(s.body), ".debug") {
			continue
		}
		if !addedGlobal && s.id != secCustom && sectionOrder(s.id) > sectionOrder(secGlobal) {
			out = appendSection(out, secGlobal, addGlobal(nil))
			addedGlobal = true
		}
		body := s.body
		switch s.id {
		case secGlobal:
			body, addedGlobal = addGlobal(body), true
		case secExport:
			body, err = addExport(body, guard)
		case secCode:
			body, err = guardCode(body, guard)
		}
		if err != nil {
			return nil, err
		}
		out = appendSection(out, s.id, body)
	}
	if !addedGlobal {
		return nil, fmt.Errorf("%w: no place for the guard global", errUninstrumentable)
	}
	return out, nil
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

// guardIndex is the index the new global gets: after imported and defined
// globals. It also rejects a module that exports guardExport itself.
func guardIndex(secs []section) (uint32, error) {
	var n uint32
	for _, s := range secs {
		switch s.id {
		case secImport:
			imported, err := importedGlobals(s.body)
			if err != nil {
				return 0, err
			}
			n += imported
		case secGlobal:
			n += (&wreader{b: s.body}).u32()
		case secExport:
			if strings.Contains(string(s.body), "kiln_guard") || strings.Contains(string(s.body), "kiln_fuel") {
				return 0, fmt.Errorf("%w: exports kiln_guard or kiln_fuel", errUninstrumentable)
			}
		}
	}
	return n, nil
}

func importedGlobals(body []byte) (uint32, error) {
	r := &wreader{b: body}
	var globals uint32
	for range r.u32() {
		r.bytes(int(r.u32())) // module
		r.bytes(int(r.u32())) // name
		switch r.byte() {
		case 0: // func: type index
			r.u32()
		case 1: // table: reftype, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
		case 3: // global: valtype, mutability
			r.byte()
			r.byte()
			globals++
		default:
			r.err = errUninstrumentable
		}
	}
	if r.err != nil {
		return 0, fmt.Errorf("%w: import section", errUninstrumentable)
	}
	return globals, nil
}

// addGlobal appends the guard and the fuel to a global section body.
func addGlobal(body []byte) []byte {
	r := &wreader{b: body}
	n := uint32(0)
	if len(body) > 0 {
		n = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(n+2))
	out = append(out, body[r.i:]...)
	out = append(out, 0x7f, 0x01, 0x41, 0x00, 0x0b)   // (mut i32) i32.const 0
	out = append(out, 0x7f, 0x01, 0x41)               // (mut i32) i32.const
	return append(appendSLEB(out, fuelPerExit), 0x0b) // fuelPerExit
}

// appendSLEB appends a non-negative v as a signed LEB128.
func appendSLEB(b []byte, v uint32) []byte {
	for v >= 0x40 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// loopCheck is the code instrument puts at the start of every loop.
func loopCheck(guard uint32) []byte {
	g := func(op byte, idx uint32) []byte { return binary.AppendUvarint([]byte{op}, uint64(idx)) }
	fuel := guard + 1
	var c []byte
	c = append(c, g(0x23, fuel)...)               // global.get fuel
	c = append(c, 0x45, 0x04, 0x40)               // i32.eqz; if
	c = append(c, 0x41, 0x00, 0x40, 0x00, 0x1a)   // i32.const 0; memory.grow 0; drop
	c = append(c, g(0x23, guard)...)              // global.get guard
	c = append(c, 0x04, 0x40, 0x00, 0x0b)         // if; unreachable; end
	c = appendSLEB(append(c, 0x41), fuelPerExit)  // i32.const fuelPerExit
	c = append(append(c, g(0x24, fuel)...), 0x0b) // global.set fuel; end
	c = append(c, g(0x23, fuel)...)               // global.get fuel
	c = append(c, 0x41, 0x01, 0x6b)               // i32.const 1; i32.sub
	return append(c, g(0x24, fuel)...)            // global.set fuel
}

func addExport(body []byte, guard uint32) ([]byte, error) {
	r := &wreader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("%w: export section", errUninstrumentable)
	}
	out := binary.AppendUvarint(nil, uint64(n+2))
	out = append(out, body[r.i:]...)
	for i, name := range []string{guardExport, fuelExport} {
		out = binary.AppendUvarint(out, uint64(len(name)))
		out = append(append(out, name...), 0x03)
		out = binary.AppendUvarint(out, uint64(guard)+uint64(i))
	}
	return out, nil
}

func guardCode(body []byte, guard uint32) ([]byte, error) {
	r := &wreader{b: body}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	check := loopCheck(guard)
	for range n {
		size := r.u32()
		fn, err := guardFunc(r.bytes(int(size)), check)
		if err != nil || r.err != nil {
			return nil, errors.Join(errUninstrumentable, err, r.err)
		}
		out = binary.AppendUvarint(out, uint64(len(fn)))
		out = append(out, fn...)
	}
	return out, nil
}

// guardFunc inserts check after the block type of every loop of one
// function body.
func guardFunc(body, check []byte) ([]byte, error) {
	r := &wreader{b: body}
	for range r.u32() { // local declarations
		r.u32()
		r.byte()
	}
	out := make([]byte, 0, len(body)+len(body)/16)
	out = append(out, body[:r.i]...)
	for r.i < len(body) && r.err == nil {
		start := r.i
		op := r.byte()
		r.immediates(op)
		out = append(out, body[start:r.i]...)
		if op == 0x03 {
			out = append(out, check...)
		}
	}
	return out, r.err
}

// wreader reads the binary format; the first error sticks.
type wreader struct {
	b   []byte
	i   int
	err error
}

func (r *wreader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.i = len(r.b)
}

func (r *wreader) byte() byte {
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *wreader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.i {
		r.fail("unexpected end")
		return nil
	}
	r.i += n
	return r.b[r.i-n : r.i]
}

func (r *wreader) u32() uint32 {
	v, n := binary.Uvarint(r.b[min(r.i, len(r.b)):])
	if n <= 0 || v > 1<<32-1 {
		r.fail("bad integer")
		return 0
	}
	r.i += n
	return uint32(v)
}

// skipLEB skips a signed or unsigned LEB128 number.
func (r *wreader) skipLEB() {
	for r.byte()&0x80 != 0 && r.err == nil {
	}
}

func (r *wreader) limits() {
	flags := r.byte()
	if flags > 3 {
		r.fail("limits flags %#x", flags)
	}
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

func (r *wreader) blockType() {
	switch b := r.b[min(r.i, len(r.b)-1)]; b {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.byte()
	default:
		r.skipLEB() // s33 type index
	}
}

func (r *wreader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.fail("multi-memory")
	}
	r.u32()
}

// immediates skips the immediates of opcode op.
func (r *wreader) immediates(op byte) {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		r.blockType()
	case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x1a || op == 0x1b || op == 0xd1 ||
		op >= 0x45 && op <= 0xc4:
	case op == 0x0c || op == 0x0d || op == 0x10 || op >= 0x20 && op <= 0x26 || op == 0xd2:
		r.u32()
	case op == 0x0e: // br_table
		for range r.u32() + 1 {
			r.u32()
		}
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		r.bytes(int(r.u32()))
	case op >= 0x28 && op <= 0x3e:
		r.memarg()
	case op == 0x3f || op == 0x40:
		r.u32()
	case op == 0x41 || op == 0x42:
		r.skipLEB()
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0:
		r.byte()
	case op == 0xfc:
		r.miscImmediates(r.u32())
	case op == 0xfd:
		r.simdImmediates(r.u32())
	default: // tail calls, exceptions, threads, unknown
		r.fail("opcode %#x", op)
	}
}

func (r *wreader) miscImmediates(sub uint32) {
	switch {
	case sub <= 7: // saturating truncations
	case sub == 9 || sub == 11 || sub == 13 || sub >= 15 && sub <= 17:
		r.u32()
	case sub == 8 || sub == 10 || sub == 12 || sub == 14:
		r.u32()
		r.u32()
	default:
		r.fail("opcode 0xfc %d", sub)
	}
}

func (r *wreader) simdImmediates(sub uint32) {
	switch {
	case sub <= 11 || sub == 92 || sub == 93:
		r.memarg()
	case sub == 12 || sub == 13:
		r.bytes(16)
	case sub >= 21 && sub <= 34:
		r.byte()
	case sub >= 84 && sub <= 91:
		r.memarg()
		r.byte()
	case sub > 255:
		r.fail("opcode 0xfd %d", sub)
	}
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...)
}
