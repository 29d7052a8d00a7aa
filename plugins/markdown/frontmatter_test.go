package markdown

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// flat describes front matter for comparisons: scalars as text, one level
// of mapping as "key.sub", lists as "[a b]".
func flat(t *testing.T, fm frontMatter) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, n := range fm {
		switch deref(n).Kind {
		case yaml.MappingNode:
			m := deref(n)
			for i := 0; i+1 < len(m.Content); i += 2 {
				sub := m.Content[i].Value
				v, err := fm.nested(k, sub)
				if err != nil {
					t.Fatal(err)
				}
				out[k+"."+sub] = v
			}
		case yaml.SequenceNode:
			l, err := fm.list(k)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = "[" + strings.Join(l, " ") + "]"
		default:
			v, err := fm.text(k)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
	}
	return out
}

func TestSplitFrontMatter(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantFM   map[string]string
		wantBody string
	}{
		{"plain", "---\ntitle: Hello\n---\nbody\n", map[string]string{"title": "Hello"}, "body\n"},
		{"crlf and bom", "\ufeff---\r\ntitle: Hi\r\n---\r\nx\r\n", map[string]string{"title": "Hi"}, "x\n"},
		{"double quoted", "---\ntitle: \"a: b \\\"c\\\"\"\n---\n", map[string]string{"title": `a: b "c"`}, ""},
		{"single quoted", "---\ntitle: 'it''s # here'\n---\n", map[string]string{"title": "it's # here"}, ""},
		{"comment after plain", "---\nt: a # note\n---\n", map[string]string{"t": "a"}, ""},
		{"hash inside plain", "---\nt: C#sharp\n---\n", map[string]string{"t": "C#sharp"}, ""},
		{"comment after quoted", "---\nt: \"a\"  # note\n---\n", map[string]string{"t": "a"}, ""},
		{"colon in value", "---\ndate: 2022-03-16T05:35:07.322Z\n---\n", map[string]string{"date": "2022-03-16T05:35:07.322Z"}, ""},
		{"date stays text", "---\ndate: 2022-03-10\n---\n", map[string]string{"date": "2022-03-10"}, ""},
		{"blank and comment lines", "---\n\n# c\na: 1\n---\n", map[string]string{"a": "1"}, ""},
		{"nested", "---\nauthor:\n  name: Ann\n  picture: /a.jpg\ntitle: T\n---\n", map[string]string{"author.name": "Ann", "author.picture": "/a.jpg", "title": "T"}, ""},
		{"empty block", "---\n---\n# Title\n", map[string]string{}, "# Title\n"},
		{"only comments", "---\n# nothing\n---\n", map[string]string{}, ""},
		{"trailing spaces on fences", "--- \nx: y\n---\t\nz", map[string]string{"x": "y"}, "z"},
		{"later fences are body", "---\na: b\n---\n---\nc: d\n---\n", map[string]string{"a": "b"}, "---\nc: d\n---\n"},
		{"flow list", "---\ntags: [a, b]\n---\n", map[string]string{"tags": "[a b]"}, ""},
		{"block list", "---\ntags:\n  - a\n  - b c\n---\n", map[string]string{"tags": "[a b c]"}, ""},
		{"folded scalar", "---\nexcerpt: >\n  one\n  two\n---\n", map[string]string{"excerpt": "one two\n"}, ""},
		{"literal scalar", "---\nexcerpt: |-\n  one\n  two\n---\n", map[string]string{"excerpt": "one\ntwo"}, ""},
		{"null", "---\ntitle: ~\nslug:\n---\n", map[string]string{"title": "", "slug": ""}, ""},
		{"alias", "---\nauthor: &a Ann\neditor: *a\n---\n", map[string]string{"author": "Ann", "editor": "Ann"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, body, err := splitFrontMatter(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(t, fm); !reflect.DeepEqual(got, tt.wantFM) {
				t.Errorf("front matter = %q, want %q", got, tt.wantFM)
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
		{"no colon", "---\ntitle\n---\n", "line 2: front matter must be key: value pairs"},
		{"a list", "---\n- a\n---\n", "line 2: front matter must be key: value pairs"},
		{"duplicate", "---\na: 1\nb: 2\na: 3\n---\n", `line 4: duplicate key "a" (first at line 2)`},
		{"indent after value", "---\na: 1\n  b: 2\n---\n", "line 3: mapping values are not allowed in this context"},
		{"bad double quote", "---\na: \"x\n---\n", "line 2: found unexpected end of stream"},
		{"bad single quote", "---\na: 'x\n---\n", "line 2: found unexpected end of stream"},
		{"junk after quote", "---\na: \"x\" y\n---\n", "line 1: did not find expected key"}, // yaml.v3 counts parser errors' lines from 0
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
		{"tags as a list", "a.md", "---\ntags: [go, isr]\n---\n", Post{Slug: "a", Tags: []string{"go", "isr"}}, ""},
		{"one tag", "a.md", "---\ntags: go\n---\n", Post{Slug: "a", Tags: []string{"go"}}, ""},
		{"numbers are text", "a.md", "---\ntitle: 2022\ndate: 2022-01-02\n---\n", Post{Slug: "a", Title: "2022", Date: "2022-01-02"}, ""},
		{"bad slug", "x.md", "---\nslug: a/b\n---\n", Post{}, `invalid slug "a/b"`},
		{"space in file name", "my post.md", "---\n---\n", Post{}, `invalid slug "my post"`},
		{"title is a list", "x.md", "---\ntitle: [a]\n---\n", Post{}, "line 2: title: want a string, got a list"},
		{"tag is a mapping", "x.md", "---\ntags:\n  - {a: b}\n---\n", Post{}, "line 3: tags: want a string, got a mapping"},
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
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("post = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzFrontMatter checks the parser never panics, that the body is the
// rest of the file, and that every accepted value reads as the plugin
// reads it without panicking.
func FuzzFrontMatter(f *testing.F) {
	f.Add("---\ntitle: Hello\nauthor:\n  name: Ann\n---\nbody")
	f.Add("---\nt: 'it''s'\nu: \"\\u00e9\" # c\n---\n")
	f.Add("\ufeff---\r\na: b\r\n---\r\n")
	f.Add("---\ntags: [a, b]\nx: &x [*x]\n---")
	f.Add("---\na: &a [1]\nb: &b [*a, *a]\nc: [*b, *b]\n---\n")
	f.Add("---\n---")
	f.Fuzz(func(t *testing.T, src string) {
		fm, body, err := splitFrontMatter(src)
		if err != nil {
			return
		}
		if norm := strings.ReplaceAll(src, "\r\n", "\n"); !strings.HasSuffix(norm, body) {
			t.Fatalf("body %q is not the end of the file", body)
		}
		for k := range fm {
			fm.text(k)
			fm.list(k)
			fm.nested(k, "name")
		}
	})
}

// FuzzParsePost checks that every accepted file gives a usable slug and a
// value that decodes back to the post.
func FuzzParsePost(f *testing.F) {
	f.Add("a.md", "---\ntitle: Hello\nslug: hi\ntags: [x]\n---\nbody <b>&</b>")
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
		if utf8.ValidString(src) && utf8.ValidString(name) && !reflect.DeepEqual(back, p) {
			t.Errorf("value decodes to %+v, want %+v", back, p)
		}
	})
}
