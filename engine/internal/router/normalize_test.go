package router

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		raw, want string
		err       error
	}{
		{"/", "/", nil},
		{"/posts/a", "/posts/a", nil},
		{"/posts/a?x=1&y=/..", "/posts/a", nil},
		{"/posts/a#frag", "/posts/a", nil},
		{"/?q", "/", nil},
		{"/posts/a/", "/posts/a", nil},
		{"/posts//a", "/posts/a", nil},
		{"//", "/", nil},
		{"/a/./b/.", "/a/b", nil},
		{"/a/%2E/b", "/a/b", nil},
		{"/index", "/", nil},
		{"/index.html", "/", nil},
		{"/index/", "/", nil},
		{"/%69ndex", "/", nil},
		{"/posts/index", "/posts/index", nil},
		{"/h%C3%A9llo", "/héllo", nil},
		{"/héllo", "/héllo", nil},
		{"/a%20b", "/a b", nil},
		{"/a%41", "/aA", nil},
		{"/100%25", "/100%25", nil},
		{"/what%3f", "/what%3F", nil},
		{"/c%23", "/c%23", nil},
		{"/a..b", "/a..b", nil},
		{"/...", "/...", nil},
		{"/a;b=c", "/a;b=c", nil},
		{"", "", ErrNotAbsolute},
		{"?x", "", ErrNotAbsolute},
		{"posts", "", ErrNotAbsolute},
		{"http://x/y", "", ErrNotAbsolute},
		{"/..", "", ErrTraversal},
		{"/a/../b", "", ErrTraversal},
		{"/a/%2e%2e/b", "", ErrTraversal},
		{"/a/.%2E", "", ErrTraversal},
		{"/a/..", "", ErrTraversal},
		{"/a%2Fb", "", ErrEncodedSlash},
		{"/a%2fb", "", ErrEncodedSlash},
		{"/a%5Cb", "", ErrEncodedSlash},
		{"/a\\b", "", ErrBackslash},
		{"/a\x00b", "", ErrControl},
		{"/a%00b", "", ErrControl},
		{"/a\nb", "", ErrControl},
		{"/a%0d%0aSet-Cookie:x", "", ErrControl},
		{"/a%7F", "", ErrControl},
		{"/a%", "", ErrBadEscape},
		{"/a%4", "", ErrBadEscape},
		{"/a%zz", "", ErrBadEscape},
		{"/a%C3", "", ErrBadUTF8},
		{"/a\xff", "", ErrBadUTF8},
		{"/%C0%AF", "", ErrBadUTF8},
		{"/" + strings.Repeat("a", MaxPathLen), "", ErrTooLong},
		{"/" + strings.Repeat("a", MaxPathLen-1) + "?" + strings.Repeat("q", 5000), "/" + strings.Repeat("a", MaxPathLen-1), nil},
	}
	for _, tt := range tests {
		name := tt.raw
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := Normalize([]byte(tt.raw))
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.raw, got, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, ErrInvalidPath) {
				t.Errorf("error %v does not wrap ErrInvalidPath", err)
			}
		})
	}
}

func TestAppendNormalizedKeepsPrefix(t *testing.T) {
	dst := []byte("key:")
	got, err := AppendNormalized(dst, []byte("/a/"))
	if string(got) != "key:/a" || err != nil {
		t.Errorf("AppendNormalized = %q, %v", got, err)
	}
	got, err = AppendNormalized(dst, []byte("/a/../b"))
	if string(got) != "key:" || err == nil {
		t.Errorf("AppendNormalized = %q, %v; want prefix kept and an error", got, err)
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, raw := range []string{"/posts/hello-world", "/posts/h%C3%A9llo/?utm_source=x"} {
		b.Run(raw, func(b *testing.B) {
			in := []byte(raw)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Normalize(in)
			}
		})
	}
}

func BenchmarkAppendNormalized(b *testing.B) {
	in := []byte("/posts/hello-world?x=1")
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendNormalized(buf[:0], in)
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		wantOK bool
	}{
		{"/", "/", true},
		{"/posts/a", "/posts/a", true},
		{"/posts/a?x=1", "/posts/a", true},
		{"/posts/a#frag", "/posts/a", true},
		{"/posts/a#frag?x", "/posts/a", true},
		{"/index.html", "", false},
		{"/index", "", false},
		{"/posts/index.html", "/posts/index.html", true},
		{"/posts/a/", "", false},
		{"/a//b", "", false},
		{"/a/./b", "", false},
		{"/%41", "", false},
		{"/é", "", false},
		{"x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Clean([]byte(tt.raw))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Clean(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}
