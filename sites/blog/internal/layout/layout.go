// Package layout renders the blog's pages, shared by every renderer, so all
// pages have one header, footer and stylesheet.
//
// It knows nothing about Kiln: renderers resolve asset URLs and read data,
// then hand plain view structs to the page functions here. The pages are
// written by plain Go functions with the SDK's markup.Buffer, not
// html/template, because template execution reflects on every field and
// costs most of a render in WebAssembly. They escape every field as
// html/template would in its context (text, attribute, URL), and produce
// the same bytes as the templates in testdata/templates, which the tests
// run side by side with them. Only Markdown output (already sanitised: goldmark drops raw
// HTML, and the markdown package refuses it) is written as it is, typed HTML.
package layout

import (
	"strings"
	"time"

	"github.com/kilnhq/kiln/sdk/go/markup"
	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

// HTML is markup that is safe to write into a page as it is.
type HTML string

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
	Body HTML // rendered Markdown
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

// RenderHome renders the home page.
func RenderHome(h Home) ([]byte, error) {
	p := newPage(16 << 10)
	p.head(h.Page)
	if h.Hero != nil {
		p.hero(h.Hero)
	} else {
		p.Raw(emptyHome)
	}
	if len(h.More) > 0 {
		p.Raw("\n<section class=\"more\" aria-labelledby=\"more-title\">\n" +
			"  <h2 id=\"more-title\" class=\"section-title\">More Stories</h2>\n  <ul class=\"cards\" role=\"list\">")
		for i := range h.More {
			p.card(&h.More[i])
		}
		p.Raw("\n  </ul>\n</section>")
	}
	p.Raw(foot)
	return p.Bytes(), nil
}

// RenderPost renders a post page.
func RenderPost(v Post) ([]byte, error) {
	p := newPage(len(v.Body) + 4<<10)
	p.head(v.Page)
	c := &v.Post
	p.Raw("<article class=\"post\" aria-labelledby=\"post-title\">\n  <header class=\"post-header\">\n" +
		"    <h1 id=\"post-title\" class=\"post-title\">")
	p.Text(c.Title)
	p.Raw("</h1>\n    ")
	p.byline(c)
	p.Raw("\n    <div class=\"post-cover\">")
	p.cover(c)
	p.Raw("</div>\n    ")
	p.date(c)
	p.Raw("\n  </header>\n  <div class=\"prose\">\n")
	p.Raw(string(v.Body))
	p.Raw("\n  </div>\n</article>\n" +
		"<nav class=\"post-nav\" aria-label=\"Blog\"><a href=\"/\">&larr; Back to all stories</a></nav>")
	p.Raw(foot)
	return p.Bytes(), nil
}

// RenderNotFound renders the 404 page. It is the same for every path: the
// engine may render it once and serve it for any missing page.
func RenderNotFound(v Page) ([]byte, error) { return fixed(v, notFoundMain), nil }

// RenderShell renders the fallback shell shown while a post is generated.
// It is the same for every path, so it needs no data.
func RenderShell(v Page) ([]byte, error) { return fixed(v, shellMain), nil }

func fixed(v Page, main string) []byte {
	p := newPage(4 << 10)
	p.head(v)
	p.Raw(main)
	p.Raw(foot)
	return p.Bytes()
}

// page is a page being written (see markup.Buffer for the escaping).
type page struct{ markup.Buffer }

func newPage(size int) *page {
	p := &page{}
	p.Grow(size)
	return p
}

// head writes the start of every page, up to its main element.
func (p *page) head(v Page) {
	p.Raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	p.Text(v.Title)
	p.Raw("</title>\n")
	if v.Description != "" {
		p.Raw("<meta name=\"description\" content=\"")
		p.Text(v.Description)
		p.Raw("\">\n")
	}
	p.Raw("<link rel=\"icon\" href=\"")
	p.URL(v.FaviconURL)
	p.Raw("\" type=\"image/svg+xml\">\n<link rel=\"stylesheet\" href=\"")
	p.URL(v.StyleURL)
	p.Raw("\">\n</head>\n<body>\n<a class=\"skip-link\" href=\"#main\">Skip to content</a>\n" +
		"<header class=\"site-header\">\n  <div class=\"container\">")
	if v.Home {
		p.Raw("\n    <h1 class=\"site-title\">Blog.</h1>\n    <p class=\"site-tagline\">A statically generated blog " +
			"example using <a href=\"https://github.com/kilnhq/kiln\">Kiln</a>, Go and WebAssembly.</p>")
	} else {
		p.Raw("\n    <p class=\"site-title site-title--small\"><a href=\"/\">Blog.</a></p>")
	}
	p.Raw("\n  </div>\n</header>\n<main id=\"main\" class=\"container\">\n")
}

// foot closes every page.
const foot = "\n</main>\n<footer class=\"site-footer\">\n  <div class=\"container\">\n" +
	"    <p>Statically generated by Kiln: pages are stored after the first render and regenerated in the " +
	"background when they go stale or their data changes.</p>\n  </div>\n</footer>\n</body>\n</html>\n"

func (p *page) hero(c *Card) {
	p.Raw("\n<section class=\"hero\" aria-labelledby=\"hero-title\">\n  <a class=\"hero-cover\" href=\"")
	p.URL(c.URL)
	p.Raw("\" tabindex=\"-1\" aria-hidden=\"true\">")
	p.cover(c)
	p.Raw("</a>\n  <div class=\"hero-body\">\n    <div>\n      <h2 id=\"hero-title\" class=\"hero-title\"><a href=\"")
	p.URL(c.URL)
	p.Raw("\">")
	p.Text(c.Title)
	p.Raw("</a></h2>\n      ")
	p.date(c)
	p.Raw("\n    </div>\n    <div>\n      <p class=\"excerpt\">")
	p.Text(c.Excerpt)
	p.Raw("</p>\n      ")
	p.byline(c)
	p.Raw("\n    </div>\n  </div>\n</section>\n")
}

const emptyHome = "\n<section class=\"empty\">\n  <h2>No posts yet</h2>\n" +
	"  <p>Add a post to the data source and this page regenerates by itself.</p>\n</section>\n"

func (p *page) card(c *Card) {
	p.Raw("\n    <li class=\"card\">\n      <article>\n        <a class=\"card-cover\" href=\"")
	p.URL(c.URL)
	p.Raw("\" tabindex=\"-1\" aria-hidden=\"true\">")
	p.cover(c)
	p.Raw("</a>\n        <h3 class=\"card-title\"><a href=\"")
	p.URL(c.URL)
	p.Raw("\">")
	p.Text(c.Title)
	p.Raw("</a></h3>\n        ")
	p.date(c)
	p.Raw("\n        <p class=\"excerpt\">")
	p.Text(c.Excerpt)
	p.Raw("</p>\n        ")
	p.byline(c)
	p.Raw("\n      </article>\n    </li>")
}

func (p *page) byline(c *Card) {
	p.Raw("<p class=\"byline\">")
	if c.AuthorPicture != "" {
		p.Raw("<img class=\"avatar\" src=\"")
		p.URL(c.AuthorPicture)
		p.Raw("\" alt=\"\" width=\"48\" height=\"48\">")
	}
	p.Raw("<span class=\"author\">")
	p.Text(c.AuthorName)
	p.Raw("</span></p>")
}

func (p *page) date(c *Card) {
	d := c.Date.UTC()
	p.Raw("<p class=\"meta\"><time datetime=\"")
	p.Text(d.Format(time.RFC3339))
	p.Raw("\">")
	p.Text(d.Format("January 2, 2006"))
	p.Raw("</time></p>")
}

func (p *page) cover(c *Card) {
	if c.CoverURL == "" {
		return
	}
	p.Raw("<img class=\"cover\" src=\"")
	p.URL(c.CoverURL)
	p.Raw("\" alt=\"Cover image for ")
	p.Text(c.Title)
	p.Raw("\" width=\"1200\" height=\"630\">")
}

const notFoundMain = "<section class=\"notfound\" aria-labelledby=\"nf-title\">\n" +
	"  <p class=\"notfound-code\" aria-hidden=\"true\">404</p>\n  <h1 id=\"nf-title\">This page could not be found</h1>\n" +
	"  <p>The post may have been unpublished, or the link has a typo.</p>\n" +
	"  <p><a class=\"button\" href=\"/\">Go to the home page</a></p>\n</section>"

const shellMain = "<article class=\"post post--loading\" aria-busy=\"true\" aria-labelledby=\"loading-title\">\n" +
	"  <header class=\"post-header\">\n    <h1 id=\"loading-title\" class=\"visually-hidden\">Loading post</h1>\n" +
	"    <div class=\"skeleton skeleton-title\"></div>\n    <div class=\"skeleton skeleton-title skeleton-title--short\"></div>\n" +
	"    <div class=\"byline\"><div class=\"skeleton skeleton-avatar\"></div><div class=\"skeleton skeleton-line skeleton-name\"></div></div>\n" +
	"    <div class=\"skeleton skeleton-cover\"></div>\n  </header>\n  <div class=\"prose\">\n" +
	"    <p class=\"loading-note\" role=\"status\">Loading&hellip; this post is being generated for the first time.</p>\n" +
	"    <div class=\"skeleton skeleton-line\"></div>\n    <div class=\"skeleton skeleton-line\"></div>\n" +
	"    <div class=\"skeleton skeleton-line skeleton-line--short\"></div>\n  </div>\n</article>\n" +
	"<noscript><p class=\"loading-note\">JavaScript is off: <a href=\"\">reload this page</a> in a moment to see the post.</p></noscript>"
