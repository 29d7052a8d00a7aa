package abi_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
)

// unhex decodes hex text, ignoring spaces and newlines.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worked example of sdk/ABI.md §6, byte for byte.
const (
	exampleRequest = `02000000
		0c000000 2f706f7374732f3a736c7567
		12000000 2f706f7374732f68656c6c6f2d776f726c64
		01000000
		04000000 736c7567
		0b000000 68656c6c6f2d776f726c64
		0000000000000000`
	exampleResponse = `00000000 00000000 ffffffffffffffff 00000000 00000000
		01000000 04000000 706f7374
		0b000000 3c68313e48693c2f68313e`
)

func TestWorkedExample(t *testing.T) {
	req := abi.Request{Mode: 2, Route: "/posts/:slug", Path: "/posts/hello-world",
		Params: []abi.Param{{Name: "slug", Value: "hello-world"}}}
	got, want := abi.AppendRequest(nil, &req), unhex(t, exampleRequest)
	if !bytes.Equal(got, want) || len(got) != 77 {
		t.Errorf("request = %x (%d bytes), want %x", got, len(got), want)
	}
	resp := abi.Response{Revalidate: -1, Tags: []string{"post"}, Body: []byte("<h1>Hi</h1>")}
	if got, want := abi.AppendResponse(nil, &resp), unhex(t, exampleResponse); !bytes.Equal(got, want) {
		t.Errorf("response = %x, want %x", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	req := abi.Request{Mode: 3, Route: "/docs/*path", Path: "/docs/a/b",
		Params: []abi.Param{{Name: "path", Value: "a/b"}, {Name: "x"}}, PrevGenerated: -5}
	gotReq, err := abi.DecodeRequest(abi.AppendRequest(nil, &req))
	if err != nil || !equalRequest(gotReq, req) {
		t.Errorf("request round trip = %+v, %v", gotReq, err)
	}
	resp := abi.Response{Status: 308, Flags: abi.FlagNoStore, Revalidate: 60, Redirect: "/x",
		Headers: []abi.Header{{Name: "A", Value: "b"}}, Tags: []string{"t1", "t2"}, Body: []byte{0, 1, 2}}
	enc := abi.AppendResponse(nil, &resp)
	gotResp, err := abi.DecodeResponse(enc)
	if err != nil || !bytes.Equal(abi.AppendResponse(nil, &gotResp), enc) {
		t.Errorf("response round trip = %+v, %v", gotResp, err)
	}
	page := abi.ListPage{Items: []abi.Item{{Key: "a", Value: []byte("1")}, {Key: "b"}}, Next: "b"}
	encPage := abi.AppendListPage(nil, &page)
	gotPage, err := abi.DecodeListPage(encPage)
	if err != nil || !bytes.Equal(abi.AppendListPage(nil, &gotPage), encPage) {
		t.Errorf("list page round trip = %+v, %v", gotPage, err)
	}
	paths := []string{"/a", "/b"}
	gotPaths, err := abi.DecodePaths(abi.AppendPaths(nil, paths))
	if err != nil || strings.Join(gotPaths, ",") != "/a,/b" {
		t.Errorf("paths round trip = %q, %v", gotPaths, err)
	}
}

func equalRequest(a, b abi.Request) bool {
	return bytes.Equal(abi.AppendRequest(nil, &a), abi.AppendRequest(nil, &b))
}

func TestDecodeMalformed(t *testing.T) {
	full := unhex(t, exampleResponse)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", full[:len(full)-1]},
		{"trailing", append(append([]byte{}, full...), 0)},
		{"huge count", unhex(t, "00000000 00000000 ffffffffffffffff 00000000 ffffffff")},
		{"huge string", unhex(t, "00000000 00000000 ffffffffffffffff ffffff7f")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := abi.DecodeResponse(tt.b); !errors.Is(err, abi.ErrMalformed) {
				t.Errorf("DecodeResponse err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	tests := []struct {
		name string
		resp abi.Response
		want string // "" means valid
	}{
		{"plain", abi.Response{Revalidate: -1, Body: []byte("x")}, ""},
		{"content type", abi.Response{Headers: []abi.Header{{Name: "Content-Type", Value: "text/plain"}}}, ""},
		{"redirect 0", abi.Response{Redirect: "/a"}, ""},
		{"redirect 308", abi.Response{Status: 308, Redirect: "/a"}, ""},
		{"redirect 200", abi.Response{Status: 200, Redirect: "/a"}, "redirect with status 200"},
		{"redirect crlf", abi.Response{Redirect: "/a\r\nX: y"}, "redirect"},
		{"status 99", abi.Response{Status: 99}, "status 99"},
		{"unknown flag", abi.Response{Flags: 4}, "unknown flags"},
		{"revalidate -2", abi.Response{Revalidate: -2}, "revalidate -2"},
		{"crlf value", abi.Response{Headers: []abi.Header{{Name: "X-A", Value: "a\r\nb"}}}, "bad value"},
		{"nul value", abi.Response{Headers: []abi.Header{{Name: "X-A", Value: "a\x00"}}}, "bad value"},
		{"bad utf8", abi.Response{Headers: []abi.Header{{Name: "X-A", Value: "\xff"}}}, "bad value"},
		{"space in name", abi.Response{Headers: []abi.Header{{Name: "X A", Value: "b"}}}, "header name"},
		{"empty name", abi.Response{Headers: []abi.Header{{Name: "", Value: "b"}}}, "header name"},
		{"hop by hop", abi.Response{Headers: []abi.Header{{Name: "connection", Value: "close"}}}, "header connection refused"},
		{"host owned", abi.Response{Headers: []abi.Header{{Name: "Cache-Control", Value: "x"}}}, "header Cache-Control refused"},
		{"cookie stored", abi.Response{Headers: []abi.Header{{Name: "Set-Cookie", Value: "a=b"}}}, "header Set-Cookie refused"},
		{"cookie no store", abi.Response{Flags: abi.FlagNoStore, Headers: []abi.Header{{Name: "Set-Cookie", Value: "a=b"}}}, ""},
		{"empty tag", abi.Response{Tags: []string{""}}, "tag"},
		{"control tag", abi.Response{Tags: []string{"a\tb"}}, "tag"},
		{"long tag", abi.Response{Tags: []string{strings.Repeat("a", 257)}}, "tag"},
		{"unicode tag", abi.Response{Tags: []string{"post:héllo"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := abi.ValidateResponse(&tt.resp)
			if tt.want == "" {
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, abi.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

// The get_many example of sdk/ABI.md §6, byte for byte: keys "a" and "b",
// where "a" holds "1" and "b" does not exist.
const (
	exampleKeys   = `02000000 01000000 61 01000000 62`
	exampleValues = `02000000 01000000 01000000 31 00000000 00000000`
)

func TestGetManyExample(t *testing.T) {
	if got, want := abi.AppendKeys(nil, []string{"a", "b"}), unhex(t, exampleKeys); !bytes.Equal(got, want) || len(got) != 14 {
		t.Errorf("keys = %x, want %x", got, want)
	}
	got := abi.AppendValues(nil, [][]byte{[]byte("1"), nil}, []bool{true, false})
	if want := unhex(t, exampleValues); !bytes.Equal(got, want) || len(got) != 21 {
		t.Errorf("values = %x, want %x", got, want)
	}
	values, found, err := abi.DecodeValues(got)
	if err != nil || len(values) != 2 || string(values[0]) != "1" || values[1] != nil || !found[0] || found[1] {
		t.Errorf("DecodeValues = %q, %v, %v", values, found, err)
	}
	keys, err := abi.DecodeKeys(unhex(t, exampleKeys))
	if err != nil || strings.Join(keys, ",") != "a,b" {
		t.Errorf("DecodeKeys = %q, %v", keys, err)
	}
}

func TestDecodeValuesMalformed(t *testing.T) {
	tests := []struct {
		name string
		b    string
	}{
		{"empty", ""},
		{"short", `01000000 01000000`},
		{"flag 2", `01000000 02000000 00000000`},
		{"value beside missing", `01000000 00000000 01000000 31`},
		{"trailing", `00000000 00`},
		{"huge count", `ffffffff`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := abi.DecodeValues(unhex(t, tt.b)); !errors.Is(err, abi.ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
