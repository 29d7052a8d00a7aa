// Package markdown converts the Markdown the blog's posts are written in to
// HTML, byte for byte as goldmark does with the blog's configuration (GFM,
// Typographer, automatic heading ids), without goldmark's cost in
// WebAssembly: one pass, no interfaces, no allocation but the output.
//
// It knows a subset: paragraphs, ATX headings, fenced code, tight lists,
// simple block quotes, thematic breaks, emphasis, code spans, and links and
// images to plain relative addresses. Convert reports false on anything
// else, or on anything it is unsure of (HTML, setext headings, reference
// links, tables, entities, escapes, quotes, tricky emphasis...), and the
// caller converts that input with goldmark instead. A fuzz target in
// internal/layout checks every input it accepts against goldmark.
package markdown

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Converter converts Markdown. Its buffers are reused from call to call; a
// Converter is not safe for concurrent use.
type Converter struct {
	out   []byte
	lines []string // the open paragraph, list item or quote, trimmed
	ids   []headingID
	emph  []delim
}

// headingID is a heading id in use and, for an id a heading's text gave,
// the last number goldmark added to it to make it unique.
type headingID struct {
	id string
	n  int
}

// delim is an open emphasis: '*' or '_', one or two of them.
type delim struct {
	c byte
	n int
}

// block is what the lines in Converter.lines belong to.
type block int

const (
	none block = iota
	para
	bullet // a tight bullet list; marker is its character
	ordered
	quote
)

// state is the block being built while the lines are read.
type state struct {
	kind   block
	marker byte // the list's bullet or delimiter
	blank  bool // a blank line followed the list's last item
}

// unsure is the panic that ends a conversion goldmark must do. It never
// leaves the package: Convert recovers it (as text/template and the old
// encoding/json did), so the many places that can refuse need no error
// path, which would cost every call on the hot path.
type unsure struct{}

// Convert appends the HTML for src to dst. It returns false when src is
// outside the subset; dst's contents past its length are then undefined.
func (c *Converter) Convert(dst []byte, src string) (out []byte, ok bool) {
	if !plain(src) {
		return dst, false
	}
	c.out, c.lines, c.ids, c.emph = dst, c.lines[:0], c.ids[:0], c.emph[:0]
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(unsure); !is {
				panic(r)
			}
			out, ok = dst, false
		}
		c.lines = c.lines[:0]
		clear(c.ids)
		c.ids = c.ids[:0]
	}()
	c.blocks(src)
	return c.out, true
}

// bail abandons the conversion.
func bail() { panic(unsure{}) }

// plain reports whether src is free of what the subset never converts:
// invalid UTF-8, control characters but tab and newline, and anything
// GFM's Linkify could link ("www.", "http:", "https:", "ftp:" and '@').
func plain(src string) bool {
	ascii := true
	for i := 0; i < len(src); i++ {
		switch b := src[i]; {
		case b >= ' ' && b < 0x7f && b != '@' && b != ':' && b != '.':
		case b == '\n' || b == '\t':
		case b >= 0x80:
			ascii = false
		case b == '.':
			if i >= 3 && src[i-3:i] == "www" {
				return false
			}
		case b == ':':
			if strings.HasSuffix(src[:i], "http") || strings.HasSuffix(src[:i], "https") || strings.HasSuffix(src[:i], "ftp") {
				return false
			}
		default: // '@', control characters
			return false
		}
	}
	return ascii || utf8.ValidString(src)
}

// blocks reads src line by line.
func (c *Converter) blocks(src string) {
	var st state
	for len(src) > 0 {
		line := src
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = ""
		}
		if isFence(line) {
			c.end(&st)
			src = c.fence(line, src)
			continue
		}
		c.line(&st, line)
	}
	c.end(&st)
}

// line handles one line outside fenced code.
func (c *Converter) line(st *state, line string) {
	if strings.IndexByte(line, '\t') >= 0 {
		bail()
	}
	indent := 0
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	rest := line[indent:]
	if rest == "" {
		c.blankLine(st)
		return
	}
	if hardBreak(line) {
		bail()
	}
	k := classify(rest)
	switch {
	case st.kind == para && (k == text || indent >= 4 && k != maybe):
		c.lines = append(c.lines, trim(rest)) // continuation
	case (st.kind == bullet || st.kind == ordered || st.kind == quote) && !st.blank && k == text:
		c.lines = append(c.lines, trim(rest)) // lazy or indented continuation
	case indent >= 4:
		bail() // indented code
	case indent > 0 && (k != text && k != heading || st.kind != none && st.kind != para):
		bail() // an indented block start, or text after a list's blank line
	default:
		c.start(st, k, rest)
	}
}

// hardBreak reports whether line ends in two spaces (a hard line break).
func hardBreak(line string) bool {
	n := len(line)
	return n >= 2 && line[n-1] == ' ' && line[n-2] == ' '
}

// blankLine ends a paragraph or quote; a list ends at the next line.
func (c *Converter) blankLine(st *state) {
	switch st.kind {
	case bullet, ordered:
		st.blank = true
	case para, quote:
		c.end(st)
	}
}

// kind is what a line (without its indentation) starts.
type kind int

const (
	text kind = iota
	heading
	breakLine // thematic break
	bulletItem
	orderedItem
	quoteLine
	maybe // something the subset does not convert
)

// classify tells what rest, a line without its indentation, starts.
func classify(rest string) kind {
	if strings.Trim(rest, "-:| ") == "" && strings.IndexByte(rest, '-') >= 0 && !isBreak(rest) {
		return maybe // a table's delimiter row (goldmark needs no '|')
	}
	switch c := rest[0]; {
	case c == '#':
		n := 0
		for n < len(rest) && rest[n] == '#' {
			n++
		}
		if n <= 6 && (n == len(rest) || rest[n] == ' ') {
			return heading
		}
	case c == '-' || c == '*' || c == '_' || c == '+' || c == '=':
		if isBreak(rest) {
			return breakLine
		}
		if setext(rest) {
			return maybe
		}
		if c != '_' && c != '=' && len(rest) >= 2 && rest[1] == ' ' {
			return bulletItem
		}
		if c != '_' && c != '=' && len(rest) == 1 {
			return maybe // an empty item
		}
	case c >= '0' && c <= '9':
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n < len(rest) && (rest[n] == '.' || rest[n] == ')') {
			if n+1 < len(rest) && rest[n+1] == ' ' && rest[n] == '.' && n <= 9 {
				return orderedItem
			}
			if n+1 == len(rest) || rest[n+1] == ' ' {
				return maybe
			}
		}
	case c == '>':
		return quoteLine
	case c == '<' || c == '|' || c == '~' || c == '[' && strings.Contains(rest, "]:"):
		return maybe // HTML, tables, tilde fences, link definitions
	case c == '`':
		if strings.HasPrefix(rest, "```") {
			return maybe // an indented or unsure fence
		}
	}
	return text
}

// isBreak reports whether rest is a thematic break: three or more '-',
// '*' or '_', spaces allowed.
func isBreak(rest string) bool {
	c, n := rest[0], 0
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case c:
			n++
		case ' ':
		default:
			return false
		}
	}
	return n >= 3
}

// setext reports whether rest could underline a setext heading.
func setext(rest string) bool {
	c := rest[0]
	if c != '-' && c != '=' {
		return false
	}
	rest = strings.TrimRight(rest, " ")
	return strings.Trim(rest, string(c)) == ""
}

// start begins the block line starts; st holds no open block of another
// kind at indentation.
func (c *Converter) start(st *state, k kind, rest string) {
	switch k {
	case text:
		if st.kind != para {
			c.end(st)
			st.kind = para
		}
		c.lines = append(c.lines, trim(rest))
	case heading:
		c.end(st)
		c.heading(rest)
	case breakLine:
		if rest[0] == '-' && st.kind != none && !st.blank || strings.TrimRight(rest, " ") != rest {
			bail() // maybe a setext underline
		}
		c.end(st)
		c.out = append(c.out, "<hr>\n"...)
	case bulletItem:
		c.item(st, bullet, rest[0], rest[2:])
	case orderedItem:
		n := strings.IndexByte(rest, '.')
		number := rest[:n]
		interrupts := st.kind != none && !st.blank
		if c.item(st, ordered, '.', rest[n+2:]) && number != "1" {
			if interrupts || number[0] == '0' {
				bail() // only 1 interrupts a paragraph
			}
			c.listStart(number)
		}
	case quoteLine:
		c.quoteLine(st, rest)
	default:
		bail()
	}
}

// item starts a list item with first line first, and reports whether it
// started a list.
func (c *Converter) item(st *state, kind block, marker byte, first string) bool {
	if first == "" || first[0] == ' ' || classify(first) != text || first[0] == '[' {
		bail() // an empty item, indented content, a nested block, a task
	}
	same := st.kind == kind && st.marker == marker
	if same && st.blank {
		bail() // a loose list
	}
	if same {
		c.endItem()
		c.lines = append(c.lines, trim(first))
		return false
	} else {
		c.end(st)
		*st = state{kind: kind, marker: marker}
		if kind == bullet {
			c.out = append(c.out, "<ul>\n"...)
		} else {
			c.out = append(c.out, "<ol>\n"...)
		}
	}
	c.lines = append(c.lines, trim(first))
	return true
}

// listStart rewrites the "<ol>\n" just written with a start number.
func (c *Converter) listStart(n string) {
	if st := c.lastOL(); st >= 0 {
		c.out = append(c.out[:st], `<ol start="`...)
		c.out = append(c.out, n...)
		c.out = append(c.out, "\">\n"...)
		return
	}
	bail()
}

// lastOL is where the "<ol>\n" ending c.out starts, or -1.
func (c *Converter) lastOL() int {
	const ol = "<ol>\n"
	if n := len(c.out) - len(ol); n >= 0 && string(c.out[n:]) == ol {
		return n
	}
	return -1
}

// quoteLine adds a "> text" line to a quote.
func (c *Converter) quoteLine(st *state, rest string) {
	if len(rest) < 3 || rest[1] != ' ' || rest[2] == ' ' {
		bail()
	}
	content := rest[2:]
	if classify(content) != text {
		bail()
	}
	if st.kind != quote {
		c.end(st)
		st.kind = quote
	}
	c.lines = append(c.lines, trim(content))
}

// end closes the open block.
func (c *Converter) end(st *state) {
	switch st.kind {
	case para:
		c.out = append(c.out, "<p>"...)
		c.inlines(c.lines)
		c.out = append(c.out, "</p>\n"...)
	case bullet, ordered:
		c.endItem()
		if st.kind == bullet {
			c.out = append(c.out, "</ul>\n"...)
		} else {
			c.out = append(c.out, "</ol>\n"...)
		}
	case quote:
		c.out = append(c.out, "<blockquote>\n<p>"...)
		c.inlines(c.lines)
		c.out = append(c.out, "</p>\n</blockquote>\n"...)
	}
	*st = state{}
	c.lines = c.lines[:0]
}

// endItem writes the list item in c.lines.
func (c *Converter) endItem() {
	c.out = append(c.out, "<li>"...)
	c.inlines(c.lines)
	c.out = append(c.out, "</li>\n"...)
	c.lines = c.lines[:0]
}

// trim removes leading and trailing spaces.
func trim(s string) string { return strings.Trim(s, " ") }

// heading writes an ATX heading; rest starts with its '#'s.
func (c *Converter) heading(rest string) {
	level := 0
	for level < len(rest) && rest[level] == '#' {
		level++
	}
	s := trim(rest[level:])
	// a closing run of '#' after a space goes
	i := len(s) - 1
	for i > 0 && s[i] == '#' {
		i--
	}
	if s == "" || i == 0 && s[0] == '#' {
		bail() // an empty heading
	}
	if i != len(s)-1 && s[i] == ' ' {
		s = strings.TrimRight(s[:i], " ")
	}
	if strings.IndexByte(s, '{') >= 0 {
		bail()
	}
	c.out = append(c.out, "<h0 id=\""...)
	c.out[len(c.out)-6] = byte('0' + level)
	c.headingID(s)
	c.out = append(c.out, "\">"...)
	c.lines = append(c.lines[:0], s)
	c.inlines(c.lines)
	c.lines = c.lines[:0]
	c.out = append(c.out, "</h0>\n"...)
	c.out[len(c.out)-3] = byte('0' + level)
}

// headingID writes goldmark's automatic id for a heading's source text.
func (c *Converter) headingID(s string) {
	start := len(c.out)
	for i := 0; i < len(s); {
		b := s[i]
		if b >= utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		i++
		switch {
		case b >= 'A' && b <= 'Z':
			c.out = append(c.out, b+'a'-'A')
		case b >= 'a' && b <= 'z' || b >= '0' && b <= '9':
			c.out = append(c.out, b)
		case b == ' ' || b == '-' || b == '_':
			c.out = append(c.out, '-')
		}
	}
	if len(c.out) == start {
		c.out = append(c.out, "heading"...)
	}
	base := string(c.out[start:])
	at := c.findID(base)
	if at < 0 {
		c.ids = append(c.ids, headingID{id: base})
		return
	}
	for n := c.ids[at].n + 1; ; n++ {
		id := base + "-" + strconv.Itoa(n)
		if c.findID(id) < 0 {
			c.ids = append(c.ids, headingID{id: id})
			c.ids[at].n = n
			c.out = append(c.out[:start], id...)
			return
		}
	}
}

// findID is the index of id in c.ids, or -1.
func (c *Converter) findID(id string) int {
	for i := range c.ids {
		if c.ids[i].id == id {
			return i
		}
	}
	return -1
}

// isFence reports whether line opens fenced code the subset converts.
func isFence(line string) bool {
	return strings.HasPrefix(line, "```")
}

// fence writes fenced code opened by open, reading its lines from src, and
// returns what follows the closing fence.
func (c *Converter) fence(open, src string) string {
	n := 0
	for n < len(open) && open[n] == '`' {
		n++
	}
	info := open[n:]
	for i := 0; i < len(info); i++ {
		if b := info[i]; !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '+' || b == '_') {
			bail()
		}
	}
	c.out = append(c.out, "<pre><code"...)
	if info != "" {
		c.out = append(c.out, ` class="language-`...)
		c.out = append(c.out, info...)
		c.out = append(c.out, '"')
	}
	c.out = append(c.out, '>')
	for len(src) > 0 {
		line, newline := src, false
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			line, src, newline = src[:i], src[i+1:], true
		} else {
			src = ""
		}
		if rest := strings.TrimLeft(line, " "); strings.HasPrefix(rest, "```") {
			if len(rest) == len(line) && strings.TrimRight(rest, "`") == "" && len(rest) >= n {
				c.out = append(c.out, "</code></pre>\n"...)
				return src
			}
			bail()
		}
		if !newline {
			bail() // a last line with no newline: unsure
		}
		escape(&c.out, line)
		c.out = append(c.out, '\n')
	}
	bail() // unclosed
	return ""
}

// escape appends s with & < > " escaped as goldmark escapes them.
func escape(out *[]byte, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case '&':
			r = "&amp;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		case '"':
			r = "&quot;"
		default:
			continue
		}
		*out = append(*out, s[last:i]...)
		*out = append(*out, r...)
		last = i + 1
	}
	*out = append(*out, s[last:]...)
}

// inlines writes the inline content of a paragraph, item, quote or
// heading: lines joined with newlines.
func (c *Converter) inlines(lines []string) {
	c.emph = c.emph[:0]
	for i, l := range lines {
		if i > 0 {
			c.out = append(c.out, '\n')
		}
		c.inline(l, 0, len(l))
	}
	if len(c.emph) > 0 {
		bail() // an opener left: goldmark would write it as text
	}
}

// inline writes s[from:to], one line or a link's text. The characters
// around it in s decide what emphasis marks can do, as in goldmark.
func (c *Converter) inline(s string, from, to int) {
	bottom := len(c.emph)
	last := from // s[last:i] is text not written yet
	for i := from; i < to; {
		if b := s[i]; b >= 0x80 || !special[b] {
			i++
			continue
		}
		c.out = append(c.out, s[last:i]...)
		i = c.special(s, i, to, bottom)
		last = i
	}
	c.out = append(c.out, s[last:to]...)
	if len(c.emph) != bottom {
		bail() // emphasis open across a link's end
	}
}

// special holds the bytes inline looks at.
var special = [128]bool{
	'&': true, '<': true, '>': true, '"': true, '\'': true, '-': true, '.': true,
	'\\': true, '~': true, '|': true, '[': true, ']': true, '!': true, '`': true,
	'*': true, '_': true, '\t': true,
}

// special writes the construct at s[i], which is special, and returns
// where the text continues.
func (c *Converter) special(s string, i, to, bottom int) int {
	next := byte(' ')
	if i+1 < len(s) {
		next = s[i+1]
	}
	switch s[i] {
	case '&':
		if isAlnum(next) || next == '#' {
			bail() // an entity
		}
		c.out = append(c.out, "&amp;"...)
	case '>':
		if next == '>' {
			bail() // Typographer's »
		}
		c.out = append(c.out, "&gt;"...)
	case '\'':
		if i == 0 || !isAlnum(s[i-1]) || !isLetter(next) {
			bail() // a quote, not an apostrophe
		}
		c.out = append(c.out, "&rsquo;"...)
	case '-':
		if next == '-' {
			bail() // a dash
		}
		c.out = append(c.out, '-')
	case '.':
		if strings.HasPrefix(s[i:], "...") {
			bail() // an ellipsis
		}
		c.out = append(c.out, '.')
	case '!':
		if next == '[' {
			return c.link(s, i, to, true)
		}
		c.out = append(c.out, '!')
	case '[':
		return c.link(s, i, to, false)
	case '`':
		return c.code(s, i, to)
	case '*', '_':
		return c.emphasis(s, i, to, bottom)
	default: // < " \ ~ | ] tab
		bail()
	}
	return i + 1
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isAlnum(b byte) bool  { return isLetter(b) || b >= '0' && b <= '9' }

// isPunct reports whether b is ASCII punctuation, as CommonMark defines it.
func isPunct(b byte) bool {
	return b >= '!' && b <= '/' || b >= ':' && b <= '@' || b >= '[' && b <= '`' || b >= '{' && b <= '~'
}

// code writes the code span opening at s[i], closed on the same line.
func (c *Converter) code(s string, i, to int) int {
	n := run(s, i, to)
	for j := i + n; j < to; {
		k := strings.IndexByte(s[j:to], '`')
		if k < 0 {
			break
		}
		j += k
		m := run(s, j, to)
		if m != n {
			j += m
			continue
		}
		body := s[i+n : j]
		if len(body) >= 2 && body[0] == ' ' && body[len(body)-1] == ' ' && strings.Trim(body, " ") != "" {
			body = body[1 : len(body)-1]
		}
		c.out = append(c.out, "<code>"...)
		escape(&c.out, body)
		c.out = append(c.out, "</code>"...)
		return j + n
	}
	bail() // no closing run on this line
	return 0
}

// run is the length of the run of s[i] starting at i, before to.
func run(s string, i, to int) int {
	n := 1
	for i+n < to && s[i+n] == s[i] {
		n++
	}
	return n
}

// emphasis handles the run of '*' or '_' at s[i]: it opens or closes
// emphasis when that is certain, is text when it can do neither, and
// bails otherwise.
func (c *Converter) emphasis(s string, i, to, bottom int) int {
	b, n := s[i], run(s, i, to)
	if n > 2 {
		bail()
	}
	before, after := byte('\n'), byte('\n')
	if i > 0 {
		before = s[i-1]
	}
	if i+n < len(s) {
		after = s[i+n]
	}
	if before >= 0x80 || after >= 0x80 {
		bail() // Unicode spaces and punctuation
	}
	bSpace, aSpace := before == ' ' || before == '\n', after == ' ' || after == '\n'
	bPunct, aPunct := isPunct(before), isPunct(after)
	left := !aSpace && (!aPunct || bSpace || bPunct)
	right := !bSpace && (!bPunct || aSpace || aPunct)
	open, closes := left, right
	if b == '_' {
		open = left && (!right || bPunct)
		closes = right && (!left || aPunct)
	}
	tag := "em>"
	if n == 2 {
		tag = "strong>"
	}
	switch {
	case open && closes:
		bail()
	case open:
		c.emph = append(c.emph, delim{b, n})
		c.out = append(c.out, '<')
		c.out = append(c.out, tag...)
	case closes && len(c.emph) > bottom:
		if top := c.emph[len(c.emph)-1]; top.c != b || top.n != n {
			bail()
		}
		c.emph = c.emph[:len(c.emph)-1]
		c.out = append(c.out, "</"...)
		c.out = append(c.out, tag...)
	default: // text
		c.out = append(c.out, s[i:i+n]...)
	}
	return i + n
}

// link writes the link or image whose '[' (or "![") is at s[i]: text on
// one line, then a relative address in parentheses.
func (c *Converter) link(s string, i, to int, image bool) int {
	open := i + 1
	if image {
		open++
	}
	end := strings.IndexAny(s[open:to], "[]")
	if end <= 0 || s[open+end] != ']' {
		bail() // nested brackets, no text or no ']'
	}
	end += open
	if end+1 >= to || s[end+1] != '(' {
		bail() // a reference link
	}
	close := strings.IndexByte(s[end+2:to], ')')
	if close <= 0 {
		bail()
	}
	dest := s[end+2 : end+2+close]
	for k := 0; k < len(dest); k++ {
		if b := dest[k]; !isAlnum(b) && !strings.ContainsRune("/._~#?=+-", rune(b)) {
			bail()
		}
	}
	if image {
		alt := s[open:end]
		for k := 0; k < len(alt); k++ {
			if b := alt[k]; b < 0x80 && !isAlnum(b) && b != ' ' && b != ',' {
				bail()
			}
		}
		c.out = append(c.out, `<img src="`...)
		c.out = append(c.out, dest...)
		c.out = append(c.out, `" alt="`...)
		c.out = append(c.out, alt...)
		c.out = append(c.out, `">`...)
	} else {
		c.out = append(c.out, `<a href="`...)
		c.out = append(c.out, dest...)
		c.out = append(c.out, `">`...)
		c.inline(s, open, end)
		c.out = append(c.out, "</a>"...)
	}
	return end + 2 + close + 1
}
