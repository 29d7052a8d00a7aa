package render

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/sdk/go/abi"
)

// FuzzDecodeResponse checks the host's decoding and validation of guest
// answers never panics, and that what it accepts passes the ABI's rules.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(abi.AppendResponse(nil, &abi.Response{Revalidate: -1, Body: []byte("<h1>Hi</h1>")}))
	f.Add(abi.AppendResponse(nil, &abi.Response{Status: 308, Redirect: "/x", Headers: []abi.Header{{Name: "X-A", Value: "b"}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := decodeResponse(b)
		if err != nil {
			return
		}
		if resp.Status < 200 || resp.Status > 599 {
			t.Errorf("accepted status %d", resp.Status)
		}
		if resp.Revalidate < 0 && resp.Revalidate != RevalidateDefault {
			t.Errorf("revalidate %d wrapped negative", resp.Revalidate)
		}
	})
}

// TestHugeRevalidate: seconds past what a Duration holds mean "practically
// never", not a short interval after wrapping.
func TestHugeRevalidate(t *testing.T) {
	for _, secs := range []int64{18446744073, 1 << 62, 9223372036} {
		resp, err := decodeResponse(abi.AppendResponse(nil, &abi.Response{Revalidate: secs, Body: []byte("x")}))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Revalidate < 290*365*24*time.Hour {
			t.Errorf("revalidate %d s = %s, want about 292 years", secs, resp.Revalidate)
		}
	}
}

func FuzzDecodePaths(f *testing.F) {
	f.Add(abi.AppendPaths(nil, []string{"/a", "/b"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		paths, err := decodePaths(b)
		for _, p := range paths {
			if err == nil && (p == "" || p[0] != '/') {
				t.Errorf("accepted path %q", p)
			}
		}
	})
}
