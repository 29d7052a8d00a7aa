package sdktest

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Request is a page request as sdk/ABI.md §5.2 encodes it.
type Request struct {
	Mode          uint32
	Route, Path   string
	Params        [][2]string // name, value in pattern order
	PrevGenerated int64       // Unix milliseconds; 0 if none
}

// Response is a decoded renderer answer (sdk/ABI.md §5.3).
type Response struct {
	Status     uint32
	Flags      uint32
	Revalidate int64
	Redirect   string
	Headers    [][2]string
	Tags       []string
	Body       string
}

// Response flags.
const (
	FlagNotFound uint32 = 1 << 0
	FlagNoStore  uint32 = 1 << 1
)

// ErrMalformed reports a payload that ends early or has bytes left over.
var ErrMalformed = errors.New("sdktest: malformed payload")

// Encode encodes r (sdk/ABI.md §5.2).
func (r Request) Encode() []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, r.Mode)
	b = appendStr(b, r.Route)
	b = appendStr(b, r.Path)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Params)))
	for _, p := range r.Params {
		b = appendStr(appendStr(b, p[0]), p[1])
	}
	return binary.LittleEndian.AppendUint64(b, uint64(r.PrevGenerated))
}

// Encode encodes r (sdk/ABI.md §5.3).
func (r Response) Encode() []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, r.Status)
	b = binary.LittleEndian.AppendUint32(b, r.Flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Revalidate))
	b = appendStr(b, r.Redirect)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Headers)))
	for _, h := range r.Headers {
		b = appendStr(appendStr(b, h[0]), h[1])
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Tags)))
	for _, t := range r.Tags {
		b = appendStr(b, t)
	}
	return appendStr(b, r.Body)
}

// DecodeRequest decodes an encoded request, rejecting trailing bytes.
func DecodeRequest(b []byte) (Request, error) {
	d := decoder{b: b}
	r := Request{Mode: d.u32(), Route: d.str(), Path: d.str()}
	for n := d.count(8); n > 0; n-- {
		r.Params = append(r.Params, [2]string{d.str(), d.str()})
	}
	r.PrevGenerated = int64(d.u64())
	return r, d.done()
}

// DecodeResponse decodes an encoded response, rejecting trailing bytes.
func DecodeResponse(b []byte) (Response, error) {
	d := decoder{b: b}
	r := Response{Status: d.u32(), Flags: d.u32(), Revalidate: int64(d.u64()), Redirect: d.str()}
	for n := d.count(8); n > 0; n-- {
		r.Headers = append(r.Headers, [2]string{d.str(), d.str()})
	}
	for n := d.count(4); n > 0; n-- {
		r.Tags = append(r.Tags, d.str())
	}
	r.Body = d.str()
	return r, d.done()
}

// DecodePaths decodes a kiln_paths answer (sdk/ABI.md §5.4).
func DecodePaths(b []byte) ([]string, error) {
	d := decoder{b: b}
	var paths []string
	for n := d.count(4); n > 0; n-- {
		paths = append(paths, d.str())
	}
	return paths, d.done()
}

// EncodePaths encodes a kiln_paths answer (sdk/ABI.md §5.4).
func EncodePaths(paths []string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(paths)))
	for _, p := range paths {
		b = appendStr(b, p)
	}
	return b
}

// EncodeList encodes one page of a listing (sdk/ABI.md §5.5).
func EncodeList(items []Item, next string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(items)))
	for _, it := range items {
		b = appendStr(appendStr(b, it.Key), string(it.Value))
	}
	return appendStr(b, next)
}

func appendStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n uint64) []byte {
	if d.bad || uint64(len(d.b)) < n {
		d.bad = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str() string { return string(d.take(uint64(d.u32()))) }

// count reads an element count, refusing one that cannot fit in what is
// left when each element takes at least min bytes.
func (d *decoder) count(min int) int {
	n := d.u32()
	if uint64(n)*uint64(min) > uint64(len(d.b)) {
		d.bad = true
		return 0
	}
	return int(n)
}

func (d *decoder) done() error {
	if d.bad {
		return fmt.Errorf("%w: ends early", ErrMalformed)
	}
	if len(d.b) > 0 {
		return fmt.Errorf("%w: %d bytes left over", ErrMalformed, len(d.b))
	}
	return nil
}
