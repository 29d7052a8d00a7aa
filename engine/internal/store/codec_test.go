package store

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 15, 0, 0, 123456789, time.UTC)

func samplePages() []*Page {
	pages := []*Page{
		{
			Path: "/blog/hello", Route: "/blog/{slug}", Kind: KindPage, Status: 200,
			Headers: []Header{{"Content-Type", "text/html; charset=utf-8"}, {"X-A", ""}},
			Body:    []byte("<h1>hello</h1>"), Gzip: []byte{0x1f, 0x8b, 1, 2}, Brotli: []byte{9, 9},
			ETag: `"abc"`, Generated: t0, Revalidate: time.Minute, Expire: time.Hour,
			StaleMarked: true, Tags: []string{"blog", "posts"}, Version: 7,
			Keys: []string{"posts/hello", "site"}, Prefixes: []string{"posts/", ""},
		},
		{Path: "/missing", Kind: KindNotFound, Status: 404, Generated: t0},
		{
			Path: "/old", Kind: KindRedirect, Status: 308,
			Headers: []Header{{"Location", "/new"}}, Generated: time.Time{},
			Revalidate: -1, Expire: 1<<63 - 1, Version: 1<<64 - 1,
		},
	}
	for _, p := range pages {
		p.Seal()
	}
	return pages
}

func TestPageRoundTrip(t *testing.T) {
	for _, p := range samplePages() {
		t.Run(p.Path, func(t *testing.T) {
			b := encodePage(nil, p)
			if n := encodedPageSize(p); len(b) > n {
				t.Errorf("encoded %d bytes, size bound %d", len(b), n)
			}
			got, err := decodePage(p.Path, b)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Generated.Equal(p.Generated) {
				t.Errorf("Generated = %v, want %v", got.Generated, p.Generated)
			}
			got.Generated = p.Generated
			if !reflect.DeepEqual(got, p) {
				t.Errorf("got  %+v\nwant %+v", got, p)
			}
		})
	}
}

func TestDecodePageRejects(t *testing.T) {
	good := encodePage(nil, samplePages()[0])
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version", append([]byte{4}, good[1:]...)},
		{"kind zero", append([]byte{1, 0}, good[2:]...)},
		{"kind big", append([]byte{1, 4}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"huge length", []byte{1, 1, 200, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"huge count", []byte{1, 1, 200, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"status", []byte{1, 1, 0xe8, 0x07}},
		{"unknown flag", append([]byte{1, 1, 200, 1, 2}, good[5:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodePage("/x", tt.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestDecodeFormat1 reads a record written before pages had a version.
func TestDecodeFormat1(t *testing.T) {
	p := samplePages()[0]
	b := encodePage(nil, p)
	b[0] = 1
	b = b[:len(b)-2] // version 7 is one varint byte, the empty Node one more
	got, err := decodePage(p.Path, b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 0 || string(got.Body) != string(p.Body) {
		t.Errorf("format 1 decoded as version %d, body %q", got.Version, got.Body)
	}
}

func TestVariantETags(t *testing.T) {
	p := samplePages()[0]
	tests := []struct {
		enc    Encoding
		body   string
		etag   string
		wantOK bool
	}{
		{Identity, "<h1>hello</h1>", `"abc"`, true},
		{Gzip, "\x1f\x8b\x01\x02", `"abc-gzip"`, true},
		{Brotli, "\x09\x09", `"abc-br"`, true},
	}
	for _, tt := range tests {
		body, etag, ok := p.Variant(tt.enc)
		if string(body) != tt.body || etag != tt.etag || ok != tt.wantOK {
			t.Errorf("Variant(%d) = %q, %s, %v; want %q, %s, %v", tt.enc, body, etag, ok, tt.body, tt.etag, tt.wantOK)
		}
	}
	plain := &Page{ETag: `"x"`, Body: []byte("b")}
	plain.Seal()
	if _, etag, ok := plain.Variant(Gzip); ok || etag != "" {
		t.Errorf("a page without gzip has a gzip variant %q", etag)
	}
}

func TestDecodedSlicesAreClipped(t *testing.T) {
	p, err := decodePage("/a", encodePage(nil, samplePages()[0]))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p.Body, "XXXX"...)
	if got, want := string(p.Gzip), "\x1f\x8b\x01\x02"; got != want {
		t.Errorf("append to Body changed Gzip: %q", got)
	}
}

func TestEventJobRoundTrip(t *testing.T) {
	e := Event{At: t0, Reason: "stale", Outcome: "error", Duration: 3 * time.Millisecond, Error: "boom"}
	gotE, err := decodeEvent(encodeEvent(nil, e))
	if err != nil || !gotE.At.Equal(e.At) {
		t.Fatalf("decodeEvent = %+v, %v", gotE, err)
	}
	gotE.At = e.At
	if gotE != e {
		t.Errorf("event got %+v, want %+v", gotE, e)
	}
	j := Job{Path: "/a", Reason: "event", Queued: t0}
	gotJ, err := decodeJob("/a", encodeJob(nil, j))
	if err != nil || !gotJ.Queued.Equal(j.Queued) || gotJ.Reason != j.Reason || gotJ.Path != j.Path {
		t.Errorf("job got %+v, %v; want %+v", gotJ, err, j)
	}
}

// FuzzDecodePage checks the decoder never panics, and that whatever it
// accepts re-encodes to a record that decodes to the same page.
func FuzzDecodePage(f *testing.F) {
	for _, p := range samplePages() {
		f.Add(encodePage(nil, p))
	}
	f.Add([]byte{1, 1, 200, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePage("/f", b)
		checkTrimmedDecode(t, b, p, err)
		if err != nil {
			return
		}
		b2 := encodePage(nil, p)
		p2, err := decodePage("/f", b2)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if b3 := encodePage(nil, p2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding not stable:\n%x\n%x", b2, b3)
		}
	})
}

// checkTrimmedDecode: GetFor's decoder accepts exactly the records
// decodePage does (whose result is p, err), and what it holds for each
// client is the whole page's body and ETag in the encoding negotiated.
func checkTrimmedDecode(t *testing.T, b []byte, p *Page, err error) {
	t.Helper()
	for _, c := range everyClient {
		cp := append([]byte(nil), b...)
		q, qerr := decodeTrimmed("/f", cp, c.br, c.gz, 0)
		if (err == nil) != (qerr == nil) {
			t.Fatalf("decodePage err %v, decodeTrimmed err %v", err, qerr)
		}
		if err != nil {
			continue
		}
		clear(cp) // the copy must not alias the record
		enc := p.Negotiate(c.br, c.gz)
		if got := q.Negotiate(c.br, c.gz); got != enc {
			t.Fatalf("br %v gz %v: trimmed negotiates %d, whole %d", c.br, c.gz, got, enc)
		}
		wb, we, _ := p.Variant(enc)
		gb, ge, _ := q.Variant(enc)
		if !bytes.Equal(wb, gb) || we != ge || q.Version != p.Version || q.Status != p.Status || q.StaleMarked != p.StaleMarked {
			t.Fatalf("br %v gz %v: trimmed %q %s v%d, whole %q %s v%d", c.br, c.gz, gb, ge, q.Version, wb, we, p.Version)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(encodeEvent(nil, Event{At: t0, Reason: "build", Outcome: "regenerated", Duration: 5}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEvent(b)
		if err != nil {
			return
		}
		e2, err := decodeEvent(encodeEvent(nil, e))
		if err != nil || !e2.At.Equal(e.At) || e2.Reason != e.Reason || e2.Error != e.Error {
			t.Fatalf("round trip: %+v -> %+v, %v", e, e2, err)
		}
	})
}

func FuzzDecodeJob(f *testing.F) {
	f.Add(encodeJob(nil, Job{Reason: "event", Queued: t0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJob("/j", b)
		if err != nil {
			return
		}
		j2, err := decodeJob("/j", encodeJob(nil, j))
		if err != nil || !j2.Queued.Equal(j.Queued) || j2.Reason != j.Reason {
			t.Fatalf("round trip: %+v -> %+v, %v", j, j2, err)
		}
	})
}

func TestEncodePageRoundTrip(t *testing.T) {
	for _, p := range samplePages() {
		p.Node = "node-b"
		p.Seal()
		got, err := DecodePage(EncodePage(nil, p))
		if err != nil {
			t.Fatal(err)
		}
		got.Generated = p.Generated
		if !reflect.DeepEqual(got, p) {
			t.Errorf("got  %+v\nwant %+v", got, p)
		}
	}
	if _, err := DecodePage([]byte{5, 'a'}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated path: err = %v, want ErrCorrupt", err)
	}
}
