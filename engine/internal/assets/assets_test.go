package assets

import (
	"crypto/sha256"
	"encoding/hex"
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

func TestReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.css", "a1")
	write("gone.css", "x")
	set, err := Load([]Dir{{Prefix: "/s/", Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := set.Lookup("a.css")
	write("a.css", "a2")
	write("new.css", "n")
	os.Remove(filepath.Join(dir, "gone.css"))
	if err := set.Reload(); err != nil {
		t.Fatal(err)
	}
	cur, _ := set.Lookup("a.css")
	for _, tc := range []struct {
		path, want string // want "" means not served
	}{
		{cur, "a2"},
		{"/s/a.css", "a2"},
		{old, ""},
		{"/s/new.css", "n"},
		{"/s/gone.css", ""},
	} {
		got := ""
		if f := set.Get(tc.path); f != nil {
			got = string(f.Body)
		}
		if got != tc.want {
			t.Errorf("after Reload, Get(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := set.Reload(); err == nil {
		t.Error("Reload of a missing directory succeeded")
	}
	if f := set.Get("/s/a.css"); f == nil || string(f.Body) != "a2" {
		t.Errorf("a failed Reload dropped the files read before: %v", f)
	}
}

// TestReloadWhileServing reads while another goroutine reloads (run with
// -race): a reader sees one whole read or the next, never a mix.
func TestReloadWhileServing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.css"), []byte("0"), 0o644)
	set, err := Load([]Dir{{Prefix: "/s/", Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 50; i++ {
			os.WriteFile(filepath.Join(dir, "a.css"), []byte(strings.Repeat("x", i)), 0o644)
			if err := set.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		f := set.Get("/s/a.css")
		if f == nil {
			t.Fatalf("a.css missing during reloads")
		}
		sum := sha256.Sum256(f.Body)
		if want := "/s/a." + hex.EncodeToString(sum[:4]) + ".css"; f.URL != want {
			t.Fatalf("a.css body %q served with URL %s, want %s", f.Body, f.URL, want)
		}
	}
}
