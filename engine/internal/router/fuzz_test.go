package router

import (
	"strings"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/config"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/", "/a/b/", "/a//b", "/%2e%2E/", "/a%2Fb", "/h%C3%A9", "/index.html", "/x?y#z", "/100%25", "/%3f%23", "/.", "/a/./b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Normalize(raw)
		if err != nil {
			return
		}
		again, err := Normalize([]byte(p))
		if err != nil || again != p {
			t.Fatalf("Normalize(%q) = %q; again = %q, %v", raw, p, again, err)
		}
		for _, bad := range []string{"//", "/../", "/./", "%2F", "%2f", "\\", "\x00", "?", "#"} {
			if p != "/" && strings.Contains(p+"/", bad) {
				t.Fatalf("Normalize(%q) = %q contains %q", raw, p, bad)
			}
		}
		if p != "/" && strings.HasSuffix(p, "/") || !strings.HasPrefix(p, "/") {
			t.Fatalf("Normalize(%q) = %q", raw, p)
		}
	})
}

// FuzzMatch checks Match never panics and agrees with the one-pattern
// reference matcher and with Expand on every normalized path.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/", "/posts/x", "/posts/new/edit", "/docs", "/docs/a/b", "/files/x/y", "/users/1/posts/2", "//", "/a/b/c"} {
		f.Add(s)
	}
	tab := table(f, patterns...)
	f.Fuzz(func(t *testing.T, path string) {
		r, params, ok := tab.Match(path)
		p, err := Normalize([]byte(path))
		if err != nil || p != path {
			return
		}
		if !ok {
			for _, pat := range patterns {
				segs, _ := config.ParsePattern(pat)
				if config.MatchSegments(segs, path) {
					t.Fatalf("Match(%q) missed %q", path, pat)
				}
			}
			return
		}
		segs, _ := config.ParsePattern(r.Pattern)
		if !config.MatchSegments(segs, path) {
			t.Fatalf("Match(%q) = %q, which does not match", path, r.Pattern)
		}
		if back := Expand(r.Pattern, params); back != path {
			t.Fatalf("Expand(%q, %v) = %q, want %q", r.Pattern, params, back, path)
		}
	})
}

// FuzzClean checks the hit path's fast lane against Normalize: whatever
// Clean accepts, Normalize maps to the same path.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"/", "/a", "/a/b/", "/a#b", "/a?b#c", "/a#b?c", "/index", "/index.html", "/posts/index.html", "/a//b", "/.x", "/a/.b", "/é", "/a%20b", "/x?"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, ok := Clean(raw)
		if !ok {
			return
		}
		n, err := Normalize(raw)
		if err != nil || n != p {
			t.Fatalf("Clean(%q) = %q, Normalize = %q, %v", raw, p, n, err)
		}
	})
}
