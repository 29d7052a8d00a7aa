package abi_test

import (
	"bytes"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
)

// Each fuzz target checks that decoding never panics and that whatever
// decodes re-encodes to the same bytes (the encoding is canonical).

func FuzzDecodeRequest(f *testing.F) {
	f.Add(unhex(f, exampleRequest))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := abi.DecodeRequest(b)
		if err == nil && !bytes.Equal(abi.AppendRequest(nil, &req), b) {
			t.Errorf("re-encoding %x differs", b)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(unhex(f, exampleResponse))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := abi.DecodeResponse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(abi.AppendResponse(nil, &resp), b) {
			t.Errorf("re-encoding %x differs", b)
		}
		_ = abi.ValidateResponse(&resp)
	})
}

func FuzzDecodePaths(f *testing.F) {
	f.Add(abi.AppendPaths(nil, []string{"/a", "/b"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		paths, err := abi.DecodePaths(b)
		if err == nil && !bytes.Equal(abi.AppendPaths(nil, paths), b) {
			t.Errorf("re-encoding %x differs", b)
		}
	})
}

func FuzzDecodeListPage(f *testing.F) {
	f.Add(abi.AppendListPage(nil, &abi.ListPage{Items: []abi.Item{{Key: "a", Value: []byte("1")}}, Next: "a"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := abi.DecodeListPage(b)
		if err == nil && !bytes.Equal(abi.AppendListPage(nil, &p), b) {
			t.Errorf("re-encoding %x differs", b)
		}
	})
}

func FuzzDecodeValues(f *testing.F) {
	f.Add(unhex(f, exampleValues))
	f.Fuzz(func(t *testing.T, b []byte) {
		values, found, err := abi.DecodeValues(b)
		if err == nil && !bytes.Equal(abi.AppendValues(nil, values, found), b) {
			t.Errorf("re-encoding %x differs", b)
		}
	})
}
