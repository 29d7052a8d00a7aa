// Command post renders one blog post at /posts/:slug: title, byline, cover
// image and the Markdown body, converted to HTML here (layout.Markdown:
// the blog's own converter for the subset posts use, goldmark otherwise).
//
// Its paths export names the two newest posts, which Kiln prerenders at
// build time (the seed's getStaticPaths with slugs.slice(0, 2)); every other
// post is generated on its first request. A missing post is a 404.
//
// The environment variable PRERENDER, set in site.hcl with
// `env = { PRERENDER = "all" }`, changes how many: a number of newest
// posts, or "all" to prerender the whole blog at build time.
package main

import (
	"fmt"
	"os"
	"strconv"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sites/blog/internal/layout"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

// prerendered is how many of the newest posts are generated at build time
// when PRERENDER is not set.
const prerendered = 2

func init() {
	kiln.Handle(render)
	kiln.HandlePaths(paths)
}

func main() {}

func render(req *kiln.Request) (*kiln.Response, error) {
	slug := req.Param("slug")
	tags := []string{"post", "post:" + slug}
	p, found, err := post.Load(post.Kiln, slug)
	if err != nil {
		return nil, err
	}
	if !found {
		resp := kiln.NotFound()
		resp.Tags = tags
		return resp, nil
	}
	body, err := page(p)
	if err != nil {
		return nil, err
	}
	resp := kiln.HTML(body)
	resp.Tags = tags
	return resp, nil
}

func page(p post.Post) ([]byte, error) {
	content, err := layout.Markdown(p.Content)
	if err != nil {
		return nil, err
	}
	return layout.RenderPost(layout.Post{
		Page: layout.NewPage(p.Title, p.Excerpt, kiln.Asset),
		Post: layout.NewCard(p, kiln.Asset),
		Body: content,
	})
}

func paths(*kiln.Request) ([]string, error) {
	n, err := prerender(os.Getenv("PRERENDER"))
	if err != nil {
		return nil, err
	}
	var slugs []string
	if n < 0 {
		slugs, err = post.AllSlugs(post.Kiln)
	} else {
		slugs, err = post.NewestSlugs(post.Kiln, n)
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, len(slugs))
	for i, s := range slugs {
		out[i] = post.Path(s)
	}
	return out, nil
}

// prerender reads PRERENDER: "" is the default, "all" is -1.
func prerender(v string) (int, error) {
	switch v {
	case "":
		return prerendered, nil
	case "all":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("PRERENDER = %q: want a number of posts or \"all\"", v)
	}
	return n, nil
}
