package layout

import (
	"bufio"
	"bytes"
	"fmt"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

// md renders GitHub-flavoured Markdown. Raw HTML in posts is not rendered
// (goldmark's default), so a post body cannot inject markup or scripts.
var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM, extension.Typographer),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// converter is what one conversion needs besides goldmark's parser: the
// source bytes, the output and goldmark's buffered writer. They are reused
// from render to render (an instance renders one page at a time, so in
// wasm the pool holds one), instead of a 4 KiB writer and two copies of the
// post allocated for each.
type converter struct {
	src []byte
	out bytes.Buffer
	w   *bufio.Writer
}

var converters = sync.Pool{New: func() any {
	c := &converter{}
	c.w = bufio.NewWriterSize(&c.out, 4096)
	return c
}}

// Markdown renders a post body to HTML that is safe to embed in a page.
func Markdown(src string) (HTML, error) {
	c := converters.Get().(*converter)
	defer converters.Put(c)
	c.src = append(c.src[:0], src...)
	c.out.Reset()
	c.w.Reset(&c.out)
	if err := md.Convert(c.src, c.w); err != nil { // goldmark flushes c.w
		return "", fmt.Errorf("markdown: %w", err)
	}
	return HTML(c.out.String()), nil
}
