package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Record encodings. Every value starts with a format version byte so a
// later Kiln can read (or refuse) records written by an earlier one.
// Integers are varints, strings and byte slices are length-prefixed, lists
// are count-prefixed. Decoders reject unknown versions, out-of-range
// fields, lengths that run past the end, and trailing bytes.
const (
	pageFormat  = 3 // 2 added Version (1 is read as version 0); 3 added Node
	eventFormat = 1
	jobFormat   = 1
)

const flagStaleMarked = 1 << 0

// encodePage appends p's record (everything but Path, which is the key).
func encodePage(dst []byte, p *Page) []byte {
	dst = append(dst, pageFormat, byte(p.Kind))
	dst = binary.AppendUvarint(dst, uint64(p.Status))
	var flags byte
	if p.StaleMarked {
		flags |= flagStaleMarked
	}
	dst = append(dst, flags)
	dst = appendString(dst, p.Route)
	dst = binary.AppendUvarint(dst, uint64(len(p.Headers)))
	for _, h := range p.Headers {
		dst = appendString(dst, h.Name)
		dst = appendString(dst, h.Value)
	}
	dst = appendBytes(dst, p.Body)
	dst = appendBytes(dst, p.Gzip)
	dst = appendBytes(dst, p.Brotli)
	dst = appendString(dst, p.ETag)
	dst = appendTime(dst, p.Generated)
	dst = binary.AppendVarint(dst, int64(p.Revalidate))
	dst = binary.AppendVarint(dst, int64(p.Expire))
	dst = appendStrings(dst, p.Tags)
	dst = appendStrings(dst, p.Keys)
	dst = appendStrings(dst, p.Prefixes)
	dst = binary.AppendUvarint(dst, p.Version)
	return appendString(dst, p.Node)
}

// encodedPageSize is an upper bound of encodePage's output length.
func encodedPageSize(p *Page) int {
	n := 64 + 2*binary.MaxVarintLen64 + len(p.Node) + len(p.Route) + len(p.Body) + len(p.Gzip) + len(p.Brotli) + len(p.ETag)
	for _, h := range p.Headers {
		n += len(h.Name) + len(h.Value) + 2*binary.MaxVarintLen64
	}
	for _, l := range [][]string{p.Tags, p.Keys, p.Prefixes} {
		for _, s := range l {
			n += len(s) + binary.MaxVarintLen64
		}
	}
	return n
}

// decodePage decodes a record written by encodePage. The returned page
// owns its memory: the byte slices point into one private copy of b.
func decodePage(path string, b []byte) (*Page, error) {
	return decodeRecord(path, append([]byte(nil), b...), true)
}

// decodeTrimmed decodes path's record as GetFor's hot-cache copy: it
// holds the body a client that takes br and/or gz gets, and those in
// also (bits of Encoding), copied out of b, and no dependency lists. b is
// not retained.
func decodeTrimmed(path string, b []byte, br, gz bool, also uint8) (*Page, error) {
	p, err := decodeRecord(path, b, false)
	if err != nil {
		return nil, err
	}
	p.trim(also | 1<<p.Negotiate(br, gz))
	return p, nil
}

// decodeRecord decodes a page record whose bodies alias b; with lists
// false it checks the dependency lists but leaves them out.
func decodeRecord(path string, b []byte, lists bool) (*Page, error) {
	r := reader{b: b}
	format := r.byte()
	if (format < 1 || format > pageFormat) && r.err == nil {
		return nil, fmt.Errorf("%w: page format %d", ErrCorrupt, format)
	}
	p := &Page{Path: path, Kind: Kind(r.byte())}
	p.Status = int(r.uvarint(999))
	flags := r.byte()
	p.StaleMarked = flags&flagStaleMarked != 0
	p.Route = r.string()
	p.Headers = r.headers()
	p.Body, p.Gzip, p.Brotli = r.bytes(), r.bytes(), r.bytes()
	p.ETag = r.string()
	p.Generated = r.time()
	p.Revalidate, p.Expire = r.duration(), r.duration()
	if lists {
		p.Tags, p.Keys, p.Prefixes = r.strings(), r.strings(), r.strings()
	} else {
		r.skipStrings()
		r.skipStrings()
		r.skipStrings()
	}
	if format >= 2 {
		p.Version = r.uvarint(^uint64(0))
	}
	if format >= 3 {
		p.Node = r.string()
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	if p.Kind < KindPage || p.Kind > KindRedirect || flags&^flagStaleMarked != 0 {
		return nil, fmt.Errorf("%w: kind %d flags %#x", ErrCorrupt, p.Kind, flags)
	}
	p.Seal()
	return p, nil
}

// EncodePage appends p's record, Path included, in the store's format:
// what cluster mode publishes.
func EncodePage(dst []byte, p *Page) []byte {
	dst = appendString(dst, p.Path)
	return encodePage(dst, p)
}

// DecodePage decodes a record written by EncodePage.
func DecodePage(b []byte) (*Page, error) {
	r := reader{b: b}
	path := r.string()
	if r.err != nil {
		return nil, r.err
	}
	return decodePage(path, r.b)
}

func encodeEvent(dst []byte, e Event) []byte {
	dst = append(dst, eventFormat)
	dst = appendTime(dst, e.At)
	dst = appendString(dst, e.Reason)
	dst = appendString(dst, e.Outcome)
	dst = binary.AppendVarint(dst, int64(e.Duration))
	return appendString(dst, e.Error)
}

func decodeEvent(b []byte) (Event, error) {
	r := reader{b: b}
	if v := r.byte(); v != eventFormat && r.err == nil {
		return Event{}, fmt.Errorf("%w: event format %d", ErrCorrupt, v)
	}
	e := Event{At: r.time(), Reason: r.string(), Outcome: r.string()}
	e.Duration = r.duration()
	e.Error = r.string()
	return e, r.finish()
}

func encodeJob(dst []byte, j Job) []byte {
	dst = append(dst, jobFormat)
	dst = appendString(dst, j.Reason)
	return appendTime(dst, j.Queued)
}

func decodeJob(path string, b []byte) (Job, error) {
	r := reader{b: b}
	if v := r.byte(); v != jobFormat && r.err == nil {
		return Job{}, fmt.Errorf("%w: job format %d", ErrCorrupt, v)
	}
	j := Job{Path: path, Reason: r.string(), Queued: r.time()}
	return j, r.finish()
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, l []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(l)))
	for _, s := range l {
		dst = appendString(dst, s)
	}
	return dst
}

// appendTime stores seconds and nanoseconds so the zero time and times
// outside UnixNano's range survive a round trip.
func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// reader decodes varint-framed fields; the first error sticks and every
// later read returns a zero value.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint(max uint64) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.fail("uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a length-prefixed slice, nil when empty. The slice's
// capacity is clipped so appending to it never overwrites the next field.
func (r *reader) bytes() []byte {
	n := r.length()
	if n == 0 {
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) string() string { return string(r.bytes()) }

// length reads a byte length or list count and rejects one larger than
// the bytes left: each list element takes at least one byte, so such a
// count is garbage (and would over-allocate).
func (r *reader) length() int {
	n := r.uvarint(^uint64(0))
	if n > uint64(len(r.b)) {
		r.fail("length")
		return 0
	}
	return int(n)
}

func (r *reader) strings() []string {
	n := r.length()
	if n == 0 {
		return nil
	}
	l := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		l = append(l, r.string())
	}
	return l
}

// skipStrings reads a list as strings does, keeping nothing.
func (r *reader) skipStrings() {
	n := r.length()
	for i := 0; i < n && r.err == nil; i++ {
		r.bytes()
	}
}

func (r *reader) headers() []Header {
	n := r.length()
	if n == 0 {
		return nil
	}
	l := make([]Header, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		l = append(l, Header{Name: r.string(), Value: r.string()})
	}
	return l
}

func (r *reader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint(999_999_999)
	return time.Unix(sec, int64(nsec)).UTC()
}

func (r *reader) duration() time.Duration { return time.Duration(r.varint()) }

func (r *reader) finish() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.b))
	}
	return r.err
}
