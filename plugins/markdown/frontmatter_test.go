package markdown

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitFrontMatter(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantFM   frontMatter
		wantBody string
	}{
		{"plain", "---\ntitle: Hello\n---\nbody\n", frontMatter{"title": "Hello"}, "body\n"},
		{"crlf and bom", "\ufeff---\r\ntitle: Hi\r\n---\r\nx\r\n", frontMatter{"title": "Hi"}, "x\n"},
		{"double quoted", "---\ntitle: \"a: b \\\"c\\\"\"\n---\n", frontMatter{"title": `a: b "c"`}, ""},
		{"single quoted", "---\ntitle: 'it''s # here'\n---\n", frontMatter{"title": "it's # here"}, ""},
		{"comment after plain", "---\nt: a # note\n---\n", frontMatter{"t": "a"}, ""},
		{"hash inside plain", "---\nt: C#sharp\n---\n", frontMatter{"t": "C#sharp"}, ""},
		{"comment after quoted", "---\nt: \"a\"  # note\n---\n", frontMatter{"t": "a"}, ""},
		{"colon in value", "---\ndate: 2022-03-16T05:35:07.322Z\n---\n", frontMatter{"date": "2022-03-16T05:35:07.322Z"}, ""},
		{"blank and comment lines", "---\n\n# c\na: 1\n---\n", frontMatter{"a": "1"}, ""},
		{"nested", "---\nauthor:\n  name: Ann\n  picture: /a.jpg\ntitle: T\n---\n", frontMatter{"author": "", "author.name": "Ann", "author.picture": "/a.jpg", "title": "T"}, ""},
		{"empty block", "---\n---\n# Title\n", frontMatter{}, "# Title\n"},
		{"trailing spaces on fences", "--- \nx: y\n---\t\nz", frontMatter{"x": "y"}, "z"},
		{"later fences are body", "---\na: b\n---\n---\nc: d\n---\n", frontMatter{"a": "b"}, "---\nc: d\n---\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, body, err := splitFrontMatter(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fm, tt.wantFM) {
				t.Errorf("front matter = %q, want %q", fm, tt.wantFM)
			}
			if body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestSplitFrontMatterErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"empty file", "", "missing front matter"},
		{"no fence", "# Title\n", "missing front matter"},
		{"unterminated", "---\ntitle: x\n", "unterminated front matter"},
		{"no colon", "---\ntitle\n---\n", "line 2: want key: value"},
		{"bad key", "---\nti tle: x\n---\n", `line 2: invalid key "ti tle"`},
		{"duplicate", "---\na: 1\nb: 2\na: 3\n---\n", `line 4: duplicate key "a"`},
		{"orphan indent", "---\n  a: 1\n---\n", "line 2: indented line outside a nested block"},
		{"indent after value", "---\na: 1\n  b: 2\n---\n", "line 3: indented line outside a nested block"},
		{"bad double quote", "---\na: \"x\n---\n", "line 2: value of a: bad double-quoted string"},
		{"bad single quote", "---\na: 'x\n---\n", "line 2: value of a: unterminated single-quoted string"},
		{"junk after quote", "---\na: \"x\" y\n---\n", `line 2: value of a: unexpected "y" after quoted value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := splitFrontMatter(tt.src)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestParsePost(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            Post
		wantErr         string
	}{
		{"slug from file", "hello.md", "---\ntitle: Hi\n---\n\nText\n", Post{Slug: "hello", Title: "Hi", Content: "Text\n"}, ""},
		{"slug from front matter", "x.md", "---\nslug: other\n---\n", Post{Slug: "other"}, ""},
		{"nested author and cover", "a.md", "---\nauthor:\n  name: Ann\ncoverImage:\n  url: /c.jpg\n---\n", Post{Slug: "a", Author: "Ann", CoverImage: "/c.jpg"}, ""},
		{"bad slug", "x.md", "---\nslug: a/b\n---\n", Post{}, `invalid slug "a/b"`},
		{"space in file name", "my post.md", "---\n---\n", Post{}, `invalid slug "my post"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePost(tt.file, []byte(tt.src))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("post = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzFrontMatter checks the parser never panics and that whatever it
// accepts survives being written back with every value double-quoted.
func FuzzFrontMatter(f *testing.F) {
	f.Add("---\ntitle: Hello\nauthor:\n  name: Ann\n---\nbody")
	f.Add("---\nt: 'it''s'\nu: \"\\u00e9\" # c\n---\n")
	f.Add("\ufeff---\r\na: b\r\n---\r\n")
	f.Add("---\n---")
	f.Fuzz(func(t *testing.T, src string) {
		fm, body, err := splitFrontMatter(src)
		if err != nil {
			return
		}
		fm2, body2, err := splitFrontMatter(encodeFrontMatter(fm) + body)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", encodeFrontMatter(fm)+body, err)
		}
		if !reflect.DeepEqual(fm2, fm) || body2 != body {
			t.Errorf("round trip = %q %q, want %q %q", fm2, body2, fm, body)
		}
	})
}

// encodeFrontMatter writes fm back as front matter, values quoted and
// nested keys indented under their (empty) parent.
func encodeFrontMatter(fm frontMatter) string {
	var b strings.Builder
	b.WriteString("---\n")
	for _, k := range sortedKeys(fm) {
		if strings.Contains(k, ".") {
			continue
		}
		if fm[k] != "" {
			b.WriteString(k + ": " + strconv.Quote(fm[k]) + "\n")
			continue
		}
		b.WriteString(k + ":\n")
		for _, c := range sortedKeys(fm) {
			if child, ok := strings.CutPrefix(c, k+"."); ok {
				b.WriteString("  " + child + ": " + strconv.Quote(fm[c]) + "\n")
			}
		}
	}
	b.WriteString("---\n")
	return b.String()
}

// FuzzParsePost checks that every accepted file gives a usable slug and a
// value that decodes back to the post.
func FuzzParsePost(f *testing.F) {
	f.Add("a.md", "---\ntitle: Hello\nslug: hi\n---\nbody <b>&</b>")
	f.Add("x y.md", "---\n---\n")
	f.Fuzz(func(t *testing.T, name, src string) {
		p, err := ParsePost(name, []byte(src))
		if err != nil {
			return
		}
		if checkSlug(p.Slug) != nil {
			t.Fatalf("accepted slug %q", p.Slug)
		}
		var back Post
		if err := json.Unmarshal(p.value(), &back); err != nil {
			t.Fatalf("value %s: %v", p.value(), err)
		}
		if utf8.ValidString(src) && utf8.ValidString(name) && back != p {
			t.Errorf("value decodes to %+v, want %+v", back, p)
		}
	})
}
