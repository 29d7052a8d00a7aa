// Package post is the blog's data model: how a post is stored in the data
// source, how its keys are built, and how the home page finds the newest
// posts without reading them all.
//
// A post lives under "post:<slug>" as JSON. Next to it, an index key
// "bydate:<date>:<slug>" (value: the slug) orders posts by date, because a
// data source lists keys in byte order and the date is written in a
// fixed-width UTC form that sorts like time. The home page lists that index
// in reverse with a small limit, so rendering it costs O(page size), not
// O(posts).
package post

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Key prefixes in the data source.
const (
	Prefix      = "post:"
	IndexPrefix = "bydate:"
)

// DateLayout is how dates are written in index keys and JSON: fixed-width
// UTC, so byte order is time order.
const DateLayout = "2006-01-02T15:04:05Z"

// ErrInvalid is wrapped by Decode for a value that is JSON but not a post.
var ErrInvalid = errors.New("post: invalid")

// Author is who wrote a post.
type Author struct {
	Name    string `json:"name"`
	Picture string `json:"picture,omitempty"`
}

// UnmarshalJSON accepts an object {"name","picture"} or a bare name, so
// flat front matter (`author: Mara Lind`) works too.
func (a *Author) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*a = Author{}
		return json.Unmarshal(b, &a.Name)
	}
	type plain Author
	return json.Unmarshal(b, (*plain)(a))
}

// Post is one blog post, the JSON value stored under Key(slug).
type Post struct {
	Slug       string    `json:"slug"`
	Title      string    `json:"title"`
	Date       time.Time `json:"-"`
	Author     Author    `json:"author"`
	Excerpt    string    `json:"excerpt"`
	CoverImage string    `json:"coverImage"`
	Content    string    `json:"content"` // Markdown
}

type wire struct {
	Date string `json:"date"`
	*plainPost
}

type plainPost Post

// MarshalJSON writes the date in DateLayout.
func (p Post) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<" and "&" in Markdown legible
	err := enc.Encode(wire{Date: p.Date.UTC().Format(DateLayout), plainPost: (*plainPost)(&p)})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}

// UnmarshalJSON reads the date as RFC 3339 or a bare YYYY-MM-DD.
func (p *Post) UnmarshalJSON(b []byte) error {
	w := wire{plainPost: (*plainPost)(p)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d, err := ParseDate(w.Date)
	if err != nil {
		return err
	}
	p.Date = d
	return nil
}

// ParseDate parses an RFC 3339 timestamp or a YYYY-MM-DD date, in UTC,
// truncated to whole seconds like DateLayout.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date %q is not RFC 3339 or YYYY-MM-DD", ErrInvalid, s)
	}
	return t, nil
}

// Decode parses a stored post and checks the fields every page needs. It
// reads what json.Unmarshal reads, without reflection (see decode.go).
func Decode(value []byte) (Post, error) { return decode(value, true) }

// DecodeSummary is Decode without the post's Content, for listings: the
// same checks and errors, and the same post but for Content, left empty
// (the Markdown is most of a post's bytes, and copying it is most of a
// decode's work).
func DecodeSummary(value []byte) (Post, error) { return decode(value, false) }

func decode(value []byte, content bool) (Post, error) {
	var p Post
	date, err := decodeJSON(value, &p, content)
	if err != nil {
		return Post{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if p.Date, err = ParseDate(date); err != nil {
		return Post{}, err
	}
	if err := ValidSlug(p.Slug); err != nil {
		return Post{}, err
	}
	if strings.TrimSpace(p.Title) == "" {
		return Post{}, fmt.Errorf("%w: post %q has no title", ErrInvalid, p.Slug)
	}
	return p, nil
}

// ValidSlug reports whether s can be a slug: one URL path segment, so it
// is safe in a key, a path and an index key. Lowercase words joined by
// dashes ("hello-world") are the convention.
func ValidSlug(s string) error {
	if s == "" || s == "." || s == ".." || len(s) > 200 {
		return fmt.Errorf("%w: slug %q must be a 1 to 200 character path segment", ErrInvalid, s)
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r == '?' || r == '#' || r == '%' || unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%w: slug %q may not hold spaces, /, \\, ?, # or %%", ErrInvalid, s)
		}
	}
	return nil
}

// Key is the data key of the post with this slug.
func Key(slug string) string { return Prefix + slug }

// Path is the URL path of the post with this slug.
func Path(slug string) string { return "/posts/" + slug }

// IndexKey is the date-index key of a post. Its value is the slug.
func IndexKey(date time.Time, slug string) string {
	return IndexPrefix + date.UTC().Format(DateLayout) + ":" + slug
}

// ParseIndexKey splits an index key into its date and slug.
func ParseIndexKey(key string) (date time.Time, slug string, ok bool) {
	rest, found := strings.CutPrefix(key, IndexPrefix)
	if !found || len(rest) < len(DateLayout)+2 || rest[len(DateLayout)] != ':' {
		return time.Time{}, "", false
	}
	date, ok = parseIndexDate(rest[:len(DateLayout)])
	slug = rest[len(DateLayout)+1:]
	if !ok || ValidSlug(slug) != nil {
		return time.Time{}, "", false
	}
	return date, slug, true
}

// parseIndexDate is time.Parse(DateLayout, s), for the len(DateLayout)
// bytes of an index key's date, without walking the layout,
// which the home page paid for every index entry it listed: the same
// dates, the same refusals (a field out of range, a day past the end of
// its month), in UTC.
func parseIndexDate(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

// digits reads a run of ASCII digits as a number.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysIn is the number of days of month m in year.
func daysIn(m time.Month, year int) int {
	switch {
	case m == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0):
		return 29
	case m == time.February:
		return 28
	case m == time.April || m == time.June || m == time.September || m == time.November:
		return 30
	}
	return 31
}

// IndexValue is the value stored under an index key: the slug as a JSON
// string, so the index fits a JSON data file like every other value.
func IndexValue(slug string) []byte {
	b, _ := json.Marshal(slug)
	return b
}

// slugFromValue reads an index value written as a JSON string or as raw
// bytes (sources that store plain text).
func slugFromValue(v []byte) string {
	v = bytes.TrimSpace(v)
	if s, ok := plainString(v); ok {
		return s
	}
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// plainString reads a JSON string without escapes or non-ASCII bytes, as
// IndexValue writes every slug, without encoding/json: its reflection
// cost the home page more in WebAssembly than the slugs are worth. ok is
// false for anything else, which json.Unmarshal then reads.
func plainString(v []byte) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	for _, c := range v[1 : len(v)-1] {
		if !plain(c) {
			return "", false
		}
	}
	return string(v[1 : len(v)-1]), true
}
