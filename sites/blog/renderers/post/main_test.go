package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
)

func request(slug string) *kiln.Request {
	return &kiln.Request{Mode: kiln.ModeBlocking, Route: "/posts/:slug", Path: "/posts/" + slug,
		Params: []kiln.Param{{Name: "slug", Value: slug}}}
}

func TestGolden(t *testing.T) {
	for _, slug := range []string{"hello-world", "dynamic-routing"} {
		t.Run(slug, func(t *testing.T) {
			resp, err := kilntest.Render(request(slug), blogtest.SampleData(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.Tags, []string{"post", "post:" + slug}; !slices.Equal(got, want) {
				t.Errorf("tags = %q, want %q", got, want)
			}
			blogtest.Golden(t, slug+".golden.html", resp.Body)
		})
	}
}

// TestMarkdown checks the body is rendered to HTML in the renderer.
func TestMarkdown(t *testing.T) {
	resp, err := kilntest.Render(request("dynamic-routing"), blogtest.SampleData(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<h2 id="route-patterns">Route patterns</h2>`, "<table>", `<pre><code class="language-hcl">`} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestNotFound(t *testing.T) {
	d := blogtest.SampleData(t)
	delete(d, "post:preview") // deleted from the data source
	for _, slug := range []string{"preview", "no-such-post", "Bad Slug"} {
		resp, err := kilntest.Render(request(slug), d)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.NotFound || len(resp.Body) != 0 {
			t.Errorf("%s: NotFound = %v, body %d bytes; want the site's 404", slug, resp.NotFound, len(resp.Body))
		}
	}
}

func TestBrokenPost(t *testing.T) {
	d := blogtest.SampleData(t)
	d["post:preview"] = `{"slug":"preview"}`
	if _, err := kilntest.Render(request("preview"), d); err == nil || !strings.Contains(err.Error(), "post:preview") {
		t.Errorf("err = %v, want a failed render naming post:preview", err)
	}
}

func TestUnavailable(t *testing.T) {
	_, err := kilntest.Render(request("hello-world"), kilntest.Unavailable)
	if !errors.Is(err, kilntest.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

// TestPaths is getStaticPaths with slugs.slice(0, 2): the two newest, or
// as many as PRERENDER says.
func TestPaths(t *testing.T) {
	tests := []struct {
		prerender string
		want      []string
		wantErr   bool
	}{
		{"", []string{"/posts/hello-world", "/posts/preview"}, false},
		{"1", []string{"/posts/hello-world"}, false},
		{"all", []string{"/posts/hello-world", "/posts/preview", "/posts/dynamic-routing",
			"/posts/background-regeneration", "/posts/on-demand-revalidation"}, false},
		{"-1", nil, true},
		{"some", nil, true},
	}
	for _, tt := range tests {
		t.Run("PRERENDER="+tt.prerender, func(t *testing.T) {
			t.Setenv("PRERENDER", tt.prerender)
			got, err := kilntest.Paths(&kiln.Request{Mode: kiln.ModeBuild, Route: "/posts/:slug"}, blogtest.SampleData(t))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("paths = %q, want %q", got, tt.want)
			}
		})
	}
}
