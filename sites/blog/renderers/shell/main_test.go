package main

import (
	"bytes"
	"strings"
	"testing"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

var req = &kiln.Request{Mode: kiln.ModeBlocking, Route: "/posts/:slug", Path: "/posts/new",
	Params: []kiln.Param{{Name: "slug", Value: "new"}}}

// TestShell checks the shell reads no data beyond asset URLs and shows a
// loading state, as route renderer and as fallback export alike.
func TestShell(t *testing.T) {
	src := &blogtest.Counter{Source: blogtest.Assets(t)}
	resp, err := kilntest.Render(req, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range src.Keys {
		if !strings.HasPrefix(k, "kiln:asset:") {
			t.Errorf("shell read %q; it must not read data", k)
		}
	}
	if src.Lists != 0 {
		t.Errorf("shell listed data %d times", src.Lists)
	}
	for _, want := range []string{`aria-busy="true"`, `role="status"`, `href="/assets/style.test.css"`} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("shell lacks %q", want)
		}
	}
	fb, err := kilntest.Fallback(req)
	if err != nil {
		t.Fatal(err)
	}
	// kilntest.Fallback has no assets: only the URLs differ.
	if got, want := strings.Count(string(fb.Body), "\n"), bytes.Count(resp.Body, []byte("\n")); got != want {
		t.Errorf("fallback export renders %d lines, route renderer %d", got, want)
	}
}
