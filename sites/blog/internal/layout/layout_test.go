package layout

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
	"github.com/kilnhq/kiln/sites/blog/internal/markdown"
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

// checkFast converts src with the markdown package and, when it takes the
// input, wants goldmark's bytes (md, the blog's configuration).
func checkFast(t *testing.T, src string) bool {
	t.Helper()
	var conv markdown.Converter
	got, ok := conv.Convert(nil, src)
	if !ok {
		return false
	}
	var want bytes.Buffer
	if err := md.Convert([]byte(src), &want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%q:\nmarkdown %q\ngoldmark %q", src, got, want.Bytes())
	}
	return true
}

// fastCases are inputs the markdown package must take (and match
// goldmark on); refusedCases are inputs it must hand to goldmark.
var fastCases = []string{
	"",
	"Plain words, *emphasis*, **strong**, _under_ and snake_case (parens).",
	"# Title\n\n## Title\n\n### Title ##\n\n#### Café & a-b #\n",
	"- item one\n- item two *x* _y_\ncontinued\n\n1. first\n2. second\n",
	"3. third\n4. fourth\n",
	"> a quote with *stars*\n> and a second line\nlazy\n\nafter",
	"```go\nfunc main() {\n\tprintln(\"<hi>\" && 1)\n}\n```\n\n```\n\n```\n",
	"Text with `code <b>` and `` a`b `` and ` spaced `.",
	"A [link](/posts/hello-world) and ![an image](/covers/a.svg), [*em* text](x#y).",
	"it's don't *a **b** c* **x *y* z**",
	"para\n# heading\n- list\n\n***\n\n---\n",
	"   indented para\n    continued\n  # heading",
	"Single trailing space \nnext line",
	"a & b > c, 1.5 and a. b.. c",
}

var refusedCases = []string{
	"<b>raw</b>", "a <http://x>", "&amp;", "&copy;", `"quotes"`, "'single'", "a -- b", "a...",
	"Title\n=====", "Title\n---", "[ref]\n\n[ref]: /x", "| a |\n| - |\n| b |", "~~gone~~",
	"a\\*b", "hard  \nbreak", "a\tb", "    code", "~~~\ncode\n~~~", "- a\n\n- b", "- [ ] task",
	"*a **b* c**", "a*b*", "***x***", "[x](javascript:alert(1))", "[x](/a b)", "x@y.z", "see www.x.org",
	"\x00", "a\r\nb", "\xff", "```\nunclosed", "<<a>>", "2. two\n3. three\n\na\n2. x",
}

func TestFastSameBytes(t *testing.T) {
	for _, src := range fastCases {
		if !checkFast(t, src) {
			t.Errorf("markdown refused %q", src)
		}
	}
	for _, src := range refusedCases {
		if checkFast(t, src) {
			t.Errorf("markdown took %q", src)
		}
	}
}

// TestFastTakesPosts wants every post in sites/blog/posts and every
// generated benchmark post converted by the markdown package, except the
// one with a table, and the same bytes as goldmark.
func TestFastTakesPosts(t *testing.T) {
	for _, src := range postSeeds(t) {
		if !checkFast(t, src) && !strings.Contains(src, "| --- |") {
			t.Errorf("markdown refused a post:\n%s", src)
		}
	}
}

// postSeeds is every post's Markdown: the files in posts/, the sample
// data and the generated benchmark posts.
func postSeeds(t testing.TB) []string {
	var seeds []string
	files, _ := filepath.Glob(filepath.Join("..", "..", "posts", "*.md"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(strings.TrimPrefix(string(b), "---\n"), "\n---\n")
		seeds = append(seeds, body)
	}
	d := blogtest.SampleData(t)
	for _, slug := range blogtest.BenchPosts(d) {
		p, err := post.Decode([]byte(d[post.Key(slug)]))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, p.Content)
	}
	return seeds
}

func FuzzFastSameBytes(f *testing.F) {
	for _, c := range append(append(fastCases, refusedCases...), noLinkCases...) {
		f.Add(c)
	}
	for _, c := range postSeeds(f) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, src string) { checkFast(t, src) })
}

// mdTokens are the pieces FuzzFastTokens builds Markdown from: block
// starts, emphasis, code, links and the characters the converter refuses
// or treats specially, so the fuzzer explores structure, not bytes.
var mdTokens = []string{
	"\n", "\n", "\n\n", " ", " ", "  ", "    ", "word", "Lorem", "x", "a_b", "é", "1", ".", ",", "!", "?",
	"# ", "## ", "###### ", "#", "- ", "* ", "+ ", "1. ", "2. ", "1) ", "> ", ">", "```", "```go\n", "---", "***", "___",
	"===", "-:", "|", "*", "**", "***", "_", "__", "`", "``", "[", "]", "(", ")", "[a](/b)", "![i](c.png)", "](", "&", "'",
	"\"", "--", "...", "<", ">>", "\\", "~", "\t", ":", "{", "}",
}

func FuzzFastTokens(f *testing.F) {
	f.Add([]byte{7, 0, 9, 1, 30, 7, 2, 0, 0})
	f.Add([]byte{17, 6, 48, 6, 48, 1, 18, 7, 0, 45, 2, 44})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s strings.Builder
		for _, c := range b {
			s.WriteString(mdTokens[int(c)%len(mdTokens)])
		}
		checkFast(t, s.String())
	})
}
