package isr

import (
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/store"
)

func TestClassify(t *testing.T) {
	gen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		revalidate time.Duration
		expire     time.Duration
		marked     bool
		at         time.Duration // after generation
		want       State
	}{
		{"never stale", 0, 0, false, 1000 * time.Hour, Fresh},
		{"fresh", 10 * time.Second, 0, false, 9 * time.Second, Fresh},
		{"stale at revalidate", 10 * time.Second, 0, false, 10 * time.Second, Stale},
		{"stale long after, no expire", 10 * time.Second, 0, false, 1000 * time.Hour, Stale},
		{"stale before expire", 10 * time.Second, time.Minute, false, 59 * time.Second, Stale},
		{"expired", 10 * time.Second, time.Minute, false, time.Minute, Expired},
		{"marked stale while fresh", 10 * time.Second, 0, true, time.Second, Stale},
		{"marked, never-stale page", 0, 0, true, time.Second, Stale},
		{"marked and expired", 10 * time.Second, time.Minute, true, 2 * time.Minute, Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &store.Page{Generated: gen, Revalidate: tt.revalidate, Expire: tt.expire, StaleMarked: tt.marked}
			if got := Classify(p, gen.Add(tt.at)); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"post:*", "post:hello", true},
		{"post:*", "post:", true},
		{"post:*", "page:hello", false},
		{"*:post:*", "blog:post:a", true},
		{"*", "", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.key); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("post:*", "post:a")
	f.Add("*a*b", "xxaxxb")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if len(pattern) > 64 {
			return // keep backtracking bounded
		}
		if Glob(pattern, key) && pattern == key+"x" {
			t.Fatalf("%q matched %q", pattern, key)
		}
		if !Glob(key, key) && !containsStar(key) {
			t.Fatalf("%q does not match itself", key)
		}
	})
}

func containsStar(s string) bool {
	for i := range s {
		if s[i] == '*' {
			return true
		}
	}
	return false
}

func TestPageFromCompressesOnce(t *testing.T) {
	body := make([]byte, 4096)
	for i := range body {
		body[i] = "abcdefgh"[i%8]
	}
	p := pageFrom("/a", "/a", &render.Response{Body: body, Revalidate: -1}, time.Now(), time.Minute, 0)
	if p.Gzip == nil || p.Brotli == nil || len(p.Gzip) >= len(body) || len(p.Brotli) >= len(body) {
		t.Errorf("compressed variants: gzip %d, br %d bytes for %d", len(p.Gzip), len(p.Brotli), len(body))
	}
	if got, want := contentType(p), "text/html; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if len(p.ETag) != 26 || p.ETag[0] != '"' {
		t.Errorf("ETag %q is not a quoted strong tag", p.ETag)
	}
}
