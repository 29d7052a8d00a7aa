package sdktest_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/abi"
	"github.com/kilnhq/kiln/sdk/internal/sdktest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var exampleData = sdktest.MapData{
	Values: map[string]string{
		"post:hello":           `{"title": "Hello <World> & \"friends\"", "views": 3, "body": "Caf\u00e9 \ud83c\udf89 it's\nhere"}`,
		"post:plain":           `{"body":"b","title":"Plain"}`,
		"post:broken":          `{"title": "x", "body": }`,
		"post:untitled":        `{"body": "no title"}`,
		"kiln:asset:style.css": "/assets/style.3f9a1c0e.css",
	},
	Down: "post:down",
}

func post(slug string) abi.Request {
	return abi.Request{Mode: 2, Route: "/posts/:slug", Path: "/posts/" + slug,
		Params: []abi.Param{{Name: "slug", Value: slug}}}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got %q\nwant %q", name, got, want)
	}
}

func TestExamplePost(t *testing.T) {
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			m := load(t, lang, "example")
			for _, slug := range []string{"hello", "plain"} {
				res, err := m.Call(context.Background(), "kiln_render", encode(post(slug)), exampleData)
				if err != nil {
					t.Fatal(err)
				}
				got, err := abi.DecodeResponse(res.Answer)
				if err != nil || res.RC != 0 {
					t.Fatalf("rc %d, failure %q, decode error %v", res.RC, res.Failure, err)
				}
				if want := []string{"post:" + slug, "posts"}; strings.Join(got.Tags, " ") != strings.Join(want, " ") {
					t.Errorf("tags = %q, want %q", got.Tags, want)
				}
				if want := "post:" + slug + " kiln:asset:style.css"; strings.Join(res.Keys, " ") != want {
					t.Errorf("keys read = %q, want %q", res.Keys, want)
				}
				golden(t, "example-"+slug+".html", string(got.Body))
			}
		})
	}
}

func TestExampleErrors(t *testing.T) {
	tests := []struct {
		slug     string
		wantRC   bool   // non-zero return
		wantFail string // failure message, when wantRC
		wantFlag uint32 // response flags, when !wantRC
	}{
		{slug: "missing", wantFlag: abi.FlagNotFound},
		{slug: "broken", wantRC: true, wantFail: "post: want a JSON object with string title and body"},
		{slug: "untitled", wantRC: true, wantFail: "post: want a JSON object with string title and body"},
		{slug: "down", wantRC: true},
	}
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			m := load(t, lang, "example")
			for _, tc := range tests {
				res, err := m.Call(context.Background(), "kiln_render", encode(post(tc.slug)), exampleData)
				if err != nil {
					t.Fatal(err)
				}
				if got := res.RC != 0; got != tc.wantRC {
					t.Errorf("%s: rc = %d (failure %q), want non-zero %v", tc.slug, res.RC, res.Failure, tc.wantRC)
					continue
				}
				if tc.wantRC {
					if tc.wantFail != "" && res.Failure != tc.wantFail {
						t.Errorf("%s: failure = %q, want %q", tc.slug, res.Failure, tc.wantFail)
					}
					continue
				}
				if got, err := abi.DecodeResponse(res.Answer); err != nil || got.Flags != tc.wantFlag {
					t.Errorf("%s: flags = %d (err %v), want %d", tc.slug, got.Flags, err, tc.wantFlag)
				}
			}
		})
	}
}

func TestExamplePathsAndFallback(t *testing.T) {
	for _, lang := range sdktest.Langs {
		t.Run(string(lang), func(t *testing.T) {
			m := load(t, lang, "example")
			ctx := context.Background()
			res, err := m.Call(ctx, "kiln_paths", encode(abi.Request{Route: "/posts/:slug"}), exampleData)
			if err != nil {
				t.Fatal(err)
			}
			paths, err := abi.DecodePaths(res.Answer)
			want := "/posts/broken /posts/hello /posts/plain /posts/untitled"
			if got := strings.Join(paths, " "); err != nil || got != want {
				t.Errorf("paths = %q (err %v), want %q", got, err, want)
			}
			res, err = m.Call(ctx, "kiln_fallback", encode(post("x")), exampleData)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res, page("<!doctype html>\n<p>Loading…</p>\n"), "")
		})
	}
}
