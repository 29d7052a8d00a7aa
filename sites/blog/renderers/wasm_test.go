// Package renderers_test builds every blog renderer to WebAssembly, as the
// engine does, and checks the modules export what the ABI requires. The C
// About page is also run in wazero against the sample data (golden file),
// and its JSON reader is unit-tested and fuzzed natively.
//
// Missing toolchains (clang, libFuzzer) skip their tests, or fail them when
// CI is set.
package renderers_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

// TestGoRenderersBuildForWasm builds each Go renderer with the engine's
// command line and checks its exports.
func TestGoRenderersBuildForWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four wasm modules; skipped with -short")
	}
	tests := []struct {
		name    string
		exports []string
	}{
		{"home", []string{abi.ExportRender}},
		{"post", []string{abi.ExportRender, abi.ExportPaths}},
		{"notfound", []string{abi.ExportRender}},
		{"shell", []string{abi.ExportRender, abi.ExportFallback}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tt.name+".wasm")
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+tt.name)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
			checkExports(t, out, tt.exports)
		})
	}
}

// checkExports compiles the module and checks the marker, _initialize and
// the wanted exports are there.
func checkExports(t *testing.T, file string, want []string) {
	t.Helper()
	bin, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	have := mod.ExportedFunctions()
	for _, name := range append([]string{abi.Marker, "_initialize"}, want...) {
		if _, ok := have[name]; !ok {
			t.Errorf("%s does not export %s", filepath.Base(file), name)
		}
	}
	if _, ok := have["_start"]; ok {
		t.Errorf("%s is a WASI command (exports _start), not a reactor", filepath.Base(file))
	}
}

// needTool finds a toolchain binary, skipping (or failing in CI) without it.
func needTool(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: install %s", name, install)
		}
		t.Skipf("%s not found: install %s", name, install)
	}
	return path
}

const aboutDir = "about-c"

// buildAbout builds about.wasm with the command about-c.hcl runs.
func buildAbout(t *testing.T) string {
	t.Helper()
	clang := needTool(t, "clang", "clang, lld and wasi-libc (apt-get install clang lld wasi-libc)")
	out := filepath.Join(t.TempDir(), "about.wasm")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra", "-Werror",
		"-I../../../../sdk/c", "-o", out, "about.c", "json.c")
	cmd.Dir = aboutDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, b)
	}
	return out
}

func TestAboutC(t *testing.T) {
	wasm := buildAbout(t)
	checkExports(t, wasm, []string{abi.ExportRender})
	bin, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	req := &abi.Request{Mode: 2, Route: "/about", Path: "/about"}

	resp, err := runWasm(t, bin, req, blogtest.SampleData(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Flags != 0 || resp.Status != 0 || !slices.Equal(resp.Tags, []string{"about"}) {
		t.Errorf("flags %d, status %d, tags %q; want a 200 page tagged about", resp.Flags, resp.Status, resp.Tags)
	}
	t.Chdir(aboutDir)
	blogtest.Golden(t, "about.golden.html", resp.Body)

	resp, err = runWasm(t, bin, req, blogtest.Assets(t))
	if err != nil || resp.Flags != abi.FlagNotFound {
		t.Errorf("without site:about: flags %d, err %v; want NOT_FOUND", resp.Flags, err)
	}
	_, err = runWasm(t, bin, req, kilntest.Data{"site:about": `{"title": 1}`})
	if err == nil || !strings.Contains(err.Error(), "site:about") {
		t.Errorf("malformed site:about: err = %v, want a failure naming it", err)
	}
}

// TestAboutCEscapes checks text from the data source is HTML-escaped.
func TestAboutCEscapes(t *testing.T) {
	bin, err := os.ReadFile(buildAbout(t))
	if err != nil {
		t.Fatal(err)
	}
	d := kilntest.Data{"site:about": `{"title":"<script>x</script>","intro":"\"><img src=x onerror=y>","paragraphs":["a & b \u003cb\u003e"]}`}
	resp, err := runWasm(t, bin, &abi.Request{Mode: 2, Route: "/about", Path: "/about"}, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if bytes.Contains(resp.Body, []byte(bad)) {
			t.Errorf("page contains %q:\n%s", bad, resp.Body)
		}
	}
}

// runWasm runs kiln_render of a reactor module with a minimal host that
// serves data from src (sdk/ABI.md §4).
func runWasm(t *testing.T, bin []byte, req *abi.Request, src kilntest.Source) (abi.Response, error) {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	h := &miniHost{src: src, req: abi.AppendRequest(nil, req)}
	if _, err := h.module(r).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mod.ExportedFunction(abi.ExportRender).Call(ctx, uint64(len(h.req)))
	switch {
	case err != nil:
		return abi.Response{}, err
	case res[0] != 0:
		return abi.Response{}, errors.New("render failed: " + h.fail)
	}
	return abi.DecodeResponse(h.resp)
}

// miniHost is the engine's side of one render: just enough for a test.
type miniHost struct {
	src       kilntest.Source
	req, resp []byte
	pending   []byte
	fail      string
}

func (h *miniHost) module(r wazero.Runtime) wazero.HostModuleBuilder {
	b := r.NewHostModuleBuilder(abi.ImportModule)
	fn := func(name string, f any) { b.NewFunctionBuilder().WithFunc(f).Export(name) }
	fn("request", func(_ context.Context, m api.Module, ptr uint32) { m.Memory().Write(ptr, h.req) })
	fn("response", func(_ context.Context, m api.Module, ptr, n uint32) { h.resp = read(m, ptr, n) })
	fn("fail", func(_ context.Context, m api.Module, ptr, n uint32) { h.fail = string(read(m, ptr, n)) })
	fn("result", func(_ context.Context, m api.Module, ptr uint32) { m.Memory().Write(ptr, h.pending) })
	fn("log", func(_ context.Context, m api.Module, level, ptr, n uint32) {})
	fn("data_get", func(_ context.Context, m api.Module, kp, kn uint32) int32 {
		v, found, err := h.src.Get(string(read(m, kp, kn)))
		return h.result(v, found, err)
	})
	fn("data_list", func(_ context.Context, m api.Module, pp, pn, cp, cn, limit, reverse uint32) int32 {
		if limit == 0 {
			limit = abi.DefaultListLimit
		}
		items, next, err := h.src.List(string(read(m, pp, pn)), string(read(m, cp, cn)), int(min(limit, abi.MaxListLimit)), reverse == 1)
		page := abi.ListPage{Next: next}
		for _, it := range items {
			page.Items = append(page.Items, abi.Item{Key: it.Key, Value: it.Value})
		}
		return h.result(abi.AppendListPage(nil, &page), true, err)
	})
	fn(abi.ImportGetMany, func(_ context.Context, m api.Module, kp, kn uint32) int32 {
		keys, err := abi.DecodeKeys(read(m, kp, kn))
		if err != nil {
			panic(err)
		}
		values, found := make([][]byte, len(keys)), make([]bool, len(keys))
		for i, k := range keys {
			v, f, err := h.src.Get(k)
			if err != nil {
				return abi.Unavailable
			}
			if f {
				values[i], found[i] = v, true
			}
		}
		return h.result(abi.AppendValues(nil, values, found), true, nil)
	})
	return b
}

func (h *miniHost) result(v []byte, found bool, err error) int32 {
	switch {
	case err != nil:
		return abi.Unavailable
	case !found:
		return abi.Missing
	}
	h.pending = v
	return int32(len(v))
}

func read(m api.Module, ptr, n uint32) []byte {
	b, _ := m.Memory().Read(ptr, n)
	return bytes.Clone(b)
}

// TestJSONReaderC runs the C JSON reader's table tests natively, under
// the address and undefined-behaviour sanitizers.
func TestJSONReaderC(t *testing.T) { runCTests(t, aboutDir, "json_test", "json.c") }

// TestJSONReaderFuzz runs the libFuzzer target for a bounded number of
// inputs, seeded from testdata/fuzz.
func TestJSONReaderFuzz(t *testing.T) { runCFuzz(t, aboutDir, "json_fuzz", "json.c") }

// runCTests builds dir/name.c with srcs natively, under the address and
// undefined-behaviour sanitizers, and runs it: a C file of table tests.
func runCTests(t *testing.T, dir, name string, srcs ...string) {
	clang := needTool(t, "clang", "clang (apt-get install clang)")
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"-fsanitize=address,undefined", "-Wall", "-Wextra", "-Werror", "-o", bin, name + ".c"}, srcs...)
	cmd := exec.Command(clang, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, b)
	}
	if b, err := exec.Command(bin).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, b)
	}
}

// runCFuzz builds dir/name.c with srcs as a libFuzzer target and runs it
// for a bounded number of inputs, seeded from dir/testdata/fuzz.
func runCFuzz(t *testing.T, dir, name string, srcs ...string) {
	if testing.Short() {
		t.Skip("fuzzing skipped with -short")
	}
	clang := needTool(t, "clang", "clang (apt-get install clang)")
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"-fsanitize=fuzzer,address,undefined", "-o", bin, name + ".c"}, srcs...)
	cmd := exec.Command(clang, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clang -fsanitize=fuzzer: %v\n%s", err, b)
		}
		t.Skipf("libFuzzer unavailable (install clang's compiler-rt): %s", b)
	}
	corpus := t.TempDir()
	seeds, _ := filepath.Glob(filepath.Join(dir, "testdata", "fuzz", "*"))
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		os.WriteFile(filepath.Join(corpus, filepath.Base(s)), b, 0o644)
	}
	if b, err := exec.Command(bin, "-runs=50000", "-max_len=4096", corpus).CombinedOutput(); err != nil {
		t.Fatalf("%s found a crash: %v\n%s", name, err, tail(b))
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-3000):] }
