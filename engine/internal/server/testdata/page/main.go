// Command page is the renderer the server tests run: its output is driven
// by the data item page:<path>, so a test controls every answer by
// editing data.
package main

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"

	kiln "github.com/kilnhq/kiln/sdk/go"
)

// item is the data that drives one page.
type item struct {
	Title      string   `json:"title"`
	NotFound   bool     `json:"notfound"`
	Redirect   string   `json:"redirect"`
	Permanent  bool     `json:"permanent"`
	NoStore    bool     `json:"nostore"`
	Revalidate int      `json:"revalidate"`
	Tags       []string `json:"tags"`
	Fail       bool     `json:"fail"`
	SleepMS    int      `json:"sleep_ms"`
	Big        int      `json:"big"`
	Build      bool     `json:"build"`
}

func init() {
	kiln.Handle(render)
	kiln.HandlePaths(paths)
	kiln.HandleFallback(func(r *kiln.Request) (*kiln.Response, error) {
		return kiln.HTML([]byte("<html><body><p>loading " + html.EscapeString(r.Path) + "</p></body></html>")), nil
	})
}

func render(r *kiln.Request) (*kiln.Response, error) {
	var it item
	found, err := kiln.GetJSON("page:"+r.Path, &it)
	if err != nil {
		return nil, err
	}
	if !found || it.NotFound {
		return kiln.NotFound(), nil
	}
	if it.SleepMS > 0 {
		time.Sleep(time.Duration(it.SleepMS) * time.Millisecond)
	}
	if it.Fail {
		return nil, fmt.Errorf("page %s asked to fail", r.Path)
	}
	if it.Redirect != "" {
		return kiln.Redirect(it.Redirect, it.Permanent), nil
	}
	body := fmt.Sprintf("<html><body><h1>%s</h1><p>mode=%d generated=%d</p>%s</body></html>",
		html.EscapeString(it.Title), r.Mode, time.Now().UnixNano(), strings.Repeat("lorem ipsum ", it.Big))
	resp := kiln.HTML([]byte(body))
	resp.Tags = it.Tags
	resp.NoStore = it.NoStore
	if it.Revalidate > 0 {
		resp.Revalidate = time.Duration(it.Revalidate) * time.Second
	}
	return resp, nil
}

// paths prerenders every page whose item says build.
func paths(r *kiln.Request) ([]string, error) {
	var out []string
	err := kiln.Each("page:", kiln.ListOptions{}, func(it kiln.Item) bool {
		var v item
		p := strings.TrimPrefix(it.Key, "page:")
		if json.Unmarshal(it.Value, &v) == nil && v.Build && strings.HasPrefix(p, r.Route[:strings.LastIndex(r.Route, "/")+1]) {
			out = append(out, p)
		}
		return true
	})
	return out, err
}

func main() {}
