package abi

import (
	"encoding/binary"
	"math"
)

func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

func appendStr(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

func appendBytes(b []byte, s []byte) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// AppendRequest appends the encoding of r to b.
func AppendRequest(b []byte, r *Request) []byte {
	b = appendU32(b, r.Mode)
	b = appendStr(b, r.Route)
	b = appendStr(b, r.Path)
	b = appendU32(b, uint32(len(r.Params)))
	for _, p := range r.Params {
		b = appendStr(appendStr(b, p.Name), p.Value)
	}
	return binary.LittleEndian.AppendUint64(b, uint64(r.PrevGenerated))
}

// AppendResponse appends the encoding of r to b.
func AppendResponse(b []byte, r *Response) []byte {
	b = appendU32(b, r.Status)
	b = appendU32(b, r.Flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Revalidate))
	b = appendStr(b, r.Redirect)
	b = appendU32(b, uint32(len(r.Headers)))
	for _, h := range r.Headers {
		b = appendStr(appendStr(b, h.Name), h.Value)
	}
	b = appendU32(b, uint32(len(r.Tags)))
	for _, t := range r.Tags {
		b = appendStr(b, t)
	}
	return appendBytes(b, r.Body)
}

// AppendPaths appends the encoding of a Paths list (§5.4) to b.
func AppendPaths(b []byte, paths []string) []byte {
	b = appendU32(b, uint32(len(paths)))
	for _, p := range paths {
		b = appendStr(b, p)
	}
	return b
}

// AppendListPage appends the encoding of p to b.
func AppendListPage(b []byte, p *ListPage) []byte {
	b = appendU32(b, uint32(len(p.Items)))
	for _, it := range p.Items {
		b = appendBytes(appendStr(b, it.Key), it.Value)
	}
	return appendStr(b, p.Next)
}

// AppendKeys appends the encoding of a Keys list (§5.6), the argument of
// data_get_many, to b.
func AppendKeys(b []byte, keys []string) []byte { return AppendPaths(b, keys) }

// AppendValues appends the encoding of a Values list (§5.7), the pending
// result of data_get_many, to b: for each key, found (0 or 1) and its
// value ("" when not found).
func AppendValues(b []byte, values [][]byte, found []bool) []byte {
	b = appendU32(b, uint32(len(values)))
	for i, v := range values {
		f := uint32(0)
		if found[i] {
			f = 1
		}
		b = appendBytes(appendU32(b, f), v)
	}
	return b
}

// reader consumes a payload; the first short read sets bad and every
// later read returns zero values.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) i64() int64 {
	if len(r.b) < 8 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return int64(v)
}

// bytes returns the next str as a sub-slice of the payload.
func (r *reader) bytes() []byte {
	n := r.u32()
	if r.bad || uint64(n) > uint64(len(r.b)) {
		r.bad = true
		r.b = nil
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) str() string { return string(r.bytes()) }

// count reads an element count, refusing counts that cannot fit in the rest
// of the payload (each element takes at least min bytes), so a hostile
// count never makes the decoder allocate.
func (r *reader) count(min int) int {
	n := r.u32()
	if r.bad || uint64(n)*uint64(min) > uint64(len(r.b)) || uint64(n) > math.MaxInt32 {
		r.bad = true
		r.b = nil
		return 0
	}
	return int(n)
}

func (r *reader) done() error {
	if r.bad || len(r.b) != 0 {
		return ErrMalformed
	}
	return nil
}

// DecodeRequest decodes a Request.
func DecodeRequest(b []byte) (Request, error) {
	r := reader{b: b}
	req := Request{Mode: r.u32(), Route: r.str(), Path: r.str()}
	if n := r.count(8); n > 0 {
		req.Params = make([]Param, n)
		for i := range req.Params {
			req.Params[i] = Param{Name: r.str(), Value: r.str()}
		}
	}
	req.PrevGenerated = r.i64()
	return req, r.done()
}

// DecodeResponse decodes a Response. Body aliases b.
func DecodeResponse(b []byte) (Response, error) {
	r := reader{b: b}
	resp := Response{Status: r.u32(), Flags: r.u32(), Revalidate: r.i64(), Redirect: r.str()}
	if n := r.count(8); n > 0 {
		resp.Headers = make([]Header, n)
		for i := range resp.Headers {
			resp.Headers[i] = Header{Name: r.str(), Value: r.str()}
		}
	}
	if n := r.count(4); n > 0 {
		resp.Tags = make([]string, n)
		for i := range resp.Tags {
			resp.Tags[i] = r.str()
		}
	}
	resp.Body = r.bytes()
	return resp, r.done()
}

// DecodePaths decodes a Paths list.
func DecodePaths(b []byte) ([]string, error) {
	r := reader{b: b}
	var paths []string
	if n := r.count(4); n > 0 {
		paths = make([]string, n)
		for i := range paths {
			paths[i] = r.str()
		}
	}
	return paths, r.done()
}

// DecodeListPage decodes a List page. Item values alias b.
func DecodeListPage(b []byte) (ListPage, error) {
	r := reader{b: b}
	var p ListPage
	if n := r.count(8); n > 0 {
		p.Items = make([]Item, n)
		for i := range p.Items {
			p.Items[i] = Item{Key: r.str(), Value: r.bytes()}
		}
	}
	p.Next = r.str()
	return p, r.done()
}

// DecodeKeys decodes a Keys list.
func DecodeKeys(b []byte) ([]string, error) { return DecodePaths(b) }

// DecodeValues decodes a Values list. Values alias b; a key not found has
// a nil value. A found flag other than 0 or 1, or a value beside a key not
// found, is malformed.
func DecodeValues(b []byte) (values [][]byte, found []bool, err error) {
	r := reader{b: b}
	if n := r.count(8); n > 0 {
		values, found = make([][]byte, n), make([]bool, n)
		for i := range values {
			f, v := r.u32(), r.bytes()
			if f > 1 || (f == 0 && len(v) > 0) {
				return nil, nil, ErrMalformed
			}
			found[i] = f == 1
			if found[i] {
				values[i] = v
			}
		}
	}
	if err := r.done(); err != nil {
		return nil, nil, err
	}
	return values, found, nil
}
