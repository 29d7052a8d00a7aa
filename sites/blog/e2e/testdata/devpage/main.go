// Command devpage is the page the `kiln dev` browser test edits: the test
// copies this package to a temporary directory inside the module, serves
// it with `kiln dev`, and rewrites the word between the markers to check
// that the open tab reloads with the rebuilt renderer.
package main

import kiln "github.com/kilnhq/kiln/sdk/go"

func init() { kiln.Handle(render) }

func main() {}

// version is what the test rewrites.
const version = "first"

func render(*kiln.Request) (*kiln.Response, error) {
	return kiln.HTML([]byte(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>kiln dev test page</title></head>
<body style="font-family:system-ui,sans-serif;margin:3rem">
<h1 id="version">` + version + ` version</h1>
</body>
</html>
`)), nil
}
