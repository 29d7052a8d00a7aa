package post

import (
	"bytes"
	"errors"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Decoding a post by hand: encoding/json reflects on every field, and in
// WebAssembly that costs more than the rest of a post page. decodeJSON
// reads the same documents to the same Post as json.Unmarshal does with
// Post's UnmarshalJSON (decode_test.go fuzzes the two against each
// other): member names match case-insensitively, the last of a repeated
// member wins, null leaves a field as it is, unknown members are skipped
// (they must still be valid JSON), and invalid UTF-8 in strings becomes
// U+FFFD.

var errSyntax = errors.New("malformed JSON")

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type decoder struct {
	b   []byte
	i   int
	err error
}

// decodeJSON fills p and returns the raw "date" member. Without content,
// the "content" member is checked as str would read it (a string or null)
// but not copied: a listing shows no post's Markdown.
func decodeJSON(b []byte, p *Post, content bool) (date string, err error) {
	d := decoder{b: b}
	var buf [16]byte
	d.object(func(name []byte) {
		switch string(field(name, &buf)) {
		case "date":
			d.str(&date)
		case "slug":
			d.str(&p.Slug)
		case "title":
			d.str(&p.Title)
		case "excerpt":
			d.str(&p.Excerpt)
		case "coverimage":
			d.str(&p.CoverImage)
		case "content":
			if content {
				d.str(&p.Content)
			} else {
				d.skipStr()
			}
		case "author":
			d.author(&p.Author)
		default:
			d.skip()
		}
	})
	d.space()
	if d.err == nil && d.i != len(d.b) {
		d.fail()
	}
	return date, d.err
}

// author reads a bare name (which clears the picture) or an object.
func (d *decoder) author(a *Author) {
	d.space()
	if d.peek() == '"' {
		*a = Author{}
		d.str(&a.Name)
		return
	}
	if d.null() {
		return
	}
	var buf [16]byte
	d.object(func(name []byte) {
		switch string(field(name, &buf)) {
		case "name":
			d.str(&a.Name)
		case "picture":
			d.str(&a.Picture)
		default:
			d.skip()
		}
	})
}

// field folds a member name as encoding/json compares them: each letter
// to ToUpper(ToLower(r)), then the whole to lowercase ASCII for the
// switch, in buf (a switch on string(field(...)) copies nothing).
func field(name []byte, buf *[16]byte) []byte {
	out := buf[:0]
	for len(name) > 0 {
		r, n := utf8.DecodeRune(name)
		name = name[n:]
		if r >= utf8.RuneSelf {
			r = unicode.ToUpper(unicode.ToLower(r))
		}
		if r >= utf8.RuneSelf {
			return nil // no field has a non-ASCII name
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		out = append(out, byte(r))
	}
	return out
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errSyntax
	}
	d.i = len(d.b)
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// expect consumes c after optional space.
func (d *decoder) expect(c byte) {
	d.space()
	if d.peek() != c {
		d.fail()
		return
	}
	d.i++
}

// object reads {"name": value, ...}, calling member for each value.
func (d *decoder) object(member func(name []byte)) {
	d.expect('{')
	d.space()
	if d.peek() == '}' {
		d.i++
		return
	}
	for d.err == nil {
		d.space()
		name := d.rawString()
		d.expect(':')
		member(name)
		d.space()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.fail()
		}
	}
}

// null consumes a null literal if one is next.
func (d *decoder) null() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// str reads a string into s; null leaves s as it is; anything else fails.
func (d *decoder) str(s *string) {
	d.space()
	if d.null() {
		return
	}
	start := d.i
	v := d.rawString()
	switch {
	case d.err != nil:
	case len(v) > 0 && &v[0] != &d.b[start+1]:
		*s = unsafe.String(&v[0], len(v)) // slowString's own copy: no second one
	default:
		*s = string(v)
	}
}

// skipStr reads what str reads (a string or null), checking it the same
// way, without keeping it.
func (d *decoder) skipStr() {
	d.space()
	if !d.null() {
		d.skipString()
	}
}

// skipString reads a JSON string and checks it as rawString does, without
// unescaping or copying it.
func (d *decoder) skipString() {
	if d.peek() != '"' {
		d.fail()
		return
	}
	d.i++
	var buf [utf8.UTFMax]byte // what one escape unescapes to, dropped
	for d.err == nil && d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return
		case c == '\\':
			d.escape(buf[:0])
		case c < ' ':
			d.fail()
		default:
			d.i++
		}
	}
	d.fail()
}

// rawString reads a JSON string and returns its unescaped bytes.
func (d *decoder) rawString() []byte {
	if d.peek() != '"' {
		d.fail()
		return nil
	}
	d.i++
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1]
		case c == '\\' || c >= utf8.RuneSelf:
			return d.slowString(start)
		case c < ' ':
			d.fail()
			return nil
		}
		d.i++
	}
	d.fail()
	return nil
}

// slowString finishes a string that holds escapes or non-ASCII bytes,
// copying each run of plain ASCII in one append.
func (d *decoder) slowString(start int) []byte {
	// The next quote is at or before the end of the string: a good size.
	size := len(d.b) - start
	if q := bytes.IndexByte(d.b[d.i:], '"'); q >= 0 {
		size = d.i - start + q
	}
	out := append(make([]byte, 0, size), d.b[start:d.i]...)
	for d.i < len(d.b) {
		run := d.i
		for run < len(d.b) && plain(d.b[run]) {
			run++
		}
		out = append(out, d.b[d.i:run]...)
		d.i = run
		if d.i == len(d.b) {
			break
		}
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return out
		case c == '\\':
			out = d.escape(out)
		case c < ' ':
			d.fail()
			return nil
		default:
			r, n := utf8.DecodeRune(d.b[d.i:])
			out = utf8.AppendRune(out, r) // invalid UTF-8 becomes U+FFFD
			d.i += n
		}
	}
	d.fail()
	return nil
}

// plain reports whether c stands for itself inside a JSON string.
func plain(c byte) bool { return c >= ' ' && c < utf8.RuneSelf && c != '"' && c != '\\' }

func (d *decoder) escape(out []byte) []byte {
	if d.i+1 >= len(d.b) {
		d.fail()
		return out
	}
	c := d.b[d.i+1]
	d.i += 2
	switch c {
	case '"', '\\', '/':
		return append(out, c)
	case 'b':
		return append(out, '\b')
	case 'f':
		return append(out, '\f')
	case 'n':
		return append(out, '\n')
	case 'r':
		return append(out, '\r')
	case 't':
		return append(out, '\t')
	case 'u':
		return utf8.AppendRune(out, d.unicode())
	}
	d.fail()
	return out
}

// unicode reads the hex digits of \uXXXX (and of a low surrogate after a
// high one), as encoding/json does.
func (d *decoder) unicode() rune {
	r := d.hex4()
	if !utf16.IsSurrogate(r) {
		return r
	}
	if len(d.b)-d.i >= 6 && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
		save := d.i
		d.i += 2
		if r2 := d.hex4(); utf16.DecodeRune(r, r2) != unicode.ReplacementChar {
			return utf16.DecodeRune(r, r2)
		}
		d.i = save // not a pair: the second escape stands alone
	}
	return unicode.ReplacementChar
}

func (d *decoder) hex4() rune {
	if len(d.b)-d.i < 4 {
		d.fail()
		return 0
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			d.fail()
			return 0
		}
		r = r*16 + rune(c)
	}
	d.i += 4
	return r
}

// skip reads any JSON value and drops it, checking it is well formed.
// Arrays and objects are walked with an explicit stack of closers.
func (d *decoder) skip() {
	var stack []byte // the closer of each open array or object
	for d.err == nil {
		d.space()
		switch c := d.peek(); c {
		case '{', '[':
			if len(stack) == maxDepth {
				d.fail()
				return
			}
			d.i++
			d.space()
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			if d.peek() == closer {
				d.i++
				break
			}
			stack = append(stack, closer)
			if closer == '}' {
				d.skipString()
				d.expect(':')
			}
			continue
		case '"':
			d.skipString()
		case 't':
			d.word("true")
		case 'f':
			d.word("false")
		case 'n':
			d.word("null")
		default:
			d.number()
		}
		// A value ended: close what it ends, or go on to the next member.
		for d.err == nil {
			if len(stack) == 0 {
				return
			}
			d.space()
			closer := stack[len(stack)-1]
			switch d.peek() {
			case closer:
				d.i++
				stack = stack[:len(stack)-1]
				continue
			case ',':
				d.i++
				if closer == '}' {
					d.space()
					d.skipString()
					d.expect(':')
				}
			default:
				d.fail()
			}
			break
		}
	}
}

func (d *decoder) word(w string) {
	if len(d.b)-d.i < len(w) || string(d.b[d.i:d.i+len(w)]) != w {
		d.fail()
		return
	}
	d.i += len(w)
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() {
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		d.fail()
		return
	}
	if d.peek() == '.' {
		d.i++
		d.needDigits()
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		d.needDigits()
	}
}

func (d *decoder) needDigits() {
	if c := d.peek(); c < '0' || c > '9' {
		d.fail()
		return
	}
	d.digits()
}

func (d *decoder) digits() {
	for c := d.peek(); '0' <= c && c <= '9'; c = d.peek() {
		d.i++
	}
}
