package markup_test

import (
	"bytes"
	"fmt"
	"html/template"
	"testing"

	"github.com/kilnhq/kiln/sdk/go/markup"
)

// reference renders the template context around s with html/template.
var reference = template.Must(template.New("").Parse(`<p title="{{.}}">{{.}}</p><a href="{{.}}"></a>`))

func checkSame(t *testing.T, s string) {
	t.Helper()
	var want bytes.Buffer
	if err := reference.Execute(&want, s); err != nil {
		t.Fatal(err)
	}
	var b markup.Buffer
	b.Raw(`<p title="`)
	b.Text(s)
	b.Raw(`">`)
	b.Text(s)
	b.Raw(`</p><a href="`)
	b.URL(s)
	b.Raw(`"></a>`)
	if got := b.Bytes(); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%q:\n got %s\nwant %s", s, got, want.Bytes())
	}
}

var cases = []string{
	"", "plain", `<script>alert("x")</script>`, "a & b + 'c'", "\x00nul", "héllo ✓",
	"/posts/a b?x=1&y='2'", "https://example.org/%41%zz%4", "HTTPS://E.ORG/", "mailto:a@b",
	"javascript:alert(1)", "data:text/html,x", "httpſ://x", "a/b:c", ":x", "//host/p#f", "\xff\xfe",
}

func TestSameAsHTMLTemplate(t *testing.T) {
	for _, s := range cases {
		checkSame(t, s)
	}
}

func FuzzSameAsHTMLTemplate(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(checkSame)
}

func TestReset(t *testing.T) {
	var b markup.Buffer
	b.Grow(64)
	b.Text("a<b")
	if got, want := string(b.Bytes()), "a&lt;b"; got != want || b.Len() != len(want) {
		t.Errorf("Bytes = %q (len %d), want %q", got, b.Len(), want)
	}
	b.Reset()
	b.RawBytes([]byte("<i>"))
	if got, want := string(b.Bytes()), "<i>"; got != want {
		t.Errorf("after Reset, Bytes = %q, want %q", got, want)
	}
}

// A card written without a template: text, an attribute and a link, each
// escaped for where it lands.
func Example() {
	title, url := `Rock & "Roll"`, "/posts/rock roll?tag=a+b"
	var b markup.Buffer
	b.Raw(`<h2><a href="`)
	b.URL(url)
	b.Raw(`" title="`)
	b.Text(title)
	b.Raw(`">`)
	b.Text(title)
	b.Raw("</a></h2>")
	fmt.Println(string(b.Bytes()))
	// Output: <h2><a href="/posts/rock%20roll?tag=a&#43;b" title="Rock &amp; &#34;Roll&#34;">Rock &amp; &#34;Roll&#34;</a></h2>
}
