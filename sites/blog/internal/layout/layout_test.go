package layout

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

func assets(name string) string {
	if name == "missing.svg" {
		return ""
	}
	return "/assets/" + name
}

func TestNewCard(t *testing.T) {
	tests := []struct {
		name                string
		cover, picture      string
		wantCover, wantPict string
	}{
		{"static files", "covers/a.svg", "authors/m.svg", "/assets/covers/a.svg", "/assets/authors/m.svg"},
		{"absolute URLs kept", "https://cdn.example/a.png", "/img/m.png", "https://cdn.example/a.png", "/img/m.png"},
		{"none", "", "", "", ""},
		{"missing file", "missing.svg", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCard(post.Post{Slug: "a", CoverImage: tt.cover, Author: post.Author{Picture: tt.picture}}, assets)
			if c.CoverURL != tt.wantCover || c.AuthorPicture != tt.wantPict || c.URL != "/posts/a" {
				t.Errorf("got cover %q, picture %q, url %q; want %q, %q, /posts/a", c.CoverURL, c.AuthorPicture, c.URL, tt.wantCover, tt.wantPict)
			}
		})
	}
}

func TestNewPage(t *testing.T) {
	if got, want := NewPage("", "", assets).Title, "Kiln Blog"; got != want {
		t.Errorf("home title = %q, want %q", got, want)
	}
	p := NewPage("Hello", "d", assets)
	if p.Title != "Hello | Kiln Blog" || p.StyleURL != "/assets/style.css" || p.FaviconURL != "/assets/favicon.svg" {
		t.Errorf("NewPage = %+v", p)
	}
}

// TestEscaping checks that data from the data source cannot inject markup.
func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>`
	card := Card{Title: evil, URL: "/posts/a", Excerpt: evil, AuthorName: evil, CoverURL: `javascript:alert(1)`, Date: time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC)}
	body, err := Markdown("Hi <script>alert(1)</script> [x](javascript:alert(1))")
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]func() ([]byte, error){
		"home": func() ([]byte, error) {
			return RenderHome(Home{Page: NewPage(evil, evil, assets), Hero: &card, More: []Card{card}})
		},
		"post": func() ([]byte, error) {
			return RenderPost(Post{Page: NewPage(evil, evil, assets), Post: card, Body: body})
		},
		"notfound": func() ([]byte, error) { return RenderNotFound(NewPage(evil, "", assets)) },
		"shell":    func() ([]byte, error) { return RenderShell(NewPage(evil, "", assets)) },
	}
	for name, render := range pages {
		t.Run(name, func(t *testing.T) {
			out, err := render()
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"<script", "javascript:"} {
				if strings.Contains(string(out), bad) {
					t.Errorf("page contains %q:\n%s", bad, out)
				}
			}
		})
	}
}

func TestMarkdown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"# Title", `<h1 id="title">Title</h1>`},
		{"| a |\n| - |\n| b |", "<table>"},
		{"~~gone~~", "<del>gone</del>"},
		{"<b>raw</b>", "<!-- raw HTML omitted -->"},
		{`"quoted"`, "&ldquo;quoted&rdquo;"},
	}
	for _, tt := range tests {
		got, err := Markdown(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), tt.want) {
			t.Errorf("Markdown(%q) = %q, want it to contain %q", tt.in, got, tt.want)
		}
	}
}

func FuzzMarkdown(f *testing.F) {
	f.Add("# Hi\n\n<script>x</script>\n\n[a](javascript:b)")
	f.Fuzz(func(t *testing.T, src string) {
		out, err := Markdown(src)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(out)), "<script") {
			t.Errorf("Markdown(%q) let a script through: %s", src, out)
		}
	})
}

// checkNoLinks converts src with and without Linkify and wants the same
// bytes whenever linkable says Linkify has nothing to do.
func checkNoLinks(t *testing.T, src string) {
	t.Helper()
	if linkable([]byte(src)) {
		return
	}
	var with, without bytes.Buffer
	if err := md.Convert([]byte(src), &with); err != nil {
		t.Fatal(err)
	}
	if err := mdNoLinks.Convert([]byte(src), &without); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(with.Bytes(), without.Bytes()) {
		t.Errorf("%q:\nwith Linkify    %q\nwithout Linkify %q", src, with.Bytes(), without.Bytes())
	}
}

var noLinkCases = []string{
	"Plain words, *emphasis*, _under_, ~~gone~~ and (parens).",
	"Line with two trailing spaces  \nnext line\\\nthird",
	"- item one\n- item two *x* _y_\n\n1. first\n2. (second)\n",
	"| a | b |\n| - | - |\n| *c* | ~d~ |\n\n- [ ] task\n- [x] done\n",
	"# Title\n\n## Title\n\n> quote (with) *stars*\n\n```\ncode  *not*\n```\n",
	"\"Quotes\" -- dashes --- and... 'single' <b>raw</b> &amp; &copy;",
	"example.com and mailto:x and ftp.example.org and wwwx and http//no",
	"*(nested)* ~(x)~ _(y)_ ( ) * _ ~",
	"[link](/a) ![img](/b) <https://c> `code`",
}

func TestNoLinksSameBytes(t *testing.T) {
	for _, c := range noLinkCases {
		checkNoLinks(t, c)
	}
	p, err := post.Decode(samplePost(t))
	if err != nil {
		t.Fatal(err)
	}
	checkNoLinks(t, p.Content)
}

func FuzzNoLinksSameBytes(f *testing.F) {
	for _, c := range noLinkCases {
		f.Add(c)
	}
	f.Fuzz(checkNoLinks)
}
