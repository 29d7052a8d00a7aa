package encode

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestVariants(t *testing.T) {
	text := []byte(strings.Repeat("<p>kiln renders pages</p>\n", 64))
	random := make([]byte, 4096)
	rand.NewChaCha8([32]byte{1}).Read(random)
	page100k := bytes.Repeat(page(), 100<<10/len(page())+1) // an 8 KB page over and over, past the window
	tests := []struct {
		name             string
		body             []byte
		contentType      string
		wantGzip, wantBr bool
	}{
		{"html", text, "text/html; charset=utf-8", true, true},
		{"json", text, "application/json", true, true},
		{"svg", text, "image/svg+xml", true, true},
		{"too small", text[:MinSize-1], "text/html", false, false},
		{"image", text, "image/png", false, false},
		{"incompressible", random, "text/plain", false, false},
		{"past the 64 KiB window", page100k, "text/html", true, true},
	}
	for _, tt := range tests {
		for _, v := range []struct {
			name string
			fn   func([]byte, string) ([]byte, []byte)
		}{{"serve", Variants}, {"build", BuildVariants}} {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				gz, br := v.fn(tt.body, tt.contentType)
				if (gz != nil) != tt.wantGzip || (br != nil) != tt.wantBr {
					t.Fatalf("gzip %d bytes, brotli %d bytes; want gzip %v, brotli %v", len(gz), len(br), tt.wantGzip, tt.wantBr)
				}
				checkRoundTrip(t, tt.body, gz, br)
			})
		}
	}
}

// FuzzVariants checks that every encoding either encoder writes
// decodes, through another implementation's decoder (the standard
// library's gzip, andybalholm's brotli), to the body it was given. The
// input is repeated to at least MinSize (so every run compresses) and
// cut at 16 KiB (so a run stays fast); the fuzzer runs many bodies
// through the same pooled writers, so a writer that kept state from its
// last page would show here.
func FuzzVariants(f *testing.F) {
	f.Add([]byte("<p>kiln renders pages</p>\n"))
	f.Add([]byte("<!doctype html><title>x</title>\x00\xff"))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		body := bytes.Repeat(in, MinSize/len(in)+1)
		body = body[:min(len(body), 16<<10)]
		for _, fn := range []func([]byte, string) ([]byte, []byte){Variants, BuildVariants} {
			gz, br := fn(body, "text/html")
			checkRoundTrip(t, body, gz, br)
		}
	})
}

// checkRoundTrip decodes gz and br, each unless nil, and wants body
// back, from encodings smaller than it.
func checkRoundTrip(t *testing.T, body, gz, br []byte) {
	t.Helper()
	if gz != nil {
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("gzip of %d bytes does not round-trip: %v", len(body), err)
		}
	}
	if br != nil {
		if got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br))); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("brotli of %d bytes does not round-trip: %v", len(body), err)
		}
	}
	if len(gz) >= len(body) || len(br) >= len(body) {
		t.Fatalf("an encoding (gzip %d, brotli %d bytes) not smaller than its %d-byte body was kept", len(gz), len(br), len(body))
	}
}

// page is a blog post's HTML, about 8 KB of varied words in markup.
func page() []byte {
	words := strings.Fields("kiln renders pages once and serves them from the store while data changes arrive " +
		"as events the engine marks what they touch stale and renders again in the background a request never waits " +
		"unless nothing is stored yet compression brotli gzip pebble wasm renderer plugin route fallback blocking")
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>A post</title><link rel=stylesheet href=/s.css></head><body><main><article>")
	for b.Len() < 8<<10 {
		b.WriteString("<p>")
		for range 40 + r.IntN(40) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</article></main></body></html>")
	return []byte(b.String())
}

func BenchmarkEncoders(b *testing.B) {
	body := page()
	for _, bb := range []struct {
		name string
		fn   func([]byte) []byte
	}{{"gzip-best", Gzip}, {"gzip-fast", gzipFast}, {"brotli", Brotli},
		{"brotli-build", func(b []byte) []byte { return brotliAt(&buildBrotliWriters, b) }}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			var n int
			for b.Loop() {
				n = len(bb.fn(body))
			}
			b.ReportMetric(float64(n)/float64(len(body)), "ratio")
		})
	}
}

// gzipFast is gzip at its fastest level, measured against the best one.
func gzipFast(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}
