// Command page is a small, realistic Go page renderer: it reads a post as
// JSON and renders it with html/template. The benchmarks and tests use it.
package main

import (
	"bytes"
	"html/template"

	kiln "github.com/kilnhq/kiln/sdk/go"
)

var page = template.Must(template.New("post").Parse(`<!doctype html>
<html><head><title>{{.Title}}</title><link rel="stylesheet" href="{{.CSS}}"></head>
<body><article><h1>{{.Title}}</h1>{{range .Paragraphs}}<p>{{.}}</p>{{end}}</article></body></html>
`))

type post struct {
	Title      string
	Paragraphs []string
	CSS        string
}

func init() { kiln.Handle(render) }

func main() {}

func render(req *kiln.Request) (*kiln.Response, error) {
	var p post
	found, err := kiln.GetJSON("posts/"+req.Param("slug"), &p)
	if err != nil {
		return nil, err
	}
	if !found {
		return kiln.NotFound(), nil
	}
	p.CSS = kiln.Asset("style.css")
	var b bytes.Buffer
	if err := page.Execute(&b, p); err != nil {
		return nil, err
	}
	resp := kiln.HTML(b.Bytes())
	resp.Tags = []string{"post:" + req.Param("slug")}
	return resp, nil
}
