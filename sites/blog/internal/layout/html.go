package layout

// Writers escape as html/template does in the contexts the pages use, so
// the pages are byte-identical to the templates in testdata/templates
// (layout_test.go renders both and compares them).

import "strings"

const hexDigits = "0123456789abcdef"

// page is a growing HTML buffer.
type page []byte

func (p *page) raw(s string) { *p = append(*p, s...) }

// text writes s escaped for text and quoted attribute values: html/template's
// htmlEscaper.
func (p *page) text(s string) {
	b := *p
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
		b = append(append(b, s[start:i]...), rep...)
		start = i + 1
	}
	*p = append(b, s[start:]...)
}

// url writes a URL attribute value as html/template does: filtered to safe
// schemes, normalized (percent-encoding what a URL may not hold), then
// escaped.
func (p *page) url(s string) {
	if !safeURL(s) {
		s = "#ZgotmplZ"
	}
	b := *p
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case urlByte(c) || (c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])):
			switch c {
			case '&':
				b = append(b, "&amp;"...)
			case '+':
				b = append(b, "&#43;"...)
			default:
				b = append(b, c)
			}
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	*p = b
}

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

// safeURL is html/template's isSafeURL: relative, or http, https, mailto
// (compared with Unicode case folding, as html/template does).
func safeURL(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(scheme, "/") {
		return true
	}
	return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto")
}
