package layout

import (
	"bufio"
	"bytes"
	"fmt"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	"github.com/kilnhq/kiln/sites/blog/internal/markdown"
)

// md renders GitHub-flavoured Markdown. Raw HTML in posts is not rendered
// (goldmark's default), so a post body cannot inject markup or scripts.
var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM, extension.Typographer),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// mdNoLinks is md without GFM's Linkify, for sources Linkify cannot change
// (see linkable). Linkify is tried at every space and emphasis mark of
// every line, which cost a third of a conversion; without it the same
// source gives the same bytes (markdown_test.go checks and fuzzes this).
var mdNoLinks = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.TaskList, extension.Typographer),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// linkable reports whether Linkify could change the output of src: it
// only links text starting with "http:", "https:", "ftp:" or "www.", or an
// address with an "@", and, as a side effect of splitting text at spaces,
// it keeps one of the spaces that end a line before a hard line break.
func linkable(src []byte) bool {
	return bytes.IndexByte(src, '@') >= 0 || bytes.Contains(src, []byte("http:")) ||
		bytes.Contains(src, []byte("https:")) || bytes.Contains(src, []byte("ftp:")) ||
		bytes.Contains(src, []byte("www.")) || trailingSpace(src)
}

// trailingSpace reports whether a line of src ends in a space or tab.
func trailingSpace(src []byte) bool {
	for i, c := range src {
		if (c == '\n' || c == '\r') && i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
			return true
		}
	}
	n := len(src)
	return n > 0 && (src[n-1] == ' ' || src[n-1] == '\t')
}

// converterFor picks md, or mdNoLinks when Linkify has nothing to do.
func converterFor(src []byte) goldmark.Markdown {
	if linkable(src) {
		return md
	}
	return mdNoLinks
}

// converter is what one conversion needs besides goldmark's parser: the
// source bytes, the output and goldmark's buffered writer. They are reused
// from render to render (an instance renders one page at a time, so in
// wasm the pool holds one), instead of a 4 KiB writer and two copies of the
// post allocated for each.
type converter struct {
	fast markdown.Converter
	html []byte
	src  []byte
	out  bytes.Buffer
	w    *bufio.Writer
}

var converters = sync.Pool{New: func() any {
	c := &converter{}
	c.w = bufio.NewWriterSize(&c.out, 4096)
	return c
}}

// Markdown renders a post body to HTML that is safe to embed in a page.
// The subset of Markdown the blog's posts use is converted by the
// markdown package, which gives goldmark's bytes at a fraction of its cost
// in WebAssembly; anything else goes to goldmark.
func Markdown(src string) (HTML, error) {
	c := converters.Get().(*converter)
	defer converters.Put(c)
	var ok bool
	if c.html, ok = c.fast.Convert(c.html[:0], src); ok {
		return HTML(c.html), nil
	}
	c.src = append(c.src[:0], src...)
	c.out.Reset()
	c.w.Reset(&c.out)
	if err := converterFor(c.src).Convert(c.src, c.w); err != nil { // goldmark flushes c.w
		return "", fmt.Errorf("markdown: %w", err)
	}
	return HTML(c.out.String()), nil
}
