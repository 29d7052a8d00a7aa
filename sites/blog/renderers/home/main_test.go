package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

var home = &kiln.Request{Mode: kiln.ModeBlocking, Route: "/", Path: "/"}

func TestGolden(t *testing.T) {
	resp, err := kilntest.Render(home, blogtest.SampleData(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(resp.Tags, ","), "home"; got != want {
		t.Errorf("tags = %q, want %q", got, want)
	}
	if resp.Status != 0 || resp.NotFound || resp.Revalidate != kiln.RevalidateDefault {
		t.Errorf("status %d, not found %v, revalidate %v; want a plain 200 page", resp.Status, resp.NotFound, resp.Revalidate)
	}
	blogtest.Golden(t, "home.golden.html", resp.Body)
}

// TestNewestFirst checks the hero is the newest post and More Stories
// holds the next ten, in order.
func TestNewestFirst(t *testing.T) {
	d := blogtest.Assets(t)
	blogtest.AddPosts(t, d, 30, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	resp, err := kilntest.Render(home, d)
	if err != nil {
		t.Fatal(err)
	}
	body := string(resp.Body)
	hero := strings.Index(body, `id="hero-title"`)
	if hero < 0 || !strings.Contains(body[hero:hero+100], "Post 00000") {
		t.Errorf("hero is not the newest post")
	}
	last := 0
	for i := 1; i <= morePosts; i++ {
		at := strings.Index(body, fmt.Sprintf(`<h3 class="card-title"><a href="/posts/p%05d">`, i))
		if at < last {
			t.Fatalf("post %d missing or out of order", i)
		}
		last = at
	}
	if strings.Contains(body, fmt.Sprintf("Post %05d", morePosts+1)) {
		t.Errorf("home shows more than %d more stories", morePosts)
	}
}

// TestCostIsPageSize renders the home page over 10,000 posts and checks it
// reads only the posts it shows: the date index is listed, not scanned.
func TestCostIsPageSize(t *testing.T) {
	d := blogtest.Assets(t)
	blogtest.AddPosts(t, d, 10000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := &blogtest.Counter{Source: d}
	if _, err := kilntest.Render(home, src); err != nil {
		t.Fatal(err)
	}
	posts := 0
	for _, k := range src.Keys {
		if strings.HasPrefix(k, "post:") {
			posts++
		}
	}
	if posts != 1+morePosts || src.Lists != 1 || src.Batches != 1 {
		t.Errorf("home read %d posts in %d listings and %d batches; want %d in 1 listing and 1 batch",
			posts, src.Lists, src.Batches, 1+morePosts)
	}
}

// TestReadsEachKeyOnce checks the home page asks the host once for each
// key, assets included: the cards share a few images.
func TestReadsEachKeyOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		posts int
	}{{"one post", 1}, {"a full page", 1 + morePosts}, {"more than a page", 30}} {
		t.Run(tc.name, func(t *testing.T) {
			d := blogtest.Assets(t)
			blogtest.AddPosts(t, d, tc.posts, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			withImages(t, d)
			src := &blogtest.Counter{Source: d}
			if _, err := kilntest.Render(home, src); err != nil {
				t.Fatal(err)
			}
			seen, assets := map[string]bool{}, 0
			for _, k := range src.Keys {
				if seen[k] {
					t.Errorf("%s read twice", k)
				}
				seen[k] = true
				if strings.HasPrefix(k, "kiln:asset:") {
					assets++
				}
			}
			if assets == 0 {
				t.Errorf("no asset read; keys %q", src.Keys)
			}
		})
	}
}

// withImages gives every post in d the same cover and author picture.
func withImages(t *testing.T, d kilntest.Data) {
	t.Helper()
	for k, v := range d {
		if !strings.HasPrefix(k, post.Prefix) {
			continue
		}
		p, err := post.Decode([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		p.CoverImage, p.Author.Picture = "covers/hello-world.svg", "authors/mara.svg"
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		d[k] = string(b)
	}
}

func TestEmpty(t *testing.T) {
	resp, err := kilntest.Render(home, blogtest.Assets(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(resp.Body), "No posts yet") {
		t.Errorf("empty blog does not say so:\n%s", resp.Body)
	}
}

func TestUnavailable(t *testing.T) {
	_, err := kilntest.Render(home, kilntest.Unavailable)
	if !errors.Is(err, kilntest.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}
