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
				if gz != nil {
					r, err := gzip.NewReader(bytes.NewReader(gz))
					if err != nil {
						t.Fatal(err)
					}
					if got, _ := io.ReadAll(r); !bytes.Equal(got, tt.body) {
						t.Error("gzip does not round-trip")
					}
				}
				if br != nil {
					if got, _ := io.ReadAll(brotli.NewReader(bytes.NewReader(br))); !bytes.Equal(got, tt.body) {
						t.Error("brotli does not round-trip")
					}
				}
			})
		}
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
