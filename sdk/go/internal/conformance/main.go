// Command conformance is the Go SDK's conformance renderer: it behaves
// exactly as sdk/testdata/conformance/SPEC.md says, so the vectors in that
// folder check the Go SDK byte for byte against every other SDK.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	kiln "github.com/kilnhq/kiln/sdk/go"
)

func init() {
	kiln.Handle(render)
	kiln.HandlePaths(func(*kiln.Request) ([]string, error) {
		return []string{"/unicode", "/empty", "/echo"}, nil
	})
	kiln.HandleFallback(func(*kiln.Request) (*kiln.Response, error) {
		return kiln.HTML([]byte("<p>loading</p>")), nil
	})
}

func main() {}

func render(req *kiln.Request) (*kiln.Response, error) {
	switch {
	case strings.HasPrefix(req.Path, "/get/"):
		return get(req.Param("key"))
	case strings.HasPrefix(req.Path, "/many/"):
		return many(strings.Split(req.Param("keys"), ","))
	case strings.HasPrefix(req.Path, "/list/"):
		return list(req.Param("prefix"), kiln.ListOptions{Limit: 2})
	case strings.HasPrefix(req.Path, "/rlist/"):
		return list(req.Param("prefix"), kiln.ListOptions{Limit: 3, Reverse: true})
	}
	switch req.Path {
	case "/unicode":
		r := kiln.HTML([]byte("héllo, wörld — ✓ 日本語 🎉"))
		r.Headers = []kiln.Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}
		return r, nil
	case "/empty":
		return kiln.HTML(nil), nil
	case "/large":
		return kiln.HTML(bytes.Repeat([]byte("0123456789abcdef"), 65536)), nil
	case "/redirect":
		return kiln.Redirect("/target", true), nil
	case "/headers":
		r := kiln.HTML([]byte(`{"ok":true}`))
		r.Headers = []kiln.Header{{Name: "Content-Type", Value: "application/json"},
			{Name: "X-Custom", Value: "a b"}, {Name: "X-Unicode", Value: "ü"}}
		return r, nil
	case "/tags":
		r := kiln.HTML([]byte("tagged"))
		r.Tags = []string{"post", "post:hello", "home"}
		return r, nil
	case "/echo":
		return echo(req), nil
	case "/nostore":
		r := kiln.HTML([]byte("private"))
		r.NoStore = true
		return r, nil
	case "/fail":
		return nil, errors.New("conformance failure")
	case "/log":
		kiln.Log(kiln.LevelInfo, "hello from conformance")
		return kiln.HTML([]byte("logged")), nil
	}
	return kiln.NotFound(), nil
}

func get(key string) (*kiln.Response, error) {
	v, found, err := kiln.Get(key)
	switch {
	case err != nil:
		return nil, errors.New("unavailable")
	case !found:
		return kiln.HTML([]byte("missing:" + key)), nil
	}
	return kiln.HTML(append([]byte("found:"), v...)), nil
}

func many(keys []string) (*kiln.Response, error) {
	values, found, err := kiln.GetMany(keys)
	if err != nil {
		return nil, errors.New("unavailable")
	}
	var b bytes.Buffer
	for i, k := range keys {
		if found[i] {
			fmt.Fprintf(&b, "%s=%s\n", k, values[i])
		} else {
			fmt.Fprintf(&b, "%s missing\n", k)
		}
	}
	return kiln.HTML(b.Bytes()), nil
}

func list(prefix string, opt kiln.ListOptions) (*kiln.Response, error) {
	var b bytes.Buffer
	for {
		items, next, err := kiln.List(prefix, opt)
		if err != nil {
			return nil, errors.New("unavailable")
		}
		for _, it := range items {
			fmt.Fprintf(&b, "%s=%s\n", it.Key, it.Value)
		}
		b.WriteString("--\n")
		if next == "" {
			return kiln.HTML(b.Bytes()), nil
		}
		opt.Cursor = next
	}
}

func echo(req *kiln.Request) *kiln.Response {
	params := make([]string, len(req.Params))
	for i, p := range req.Params {
		params[i] = p.Name + "=" + p.Value
	}
	var prev int64
	if !req.PrevGenerated.IsZero() {
		prev = req.PrevGenerated.UnixMilli()
	}
	body := fmt.Sprintf("mode=%d\nroute=%s\npath=%s\nparams=%s\nprev=%d\n",
		req.Mode, req.Route, req.Path, strings.Join(params, ","), prev)
	r := kiln.HTML([]byte(body))
	r.Revalidate = 60 * time.Second
	return r
}
