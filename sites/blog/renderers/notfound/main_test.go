package main

import (
	"strings"
	"testing"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

func TestNotFoundPage(t *testing.T) {
	resp, err := kilntest.Render(&kiln.Request{Mode: kiln.ModeBlocking, Path: "/nothing"}, blogtest.Assets(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 {
		t.Errorf("status = %d, want 404", resp.Status)
	}
	for _, want := range []string{"<title>Page not found | Kiln Blog</title>", "This page could not be found", `href="/assets/style.test.css"`} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
