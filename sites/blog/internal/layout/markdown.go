package layout

import (
	"bytes"
	"fmt"

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

// Markdown renders a post body to HTML that is safe to embed in a page.
func Markdown(src string) (HTML, error) {
	var b bytes.Buffer
	if err := md.Convert([]byte(src), &b); err != nil {
		return "", fmt.Errorf("markdown: %w", err)
	}
	return HTML(b.String()), nil
}
