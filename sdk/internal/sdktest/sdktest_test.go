package sdktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

// builds caches one build per language and target for the whole test run.
var (
	buildDir string
	builds   sync.Map // "lang/target" -> *buildResult
)

type buildResult struct {
	once sync.Once
	wasm []byte
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdktest")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// wasm builds (once) and returns lang's target module, skipping the test
// when the toolchain is missing, unless CI is set.
func wasm(t testing.TB, lang sdktest.Lang, target string) []byte {
	t.Helper()
	v, _ := builds.LoadOrStore(string(lang)+"/"+target, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() { b.wasm, b.err = cachedBuild(lang, target) })
	if errors.Is(b.err, sdktest.ErrToolchain) && os.Getenv("CI") == "" {
		t.Skip(b.err)
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.wasm
}

// cachedBuild builds lang's target, reusing the module of an earlier run
// (in the user cache directory) when no source file of the SDK changed.
func cachedBuild(lang sdktest.Lang, target string) ([]byte, error) {
	if err := sdktest.Toolchain(context.Background(), lang, "../.."); err != nil {
		return nil, err
	}
	sum, err := sdktest.SourceHash(filepath.Join("../..", string(lang)))
	if err != nil {
		return nil, err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	cached := filepath.Join(cache, "kiln-sdktest", fmt.Sprintf("%s-%s-%s.wasm", lang, target, sum))
	if b, err := os.ReadFile(cached); err == nil {
		return b, nil
	}
	path, err := sdktest.Build(context.Background(), lang, "../..", target, buildDir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err == nil && os.MkdirAll(filepath.Dir(cached), 0o755) == nil {
		os.WriteFile(cached, b, 0o644) // best effort
	}
	return b, err
}

// load builds and instantiates lang's target in a fresh host.
func load(t testing.TB, lang sdktest.Lang, target string) *sdktest.Module {
	t.Helper()
	code := wasm(t, lang, target)
	ctx := context.Background()
	h, err := sdktest.NewHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	m, err := h.Load(ctx, string(lang)+"-"+target, code)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var conformanceData = sdktest.MapData{
	Values: map[string]string{
		"hello":   "world",
		"empty":   "",
		"item:a":  "1",
		"item:b":  "2",
		"item:c":  "3",
		"item:d":  "4",
		"item:e":  "5",
		"other:z": "26",
		"uni:é":   "ü",
	},
	Down: "down",
}

func blocking(path string, params ...string) abi.Request {
	r := abi.Request{Mode: 2, Route: path, Path: path}
	for i := 0; i+1 < len(params); i += 2 {
		r.Params = append(r.Params, abi.Param{Name: params[i], Value: params[i+1]})
	}
	return r
}

func page(body string) abi.Response { return abi.Response{Revalidate: -1, Body: []byte(body)} }

// encode encodes a request for a kiln_* export.
func encode(r abi.Request) []byte { return abi.AppendRequest(nil, &r) }

var conformanceCases = []struct {
	name     string
	req      abi.Request
	want     abi.Response
	wantFail string
	wantLog  string
}{
	{name: "unicode", req: blocking("/unicode"), want: abi.Response{Revalidate: -1,
		Headers: []abi.Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}},
		Body:    []byte("héllo, wörld — ✓ 日本語 🎉")}},
	{name: "empty", req: blocking("/empty"), want: page("")},
	{name: "large", req: blocking("/large"), want: page(strings.Repeat("0123456789abcdef", 65536))},
	{name: "get found", req: blocking("/get/hello", "key", "hello"), want: page("found:world")},
	{name: "get empty value", req: blocking("/get/empty", "key", "empty"), want: page("found:")},
	{name: "get unicode", req: blocking("/get/uni:é", "key", "uni:é"), want: page("found:ü")},
	{name: "get missing", req: blocking("/get/nope", "key", "nope"), want: page("missing:nope")},
	{name: "get unavailable", req: blocking("/get/down", "key", "down"), wantFail: "unavailable"},
	{name: "many", req: blocking("/many/hello,nope,empty,uni:é,hello", "keys", "hello,nope,empty,uni:é,hello"),
		want: page("hello=world\nnope missing\nempty=\nuni:é=ü\nhello=world\n")},
	{name: "many unavailable", req: blocking("/many/hello,down", "keys", "hello,down"), wantFail: "unavailable"},
	{name: "list pages", req: blocking("/list/item:", "prefix", "item:"),
		want: page("item:a=1\nitem:b=2\n--\nitem:c=3\nitem:d=4\n--\nitem:e=5\n--\n")},
	{name: "list none", req: blocking("/list/zzz", "prefix", "zzz"), want: page("--\n")},
	{name: "list unavailable", req: blocking("/list/down", "prefix", "down"), wantFail: "unavailable"},
	{name: "rlist pages", req: blocking("/rlist/item:", "prefix", "item:"),
		want: page("item:e=5\nitem:d=4\nitem:c=3\n--\nitem:b=2\nitem:a=1\n--\n")},
	{name: "notfound", req: blocking("/notfound"), want: abi.Response{Flags: abi.FlagNotFound, Revalidate: -1}},
	{name: "redirect", req: blocking("/redirect"), want: abi.Response{Status: 308, Revalidate: -1, Redirect: "/target"}},
	{name: "headers", req: blocking("/headers"), want: abi.Response{Revalidate: -1,
		Headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Custom", Value: "a b"}, {Name: "X-Unicode", Value: "ü"}},
		Body:    []byte(`{"ok":true}`)}},
	{name: "tags", req: blocking("/tags"), want: abi.Response{Revalidate: -1,
		Tags: []string{"post", "post:hello", "home"}, Body: []byte("tagged")}},
	{name: "echo", req: abi.Request{Mode: 1, Route: "/echo", Path: "/echo",
		Params: []abi.Param{{Name: "a", Value: "1"}, {Name: "b", Value: "ü"}}, PrevGenerated: 1700000000123},
		want: abi.Response{Revalidate: 60,
			Body: []byte("mode=1\nroute=/echo\npath=/echo\nparams=a=1,b=ü\nprev=1700000000123\n")}},
	{name: "echo negative prev", req: abi.Request{Mode: 3, Route: "/echo", Path: "/echo", PrevGenerated: -5},
		want: abi.Response{Revalidate: 60, Body: []byte("mode=3\nroute=/echo\npath=/echo\nparams=\nprev=-5\n")}},
	{name: "nostore", req: blocking("/nostore"), want: abi.Response{Flags: abi.FlagNoStore, Revalidate: -1, Body: []byte("private")}},
	{name: "fail", req: blocking("/fail"), wantFail: "conformance failure"},
	{name: "log", req: blocking("/log"), want: page("logged"), wantLog: "1 hello from conformance"},
	{name: "other", req: blocking("/nothing/here"), want: abi.Response{Flags: abi.FlagNotFound, Revalidate: -1}},
}

func TestConformance(t *testing.T) {
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			m := load(t, lang, "conformance")
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					res, err := m.Call(context.Background(), "kiln_render", encode(tc.req), conformanceData)
					if err != nil {
						t.Fatal(err)
					}
					checkResult(t, res, tc.want, tc.wantFail)
					if tc.wantLog != "" && (len(res.Logs) != 1 || res.Logs[0] != tc.wantLog) {
						t.Errorf("logs = %q, want [%q]", res.Logs, tc.wantLog)
					}
				})
			}
		})
	}
}

func checkResult(t *testing.T, res *sdktest.Result, want abi.Response, wantFail string) {
	t.Helper()
	if wantFail != "" {
		if res.RC == 0 || res.Failure != wantFail {
			t.Errorf("rc, failure = %d, %q; want non-zero, %q", res.RC, res.Failure, wantFail)
		}
		return
	}
	if res.RC != 0 {
		t.Fatalf("rc = %d (failure %q), want 0", res.RC, res.Failure)
	}
	if got := res.Answer; !bytes.Equal(got, abi.AppendResponse(nil, &want)) {
		dec, err := abi.DecodeResponse(got)
		t.Errorf("answer differs from the SPEC bytes:\n got %s (decode err %v)\nwant %s", show(dec), err, show(want))
	}
}

func TestConformancePathsAndFallback(t *testing.T) {
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			m := load(t, lang, "conformance")
			ctx := context.Background()
			res, err := m.Call(ctx, "kiln_paths", encode(abi.Request{Route: "/p/:x"}), conformanceData)
			if err != nil {
				t.Fatal(err)
			}
			paths, err := abi.DecodePaths(res.Answer)
			if got, want := strings.Join(paths, " "), "/unicode /empty /echo"; err != nil || got != want {
				t.Errorf("paths = %q (err %v), want %q", got, err, want)
			}
			res, err = m.Call(ctx, "kiln_fallback", encode(blocking("/whatever")), conformanceData)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res, page("<p>loading</p>"), "")
		})
	}
}

func show(r abi.Response) string {
	body := string(r.Body)
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	r.Body = nil
	return fmt.Sprintf("%+v body %q", r, body)
}
