package render

import (
	"encoding/binary"
	"fmt"
)

// wreader reads the WebAssembly binary format for instrument; the first
// error sticks and ends the input.
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

// bytesWithLen returns a length-prefixed byte string, prefix included.
func (r *wreader) bytesWithLen() []byte {
	start := r.i
	r.bytes(int(r.u32()))
	return r.b[start:r.i]
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
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return
	}
	switch r.b[r.i] {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.i++
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
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
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
