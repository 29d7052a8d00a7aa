package assets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	css := strings.Repeat("body { color: black; }\n", 100)
	os.MkdirAll(filepath.Join(dir, "covers"), 0o755)
	os.WriteFile(filepath.Join(dir, "style.css"), []byte(css), 0o644)
	os.WriteFile(filepath.Join(dir, "covers", "a.svg"), []byte("<svg/>"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644)
	set, err := Load([]Dir{{Prefix: "/assets/", Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	url, ok := set.Lookup("style.css")
	if !ok || !strings.HasPrefix(url, "/assets/style.") || !strings.HasSuffix(url, ".css") || len(url) != len("/assets/style.12345678.css") {
		t.Fatalf("Lookup(style.css) = %q, %v; want /assets/style.HASH.css", url, ok)
	}
	tests := []struct {
		path        string
		found       bool
		immutable   bool
		contentType string
		gzip        bool
	}{
		{url, true, true, "text/css; charset=utf-8", true},
		{"/assets/style.css", true, false, "text/css; charset=utf-8", true},
		{"/assets/covers/a.svg", true, false, "image/svg+xml", false},
		{"/assets/.hidden", false, false, "", false},
		{"/assets/missing.css", false, false, "", false},
	}
	for _, tt := range tests {
		f := set.Get(tt.path)
		if got := f != nil; got != tt.found {
			t.Errorf("Get(%s) found = %v, want %v", tt.path, got, tt.found)
			continue
		}
		if f == nil {
			continue
		}
		if f.Immutable != tt.immutable || f.ContentType != tt.contentType || (f.Gzip != nil) != tt.gzip {
			t.Errorf("Get(%s) = immutable %v, %q, gzip %v; want %v, %q, %v",
				tt.path, f.Immutable, f.ContentType, f.Gzip != nil, tt.immutable, tt.contentType, tt.gzip)
		}
	}
	if _, ok := set.Lookup("covers/a.svg"); !ok {
		t.Errorf("Lookup(covers/a.svg) failed")
	}
}

func TestHashChangesWithContent(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.css"), []byte("a"), 0o644)
	s1, _ := Load([]Dir{{Prefix: "/s/", Path: dir}})
	os.WriteFile(filepath.Join(dir, "a.css"), []byte("b"), 0o644)
	s2, _ := Load([]Dir{{Prefix: "/s/", Path: dir}})
	u1, _ := s1.Lookup("a.css")
	u2, _ := s2.Lookup("a.css")
	if u1 == u2 {
		t.Errorf("hashed URL %s did not change with the content", u1)
	}
}
