// Command home renders the blog's home page: the newest post as the hero
// and the next ones as "More Stories", newest first.
//
// It lists the date index ("bydate:...") in reverse with a small limit
// instead of reading every post, so its cost does not grow with the blog.
// Listing the index makes the prefix a dependency: a new post regenerates
// this page, and so does an edit to any post it shows.
package main

import (
	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sites/blog/internal/layout"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

// morePosts is how many posts "More Stories" shows after the hero.
const morePosts = 10

func init() { kiln.Handle(render) }

func main() {}

func render(req *kiln.Request) (*kiln.Response, error) {
	posts, err := post.Newest(post.Kiln, 1+morePosts)
	if err != nil {
		return nil, err
	}
	page := layout.Home{Page: layout.NewPage("", "The Kiln example blog: incremental static regeneration in Go and WebAssembly.", kiln.Asset)}
	page.Home = true
	for i, p := range posts {
		card := layout.NewCard(p, kiln.Asset)
		if i == 0 {
			page.Hero = &card
			continue
		}
		page.More = append(page.More, card)
	}
	body, err := layout.RenderHome(page)
	if err != nil {
		return nil, err
	}
	resp := kiln.HTML(body)
	resp.Tags = []string{"home"}
	return resp, nil
}
