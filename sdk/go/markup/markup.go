// Package markup writes HTML into a byte buffer, escaping each value for
// the context it lands in as html/template would, without templates or
// reflection.
//
// html/template reflects on every field of every execution, and in
// WebAssembly that costs more than the rest of a typical page. A page
// written with Buffer is plain Go: write the fixed markup with Raw, text
// and quoted attribute values with Text, and href or src values with URL.
//
//	var b markup.Buffer
//	b.Raw(`<a href="`)
//	b.URL(post.URL)
//	b.Raw(`">`)
//	b.Text(post.Title)
//	b.Raw(`</a>`)
//	return kiln.HTML(b.Bytes()), nil
//
// Escaping follows html/template byte for byte, for values in element text
// and in double-quoted attributes. Values in other contexts (script, style,
// unquoted attributes) are not covered: keep those out of pages, or escape
// them yourself.
package markup

import "strings"

// Buffer is an HTML page being written. The zero value is empty and ready.
type Buffer struct {
	b []byte
}

// Bytes returns the page written so far; it aliases the buffer until the
// next write or Reset.
func (b *Buffer) Bytes() []byte { return b.b }

// Len is the number of bytes written.
func (b *Buffer) Len() int { return len(b.b) }

// Reset empties the buffer and keeps its memory, for the next page.
func (b *Buffer) Reset() { b.b = b.b[:0] }

// Grow makes room for n more bytes.
func (b *Buffer) Grow(n int) {
	if cap(b.b)-len(b.b) < n {
		nb := make([]byte, len(b.b), 2*cap(b.b)+n)
		copy(nb, b.b)
		b.b = nb
	}
}

// Raw writes trusted markup as it is.
func (b *Buffer) Raw(s string) { b.b = append(b.b, s...) }

// RawBytes writes trusted markup as it is.
func (b *Buffer) RawBytes(s []byte) { b.b = append(b.b, s...) }

// Text writes s escaped for element text or a double-quoted attribute
// value: & < > " ' and + become entities, and NUL becomes U+FFFD, as
// html/template's HTML escaper does.
func (b *Buffer) Text(s string) {
	out := b.b
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		case '+':
			rep = "&#43;"
		case 0:
			rep = "\uFFFD"
		default:
			continue
		}
		out = append(append(out, s[start:i]...), rep...)
		start = i + 1
	}
	b.b = append(out, s[start:]...)
}

// URL writes s as the value of a double-quoted URL attribute (href, src):
// a URL with a scheme other than http, https or mailto becomes
// "#ZgotmplZ", bytes a URL may not hold are percent-encoded, and the
// result is escaped for the attribute, as html/template does.
func (b *Buffer) URL(s string) {
	if !safeURL(s) {
		s = "#ZgotmplZ"
	}
	out := b.b
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '&':
			out = append(out, "&amp;"...)
		case c == '+':
			out = append(out, "&#43;"...)
		case urlByte(c) || (c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])):
			out = append(out, c)
		default:
			out = append(out, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	b.b = out
}

const hexDigits = "0123456789abcdef"

// urlByte reports whether c stays as it is in a normalized URL: RFC 3986's
// unreserved and reserved characters, less the quote and parentheses.
func urlByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']', '-', '.', '_', '~':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// safeURL is html/template's test: relative, or http, https or mailto
// (compared with Unicode case folding, as html/template does).
func safeURL(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(scheme, "/") {
		return true
	}
	return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto")
}
