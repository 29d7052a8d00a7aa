package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sdk/go/abi"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../../.."

// vector is one conformance case (sdk/testdata/conformance/BUILD.md).
type vector struct {
	Name    string `json:"name"`
	Export  string `json:"export"`
	Request struct {
		Mode          uint32 `json:"mode"`
		Route         string `json:"route"`
		Path          string `json:"path"`
		Params        []Param
		PrevGenerated int64 `json:"prev_generated"`
	} `json:"request"`
	Data            map[string]string `json:"data"`
	DataUnavailable bool              `json:"data_unavailable"`
	Want            struct {
		Response *struct {
			Status     uint32       `json:"status"`
			Flags      uint32       `json:"flags"`
			Revalidate int64        `json:"revalidate"`
			Redirect   string       `json:"redirect"`
			Headers    []abi.Header `json:"headers"`
			Tags       []string     `json:"tags"`
			Body       string       `json:"body"`
			BodyRepeat int          `json:"body_repeat"`
		} `json:"response"`
		Paths       []string `json:"paths"`
		Error       string   `json:"error"`
		Unavailable bool     `json:"unavailable"`
		Deps        *Deps    `json:"deps"`
		Log         string   `json:"log"`
	} `json:"want"`
}

// wantBytes is the encoded answer the vector expects.
func (v *vector) wantBytes() []byte {
	if v.Export == "paths" {
		return abi.AppendPaths(nil, v.Want.Paths)
	}
	w := v.Want.Response
	body := []byte(w.Body)
	if w.BodyRepeat > 0 {
		body = bytes.Repeat(body, w.BodyRepeat)
	}
	return abi.AppendResponse(nil, &abi.Response{Status: w.Status, Flags: w.Flags, Revalidate: w.Revalidate,
		Redirect: w.Redirect, Headers: w.Headers, Tags: w.Tags, Body: body})
}

func (v *vector) request() Request {
	r := v.Request
	req := Request{Mode: Mode(r.Mode), Route: r.Route, Path: r.Path, Params: r.Params}
	if r.PrevGenerated != 0 {
		req.PrevGenerated = time.UnixMilli(r.PrevGenerated)
	}
	return req
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "sdk/testdata/conformance/*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	var vs []vector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		vs = append(vs, v)
	}
	return vs
}

// switchData is the Data of the conformance renderers: each vector swaps
// in its own fake source.
type switchData struct{ cur *memData }

func (d *switchData) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return d.cur.Get(ctx, key)
}

func (d *switchData) GetMany(ctx context.Context, keys []string) ([][]byte, []bool, error) {
	return d.cur.GetMany(ctx, keys)
}

func (d *switchData) List(ctx context.Context, prefix, cursor string, limit int, reverse bool) ([]Item, string, error) {
	return d.cur.List(ctx, prefix, cursor, limit, reverse)
}

// TestConformance runs every vector against every language's conformance
// renderer, built from source as BUILD.md says.
func TestConformance(t *testing.T) {
	vectors := loadVectors(t)
	for _, lang := range []string{"go", "c", "rust", "assemblyscript"} {
		t.Run(lang, func(t *testing.T) {
			wasm := buildConformance(t, lang)
			rec := &logRecorder{}
			rt := newTestRuntime(t, slog.New(rec))
			data := &switchData{}
			r := load(t, rt, Config{Name: "conformance-" + lang, WasmPath: wasm, Pool: 1, Data: data})
			if !r.guarded {
				t.Errorf("the %s module was not instrumented", lang)
			}
			for _, v := range vectors {
				t.Run(v.Name, func(t *testing.T) {
					data.cur = &memData{items: v.Data, down: v.DataUnavailable}
					runVector(t, r, rec, &v)
				})
			}
		})
	}
}

func runVector(t *testing.T, r *wasmRenderer, rec *logRecorder, v *vector) {
	export := map[string]string{"render": abi.ExportRender, "paths": abi.ExportPaths, "fallback": abi.ExportFallback}[v.Export]
	got, deps, err := r.call(context.Background(), export, v.request())
	switch {
	case v.Want.Error != "":
		if err == nil || !strings.Contains(err.Error(), v.Want.Error) {
			t.Errorf("err = %v, want one containing %q", err, v.Want.Error)
		}
		if got, want := errors.Is(err, ErrUnavailable), v.Want.Unavailable; got != want {
			t.Errorf("errors.Is(err, ErrUnavailable) = %v, want %v (err %v)", got, want, err)
		}
	case err != nil:
		t.Fatalf("err = %v", err)
	default:
		if want := v.wantBytes(); !bytes.Equal(got, want) {
			t.Errorf("answer differs:\n got %s\nwant %s", describe(got), describe(want))
		}
	}
	if v.Want.Deps != nil {
		if !slices.Equal(deps.Keys, v.Want.Deps.Keys) || !slices.Equal(deps.Prefixes, v.Want.Deps.Prefixes) {
			t.Errorf("deps = %+v, want %+v", deps, *v.Want.Deps)
		}
	}
	if v.Want.Log != "" && !slices.Contains(rec.messages(), v.Want.Log) {
		t.Errorf("log lacks %q", v.Want.Log)
	}
}

// describe shows an encoded answer readably, decoded when it decodes.
func describe(b []byte) string {
	if len(b) > 512 {
		return fmt.Sprintf("%d bytes %x...", len(b), b[:64])
	}
	if resp, err := abi.DecodeResponse(b); err == nil {
		return fmt.Sprintf("%+v (body %q)", resp, resp.Body)
	}
	return fmt.Sprintf("%x", b)
}

// buildConformance builds a language's conformance renderer with the
// command of sdk/testdata/conformance/BUILD.md, skipping the language when
// its toolchain or sources are missing (failing in CI).
func buildConformance(t *testing.T, lang string) string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(cacheDir(t), "conformance-"+lang+".wasm")
	ctx := context.Background()
	switch lang {
	case "go":
		_, err = BuildGo(ctx, filepath.Join(root, "sdk/go/internal/conformance"), out)
	case "c":
		needSources(t, root, "sdk/c/conformance/main.c")
		needTool(t, "clang", "clang, lld and wasi-libc")
		argv := []string{"clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-o", out, "sdk/c/conformance/main.c"}
		_, err = RunBuild(ctx, root, argv, out, []string{"sdk/c"})
	case "rust":
		needSources(t, root, "sdk/rust/conformance/src/lib.rs", "sdk/rust/src/lib.rs")
		needTool(t, "/usr/bin/rustc", "rustc with the wasm32-wasi target (apt install rustc libstd-rust-dev-wasm32)")
		err = buildRust(ctx, root, out)
	case "assemblyscript":
		needSources(t, root, "sdk/assemblyscript/conformance/index.ts")
		asc := filepath.Join(root, "sdk/assemblyscript/node_modules/.bin/asc")
		needTool(t, asc, "node and `npm ci` in sdk/assemblyscript")
		argv := []string{asc, "conformance/index.ts", "--config", "conformance/asconfig.json", "--target", "release", "-o", out}
		_, err = RunBuild(ctx, filepath.Join(root, "sdk/assemblyscript"), argv, out, []string{"assembly", "conformance", "asconfig.json"})
	}
	if err != nil {
		t.Fatalf("build %s conformance renderer: %v", lang, err)
	}
	return out
}

func buildRust(ctx context.Context, root, out string) error {
	rlib := filepath.Join(filepath.Dir(out), "libkiln.rlib")
	base := []string{"/usr/bin/rustc", "--edition", "2021", "--target", "wasm32-wasi", "-C", "opt-level=2"}
	lib := append(slices.Clone(base), "--crate-type", "rlib", "--crate-name", "kiln", "-o", rlib, "sdk/rust/src/lib.rs")
	if _, err := RunBuild(ctx, root, lib, rlib, []string{"sdk/rust/src"}); err != nil {
		return err
	}
	bin := append(slices.Clone(base), "--crate-type", "cdylib", "--extern", "kiln="+rlib, "-o", out, "sdk/rust/conformance/src/lib.rs")
	_, err := RunBuild(ctx, root, bin, out, []string{"sdk/rust/conformance", rlib})
	return err
}

// needSources skips (or fails in CI) when an SDK's sources are missing.
func needSources(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s missing", p)
			}
			t.Skipf("%s missing: that SDK is not written yet", p)
		}
	}
}
