package layout

import (
	"bytes"
	"html/template"
	"testing"
	"time"
)

// The pages were html/template files; they are now written by Go functions
// (layout.go). The templates stay in testdata/templates as the reference:
// these tests render both, on the same views, and want the same bytes.

var refFuncs = template.FuncMap{
	"isodate":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"longdate": func(t time.Time) string { return t.UTC().Format("January 2, 2006") },
}

func reference(t testing.TB, page string, data any) []byte {
	t.Helper()
	tmpl := template.Must(template.New(page).Funcs(refFuncs).ParseFiles("testdata/templates/base.html", "testdata/templates/"+page))
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "base", data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// refPost is the template's view of a post page: the body as template.HTML.
type refPost struct {
	Page
	Post Card
	Body template.HTML
}

// samePages renders every page from these views both ways.
func samePages(t *testing.T, pg Page, card Card, more []Card, body HTML) {
	t.Helper()
	check := func(name string, got []byte, err error, want []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its template:\n got %q\nwant %q", name, got, want)
		}
	}
	home := Home{Page: pg, Hero: &card, More: more}
	got, err := RenderHome(home)
	check("home", got, err, reference(t, "home.html", home))
	home.Hero, home.More = nil, nil
	got, err = RenderHome(home)
	check("empty home", got, err, reference(t, "home.html", home))
	got, err = RenderPost(Post{Page: pg, Post: card, Body: body})
	check("post", got, err, reference(t, "post.html", refPost{Page: pg, Post: card, Body: template.HTML(body)}))
	got, err = RenderNotFound(pg)
	check("notfound", got, err, reference(t, "notfound.html", pg))
	got, err = RenderShell(pg)
	check("shell", got, err, reference(t, "shell.html", pg))
}

func TestSameAsTemplates(t *testing.T) {
	date := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		page Page
		card Card
	}{
		{"plain", Page{Title: "Hello | Kiln Blog", Description: "d", StyleURL: "/assets/style.css", FaviconURL: "/assets/favicon.svg"},
			Card{Title: "Hello", URL: "/posts/hello", Excerpt: "Ex", Date: date, AuthorName: "Mara", AuthorPicture: "/a.svg", CoverURL: "/c.svg"}},
		{"home, no images, no description", Page{Title: "Kiln Blog", Home: true},
			Card{Title: "T", URL: "/posts/t", Date: date.Add(-time.Hour * 9000), AuthorName: "Theo"}},
		{"escapes", Page{Title: `<"&'+>` + "\x00", Description: `a+b <c> & "d"`, StyleURL: "javascript:x", FaviconURL: "HTTPS://e.org/a b?x=1&y='2'"},
			Card{Title: `"Quotes" & <tags> + 'more'`, URL: "/x/%41%zz+ü", Excerpt: "\x00<", Date: date.In(time.FixedZone("x", 3600)),
				AuthorName: "Ana <&> O'Neil+", AuthorPicture: "mailto:a@b", CoverURL: "data:text/html,x"}},
		{"schemes", Page{Title: "s", StyleURL: "httpſ://x", FaviconURL: "a/b:c"},
			Card{Title: "t", URL: "//host/p#f", CoverURL: ":x", AuthorPicture: "HtTp:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samePages(t, tt.page, tt.card, []Card{tt.card, {Title: "second", URL: "/posts/2", Date: date}}, "<p>body &amp; more</p>\n")
		})
	}
}

func FuzzSameAsTemplates(f *testing.F) {
	f.Add("Hello", "d", "/assets/style.css", "/posts/a b", "Ex <&>", "Mara", "covers/a.svg", int64(1773824400), true)
	f.Add(`"'+`, "", "javascript:x", "HTTPS://e.org/%zz", "\x00", "", "mailto:x", int64(-1), false)
	f.Fuzz(func(t *testing.T, title, desc, style, url, excerpt, author, picture string, unix int64, home bool) {
		date := time.Unix(unix%(1<<40), 0)
		pg := Page{Title: title, Description: desc, StyleURL: style, FaviconURL: picture, Home: home}
		card := Card{Title: title, URL: url, Excerpt: excerpt, Date: date, AuthorName: author, AuthorPicture: picture, CoverURL: style}
		samePages(t, pg, card, []Card{card}, HTML(excerpt))
	})
}
