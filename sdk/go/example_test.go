package kiln_test

import (
	"fmt"
	"strings"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
)

// A renderer registers its handler from init; kilntest runs it natively.
func ExampleHandle() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		var post struct{ Title string }
		found, err := kiln.GetJSON("posts/"+req.Param("slug"), &post)
		if err != nil {
			return nil, err
		}
		if !found {
			return kiln.NotFound(), nil
		}
		return kiln.HTML([]byte("<h1>" + post.Title + "</h1>")), nil
	})

	data := kilntest.Data{"posts/hello": `{"Title":"Hello"}`}
	req := &kiln.Request{Route: "/posts/:slug", Path: "/posts/hello",
		Params: []kiln.Param{{Name: "slug", Value: "hello"}}}
	resp, err := kilntest.Render(req, data)
	fmt.Println(string(resp.Body), err)

	req.Params[0].Value = "nope"
	resp, err = kilntest.Render(req, data)
	fmt.Println(resp.NotFound, err)
	// Output:
	// <h1>Hello</h1> <nil>
	// true <nil>
}

// Each pages through a prefix listing for you.
func ExampleEach() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		var b strings.Builder
		err := kiln.Each("posts/", kiln.ListOptions{Limit: 2, Reverse: true}, func(it kiln.Item) bool {
			fmt.Fprintf(&b, "%s=%s ", it.Key, it.Value)
			return true
		})
		return kiln.HTML([]byte(b.String())), err
	})
	data := kilntest.Data{"posts/a": "1", "posts/b": "2", "posts/c": "3", "pages/x": "4"}
	resp, err := kilntest.Render(&kiln.Request{Path: "/"}, data)
	fmt.Println(string(resp.Body), err)
	// Output: posts/c=3 posts/b=2 posts/a=1  <nil>
}

// GetMany reads a page's items in one round trip; each key read is a
// dependency, found or not.
func ExampleGetMany() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		keys := []string{"post:a", "post:gone", "post:b"}
		values, found, err := kiln.GetMany(keys)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, k := range keys {
			if found[i] {
				fmt.Fprintf(&b, "%s=%s ", k, values[i])
			}
		}
		return kiln.HTML([]byte(b.String())), nil
	})
	data := kilntest.Data{"post:a": "A", "post:b": "B"}
	resp, err := kilntest.Render(&kiln.Request{Path: "/"}, data)
	fmt.Println(string(resp.Body), err)
	// Output: post:a=A post:b=B  <nil>
}

// When the data source is down, the render fails with ErrUnavailable
// whatever the handler does: the engine keeps the stale page.
func ExampleGet() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		v, found, err := kiln.Get("greeting")
		if err != nil {
			return nil, err
		}
		if !found {
			v = []byte("hello")
		}
		return kiln.HTML(v), nil
	})
	resp, err := kilntest.Render(&kiln.Request{Path: "/"}, kilntest.Data{})
	fmt.Println(string(resp.Body), err)
	_, err = kilntest.Render(&kiln.Request{Path: "/"}, kilntest.Unavailable)
	fmt.Println(err)
	// Output:
	// hello <nil>
	// kilntest: kiln: data source unavailable
}

func ExampleAsset() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		return kiln.HTML([]byte(`<link rel="stylesheet" href="` + kiln.Asset("style.css") + `">`)), nil
	})
	resp, _ := kilntest.Render(&kiln.Request{Path: "/"}, kilntest.Data{"kiln:asset:style.css": "/assets/style.3f9a1c0e.css"})
	fmt.Println(string(resp.Body))
	// Output: <link rel="stylesheet" href="/assets/style.3f9a1c0e.css">
}

func ExampleRedirect() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		return kiln.Redirect("/new"+req.Path, true), nil
	})
	resp, _ := kilntest.Render(&kiln.Request{Path: "/old"}, kilntest.Data{})
	fmt.Println(resp.Status, resp.Redirect)
	// Output: 308 /new/old
}

// A panic in a handler fails the render with its message; the renderer
// instance keeps serving.
func ExampleHandle_panic() {
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) {
		panic("index out of range")
	})
	_, err := kilntest.Render(&kiln.Request{Path: "/"}, kilntest.Data{})
	fmt.Println(err)
	// Output: kilntest: render failed: panic: index out of range
}

func ExampleRequest_Param() {
	req := &kiln.Request{Route: "/docs/*path", Path: "/docs/a/b",
		Params: []kiln.Param{{Name: "path", Value: "a/b"}}}
	fmt.Printf("%q %q\n", req.Param("path"), req.Param("missing"))
	// Output: "a/b" ""
}
