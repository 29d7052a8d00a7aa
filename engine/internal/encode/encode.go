// Package encode compresses response bodies once, when they are stored:
// pages when the ISR engine stores them, static files when they load.
// Nothing is compressed per request.
package encode

import (
	"bytes"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	brotli "github.com/molecule-man/go-brrr"
)

// MinSize is the smallest body worth compressing.
const MinSize = 512

// Compressible reports whether a body of this Content-Type is worth
// compressing: text, JSON, XML, JavaScript and SVG.
func Compressible(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") ||
		strings.Contains(ct, "xml") || strings.Contains(ct, "javascript") || strings.Contains(ct, "svg")
}

// Worth reports whether body, of this Content-Type, is worth compressing.
func Worth(body []byte, contentType string) bool {
	return len(body) >= MinSize && Compressible(contentType)
}

// Variants returns body's gzip and brotli encodings, each nil when it is
// not smaller than body, or when the body is too small or of a type not
// worth compressing. The two encoders run side by side: a caller waits
// for the slower one, not for both.
func Variants(body []byte, contentType string) (gz, br []byte) {
	if !Worth(body, contentType) {
		return nil, nil
	}
	done := make(chan []byte, 1)
	go func() { done <- smaller(Brotli(body), body) }()
	gz = smaller(Gzip(body), body)
	return gz, <-done
}

func smaller(enc, body []byte) []byte {
	if len(enc) >= len(body) {
		return nil
	}
	return enc
}

// BuildVariants is Variants at build time: both encoders run one after
// the other in the caller's goroutine (a build keeps every core busy with
// pages already), and brotli runs at BuildQuality.
func BuildVariants(body []byte, contentType string) (gz, br []byte) {
	if !Worth(body, contentType) {
		return nil, nil
	}
	return smaller(Gzip(body), body), smaller(brotliAt(&buildBrotliWriters, body), body)
}

// BuildQuality is the brotli quality of a build. On the blog's pages
// (3 to 8 KB) qualities 5 to 9 produce the same bytes, within 0.7%, and
// 5 costs about 0.75 times 9; 11 saves another 10% at 80 to 140 times
// the cost (BENCHMARKS.md, "Issue 13 changes").
const BuildQuality = 5

// Writers are pooled: a new brotli writer at quality 9 allocates and
// clears about 33 MB of hash tables, which cost 18 ms per page (most of a
// first render); a reset one costs about 0.15 ms for a 3 KB page. The
// 64 KiB window (LGWin 16) keeps each pooled writer near 1.4 MB and loses
// nothing on pages of that size.
var (
	gzipWriters        = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression); return w }}
	brotliWriters      = sync.Pool{New: func() any { return newBrotli(9) }}
	buildBrotliWriters = sync.Pool{New: func() any { return newBrotli(BuildQuality) }}
)

// newBrotli is a brotli writer at quality q with a 64 KiB window. It is
// go-brrr's, not andybalholm's: on the blog's pages it writes the same
// bytes in about 0.7 times the time (RATIONALE.md, "Why are the gzip and
// brotli writers pooled?").
func newBrotli(q int) *brotli.Writer {
	w, err := brotli.NewWriterOptions(nil, q, brotli.WriterOptions{LGWin: 16})
	if err != nil {
		panic(err) // q and the window are constants in range
	}
	return w
}

// Gzip compresses b at the best compression level, with klauspost's
// gzip, not the standard library's: on the blog's pages (3 to 5 KB) it
// writes 0.5% fewer bytes in 0.71 times the time (RATIONALE.md, "Why are
// the gzip and brotli writers pooled?"). Its output is plain gzip.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/3 + 64)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	w.Write(b)
	w.Close()
	gzipWriters.Put(w)
	return buf.Bytes()
}

// Brotli compresses b at quality 9.
func Brotli(b []byte) []byte { return brotliAt(&brotliWriters, b) }

// brotliAt compresses b with a writer from pool.
func brotliAt(pool *sync.Pool, b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/3 + 64)
	w := pool.Get().(*brotli.Writer)
	// The size hint lets the encoder pick tables for a small input.
	// go-brrr's Close keeps the compressor (its hash tables) for the
	// next page only in a writer that was Reset, as every pooled one is
	// here before its first Write.
	w.ResetWithSizeHint(&buf, uint(len(b)))
	w.Write(b)
	w.Close()
	pool.Put(w)
	return buf.Bytes()
}
