//go:build !wasip1

// The markdown package against goldmark. Not built for wasip1 (where the
// benchmarks in bench_test.go run): blogtest reads the process's CPU time.

package layout

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sites/blog/internal/blogtest"
	"github.com/kilnhq/kiln/sites/blog/internal/markdown"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

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
	"# A\n# A\n# A-1\n# A\n## *A* `b`\n# heading\n# ..\n",
	"- a\n* b\n+ c\n1. d\n\n***\n___\n* * *\n",
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
