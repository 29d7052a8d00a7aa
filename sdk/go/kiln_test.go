package kiln_test

import (
	"slices"
	"testing"
	"time"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
)

func TestResponseEncoding(t *testing.T) {
	tests := []struct {
		name string
		resp *kiln.Response
		want kiln.Response
	}{
		{"html", kiln.HTML([]byte("x")), kiln.Response{Body: []byte("x"), Revalidate: kiln.RevalidateDefault}},
		{"not found", kiln.NotFound(), kiln.Response{NotFound: true, Revalidate: kiln.RevalidateDefault}},
		{"temporary", kiln.Redirect("/a", false), kiln.Response{Status: 307, Redirect: "/a", Revalidate: kiln.RevalidateDefault}},
		{"sub-second revalidate rounds up", &kiln.Response{Revalidate: 1500 * time.Millisecond}, kiln.Response{Revalidate: 2 * time.Second}},
		{"never", &kiln.Response{NoStore: true, Tags: []string{"a"}}, kiln.Response{NoStore: true, Tags: []string{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kiln.Handle(func(*kiln.Request) (*kiln.Response, error) { return tt.resp, nil })
			got, err := kilntest.Render(&kiln.Request{Path: "/"}, kilntest.Data{})
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Body) != string(tt.want.Body) || got.Status != tt.want.Status || got.Redirect != tt.want.Redirect ||
				got.NotFound != tt.want.NotFound || got.NoStore != tt.want.NoStore ||
				got.Revalidate != tt.want.Revalidate || !slices.Equal(got.Tags, tt.want.Tags) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequestFields(t *testing.T) {
	prev := time.UnixMilli(1700000000123)
	var got *kiln.Request
	kiln.Handle(func(req *kiln.Request) (*kiln.Response, error) { got = req; return kiln.HTML(nil), nil })
	want := &kiln.Request{Mode: kiln.ModeBackground, Route: "/:a", Path: "/x",
		Params: []kiln.Param{{Name: "a", Value: "x"}}, PrevGenerated: prev}
	if _, err := kilntest.Render(want, kilntest.Data{}); err != nil {
		t.Fatal(err)
	}
	if got.Mode != want.Mode || got.Route != want.Route || got.Path != want.Path ||
		!slices.Equal(got.Params, want.Params) || !got.PrevGenerated.Equal(prev) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestInvalidResponseFails(t *testing.T) {
	kiln.Handle(func(*kiln.Request) (*kiln.Response, error) {
		r := kiln.HTML(nil)
		r.Headers = []kiln.Header{{Name: "Connection", Value: "close"}}
		return r, nil
	})
	if _, err := kilntest.Render(&kiln.Request{Path: "/"}, kilntest.Data{}); err == nil {
		t.Error("a refused header rendered without error")
	}
}

func TestPathsAndFallback(t *testing.T) {
	kiln.HandlePaths(func(*kiln.Request) ([]string, error) { return []string{"/a", "/b"}, nil })
	kiln.HandleFallback(func(*kiln.Request) (*kiln.Response, error) { return kiln.HTML([]byte("...")), nil })
	paths, err := kilntest.Paths(&kiln.Request{Route: "/:x"}, kilntest.Data{})
	if err != nil || !slices.Equal(paths, []string{"/a", "/b"}) {
		t.Errorf("Paths = %q, %v", paths, err)
	}
	resp, err := kilntest.Fallback(&kiln.Request{Path: "/c"})
	if err != nil || string(resp.Body) != "..." {
		t.Errorf("Fallback = %+v, %v", resp, err)
	}
}
