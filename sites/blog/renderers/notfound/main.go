// Command notfound renders the blog's 404 page. site.hcl names it in
// `site { not_found = "notfound" }`, so every missing page (an unknown path,
// or a post renderer answering kiln.NotFound()) gets this body.
package main

import (
	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sites/blog/internal/layout"
)

func init() { kiln.Handle(render) }

func main() {}

func render(*kiln.Request) (*kiln.Response, error) {
	body, err := layout.RenderNotFound(layout.NewPage("Page not found", "", kiln.Asset))
	if err != nil {
		return nil, err
	}
	resp := kiln.HTML(body)
	resp.Status = 404
	return resp, nil
}
