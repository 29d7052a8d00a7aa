package markdown

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Post is one Markdown file as served: its value is Post encoded as JSON.
// Content is the raw Markdown body; the renderer turns it into HTML.
type Post struct {
	Slug       string   `json:"slug"`
	Title      string   `json:"title"`
	Date       string   `json:"date"`
	Author     string   `json:"author"`
	Excerpt    string   `json:"excerpt"`
	CoverImage string   `json:"coverImage"`
	Tags       []string `json:"tags,omitempty"`
	Content    string   `json:"content"`
}

// ParsePost parses one file. name is the file's base name; its stem is the
// slug unless the front matter sets one.
func ParsePost(name string, src []byte) (Post, error) {
	fm, body, err := splitFrontMatter(string(src))
	if err != nil {
		return Post{}, err
	}
	p := Post{Content: strings.TrimLeft(body, "\n")}
	fields := []struct {
		dst       *string
		key, name string // name: the field inside a mapping value
	}{
		{&p.Slug, "slug", ""}, {&p.Title, "title", ""}, {&p.Date, "date", ""},
		{&p.Author, "author", "name"}, {&p.Excerpt, "excerpt", ""}, {&p.CoverImage, "coverImage", "url"},
	}
	for _, f := range fields {
		if f.name == "" {
			*f.dst, err = fm.text(f.key)
		} else {
			*f.dst, err = fm.textOrNested(f.key, f.name)
		}
		if err != nil {
			return Post{}, err
		}
	}
	if p.Tags, err = fm.list("tags"); err != nil {
		return Post{}, err
	}
	if p.Slug == "" {
		p.Slug = strings.TrimSuffix(name, ".md")
	}
	if err := checkSlug(p.Slug); err != nil {
		return Post{}, err
	}
	return p, nil
}

// checkSlug keeps slugs usable as one URL path segment.
func checkSlug(s string) error {
	if s == "" || s == "." || s == ".." {
		return fmt.Errorf("invalid slug %q", s)
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r == '?' || r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("invalid slug %q: no spaces, slashes, ? or #", s)
		}
	}
	return nil
}

// value encodes p as the item value, leaving HTML in the Markdown as is.
func (p Post) value() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p) // strings only: cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
