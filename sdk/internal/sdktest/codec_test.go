package sdktest_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// abiExample is the request of sdk/ABI.md §6.
const abiExample = "02000000" + "0c000000" + "2f706f7374732f3a736c7567" +
	"12000000" + "2f706f7374732f68656c6c6f2d776f726c64" + "01000000" +
	"04000000" + "736c7567" + "0b000000" + "68656c6c6f2d776f726c64" + "0000000000000000"

func TestCodecABIExample(t *testing.T) {
	req := sdktest.Request{Mode: 2, Route: "/posts/:slug", Path: "/posts/hello-world",
		Params: [][2]string{{"slug", "hello-world"}}}
	if got := hex.EncodeToString(req.Encode()); got != abiExample {
		t.Errorf("request = %s, want %s", got, abiExample)
	}
	res := sdktest.Response{Revalidate: -1, Tags: []string{"post"}, Body: "<h1>Hi</h1>"}
	want := "00000000" + "00000000" + "ffffffffffffffff" + "00000000" + "00000000" +
		"01000000" + "04000000" + "706f7374" + "0b000000" + "3c68313e48693c2f68313e"
	if got := hex.EncodeToString(res.Encode()); got != want {
		t.Errorf("response = %s, want %s", got, want)
	}
}

// FuzzDecode checks the test codec: whatever decodes re-encodes to the
// same bytes, and nothing panics.
func FuzzDecode(f *testing.F) {
	b, _ := hex.DecodeString(abiExample)
	f.Add(b)
	f.Add(sdktest.Response{Revalidate: 60, Headers: [][2]string{{"a", "b"}}, Body: "x"}.Encode())
	f.Add(sdktest.EncodeList([]sdktest.Item{{Key: "k", Value: []byte("v")}}, "k"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := sdktest.DecodeRequest(b); err == nil && !bytes.Equal(r.Encode(), b) {
			t.Errorf("request %x re-encodes as %x", b, r.Encode())
		}
		if r, err := sdktest.DecodeResponse(b); err == nil && !bytes.Equal(r.Encode(), b) {
			t.Errorf("response %x re-encodes as %x", b, r.Encode())
		}
		if p, err := sdktest.DecodePaths(b); err == nil && !bytes.Equal(sdktest.EncodePaths(p), b) {
			t.Errorf("paths %x re-encode as %x", b, sdktest.EncodePaths(p))
		}
	})
}
