package render

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/tetratelabs/wazero"
)

// TestGetManyOneCall checks that data_get_many reaches Data in one
// GetMany call per batch (the Go SDK splits at 1000 keys), that every key
// is a dependency in order, and that kiln: keys are answered by the host.
func TestGetManyOneCall(t *testing.T) {
	rt := newTestRuntime(t, nil)
	data := &memData{items: map[string]string{"a": "1", "b": "2"}}
	r := load(t, rt, Config{Name: "many", WasmPath: buildConformance(t, "go"), Pool: 1, Data: data,
		Assets: func(name string) (string, bool) { return "/assets/" + name, name == "x.css" }})
	many := func(keys ...string) Request {
		k := strings.Join(keys, ",")
		return Request{Mode: ModeBlocking, Route: "/many/*keys", Path: "/many/" + k, Params: []Param{{Name: "keys", Value: k}}}
	}
	tests := []struct {
		name    string
		keys    []string
		body    string
		batches []int
	}{
		{"two", []string{"a", "nope", "b"}, "a=1\nnope missing\nb=2\n", []int{3}},
		{"reserved keys stay in the host", []string{"kiln:asset:x.css", "a", "kiln:other"},
			"kiln:asset:x.css=/assets/x.css\na=1\nkiln:other missing\n", []int{1}},
		{"only reserved keys", []string{"kiln:asset:x.css"}, "kiln:asset:x.css=/assets/x.css\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data.batches = nil
			resp, err := r.Render(context.Background(), many(tt.keys...))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(resp.Body); got != tt.body {
				t.Errorf("body = %q, want %q", got, tt.body)
			}
			if !slices.Equal(data.batches, tt.batches) {
				t.Errorf("GetMany calls of %v keys, want %v", data.batches, tt.batches)
			}
			if !slices.Equal(resp.Deps.Keys, tt.keys) {
				t.Errorf("deps = %q, want %q", resp.Deps.Keys, tt.keys)
			}
		})
	}
	t.Run("split at 1000", func(t *testing.T) {
		keys := make([]string, 1001)
		for i := range keys {
			keys[i] = fmt.Sprint("k", i)
		}
		data.batches = nil
		resp, err := r.Render(context.Background(), many(keys...))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(data.batches, []int{1000, 1}) || len(resp.Deps.Keys) != 1001 {
			t.Errorf("GetMany calls of %v keys, %d deps; want [1000 1], 1001", data.batches, len(resp.Deps.Keys))
		}
	})
}

// TestGetManyOptional checks the import is optional both ways: a Go
// renderer that never calls kiln.GetMany (testdata/page, which uses
// html/template and so reflection) does not import data_get_many, and it
// loads and renders.
func TestGetManyOptional(t *testing.T) {
	wasm := buildGoGuest(t, "testdata/page")
	bin, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wr := wazero.NewRuntime(ctx)
	defer wr.Close(ctx)
	cm, err := wr.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range cm.ImportedFunctions() {
		if mod, name, _ := def.Import(); mod == "kiln" && name == abi.ImportGetMany {
			t.Errorf("testdata/page imports kiln.%s without calling kiln.GetMany", name)
		}
	}
	r := load(t, newTestRuntime(t, nil), Config{Name: "page", WasmPath: wasm, Pool: 1, Data: benchPost})
	if _, err := r.Render(context.Background(), benchReq); err != nil {
		t.Fatal(err)
	}
}
