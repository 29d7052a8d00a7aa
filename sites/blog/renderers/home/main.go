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
	assets := memoAssets()
	page := layout.Home{Page: layout.NewPage("", "The Kiln example blog: incremental static regeneration in Go and WebAssembly.", assets)}
	page.Home = true
	for i, p := range posts {
		card := layout.NewCard(p, assets)
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

// memoAssets is kiln.Asset asked once per name for one render: the cards
// repeat the same few covers and author pictures, and each question is a
// call to the host.
func memoAssets() layout.Assets {
	urls := map[string]string{}
	return func(name string) string {
		url, ok := urls[name]
		if !ok {
			url = kiln.Asset(name)
			urls[name] = url
		}
		return url
	}
}
