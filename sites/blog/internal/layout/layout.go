// Package layout renders the blog's pages from html/template files shared
// by every renderer, so all pages have one header, footer and stylesheet.
//
// It knows nothing about Kiln: renderers resolve asset URLs and read data,
// then hand plain view structs to the page functions here. html/template
// escapes every field by context; only Markdown output (already sanitised
// by goldmark, which drops raw HTML) is passed as template.HTML.
package layout

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

//go:embed templates/*.html
var files embed.FS

// SiteName ends every page title.
const SiteName = "Kiln Blog"

// Page is what every page's base layout needs.
type Page struct {
	Title       string // the <title>
	Description string // meta description; may be empty
	StyleURL    string
	FaviconURL  string
	Home        bool // the home page shows the big site title
}

// Card is a post as the home page and the post header show it.
type Card struct {
	Title, URL, Excerpt     string
	Date                    time.Time
	AuthorName              string
	AuthorPicture, CoverURL string // may be empty
}

// Home is the home page: the newest post as the hero, then more stories.
type Home struct {
	Page
	Hero *Card
	More []Card
}

// Post is one post's page.
type Post struct {
	Page
	Post Card
	Body template.HTML // rendered Markdown
}

// Assets maps a static file name (e.g. "style.css") to its public URL, or
// "" when there is no such file.
type Assets func(name string) string

// NewPage fills the parts of Page that come from assets.
func NewPage(title, description string, assets Assets) Page {
	if title == "" {
		title = SiteName
	} else {
		title += " | " + SiteName
	}
	return Page{Title: title, Description: description, StyleURL: assets("style.css"), FaviconURL: assets("favicon.svg")}
}

// NewCard turns a post into a card, resolving its images through assets.
func NewCard(p post.Post, assets Assets) Card {
	return Card{
		Title: p.Title, URL: post.Path(p.Slug), Excerpt: p.Excerpt, Date: p.Date,
		AuthorName: p.Author.Name, AuthorPicture: imageURL(p.Author.Picture, assets),
		CoverURL: imageURL(p.CoverImage, assets),
	}
}

// imageURL keeps absolute URLs and resolves names of static files.
func imageURL(ref string, assets Assets) string {
	switch {
	case ref == "":
		return ""
	case strings.HasPrefix(ref, "https://"), strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "/"):
		return ref
	}
	return assets(ref)
}

var funcs = template.FuncMap{
	"isodate":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"longdate": func(t time.Time) string { return t.UTC().Format("January 2, 2006") },
}

var (
	homeTmpl     = parse("home.html")
	postTmpl     = parse("post.html")
	notFoundTmpl = parse("notfound.html")
	shellTmpl    = parse("shell.html")
)

func parse(page string) *template.Template {
	return template.Must(template.New(page).Funcs(funcs).ParseFS(files, "templates/base.html", "templates/"+page))
}

// RenderHome renders the home page.
func RenderHome(h Home) ([]byte, error) { return execute(homeTmpl, h) }

// RenderPost renders a post page.
func RenderPost(p Post) ([]byte, error) { return execute(postTmpl, p) }

// RenderNotFound renders the 404 page. It is the same for every path: the
// engine may render it once and serve it for any missing page.
func RenderNotFound(p Page) ([]byte, error) { return execute(notFoundTmpl, p) }

// RenderShell renders the fallback shell shown while a post is generated.
// It is the same for every path, so it needs no data.
func RenderShell(p Page) ([]byte, error) { return execute(shellTmpl, p) }

func execute(t *template.Template, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "base", data); err != nil {
		return nil, fmt.Errorf("layout %s: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}
