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
		t.Run(tt.name, func(t *testing.T) {
			gz, br := Variants(tt.body, tt.contentType)
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
