// Command shell renders the fallback shell of /posts/:slug: the page Kiln
// sends at once for a post that was never generated (route fallback =
// "true"), while the real page renders in the background. It is a skeleton
// of the post layout with a loading state; the engine injects the script
// that swaps in the real page when it is ready.
//
// It reads no data, so it is instant. It answers both as a route's
// fallback_renderer (kiln_render) and as a fallback export (kiln_fallback).
package main

import (
	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sites/blog/internal/layout"
)

func init() {
	kiln.Handle(render)
	kiln.HandleFallback(render)
}

func main() {}

func render(*kiln.Request) (*kiln.Response, error) {
	body, err := layout.RenderShell(layout.NewPage("Loading…", "", kiln.Asset))
	if err != nil {
		return nil, err
	}
	return kiln.HTML(body), nil
}
