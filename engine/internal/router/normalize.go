package router

import (
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// MaxPathLen is the longest request path (before the query) accepted.
const MaxPathLen = 2048

// ErrInvalidPath is wrapped by every Normalize error; the server answers
// 400 to it.
var ErrInvalidPath = errors.New("router: invalid path")

// The reasons a path is rejected. All wrap ErrInvalidPath.
var (
	ErrNotAbsolute  = fmt.Errorf("%w: must start with '/'", ErrInvalidPath)
	ErrTooLong      = fmt.Errorf("%w: longer than %d bytes", ErrInvalidPath, MaxPathLen)
	ErrTraversal    = fmt.Errorf("%w: '..' segment", ErrInvalidPath)
	ErrEncodedSlash = fmt.Errorf("%w: encoded '/' or '\\'", ErrInvalidPath)
	ErrBackslash    = fmt.Errorf("%w: backslash", ErrInvalidPath)
	ErrControl      = fmt.Errorf("%w: control character", ErrInvalidPath)
	ErrBadEscape    = fmt.Errorf("%w: invalid percent escape", ErrInvalidPath)
	ErrBadUTF8      = fmt.Errorf("%w: invalid UTF-8", ErrInvalidPath)
)

// Normalize turns a raw request target into the one canonical path a page
// is stored and matched under:
//
//   - the query string and fragment are dropped;
//   - percent-escapes are decoded, except "%25", "%3F" and "%23" ('%', '?'
//     and '#'), which stay encoded (upper-case) so the result is a valid
//     path that normalizes to itself;
//   - empty and "." segments are removed ("/a//./b" is "/a/b"): like the
//     trailing slash, they are other spellings of the same page;
//   - a trailing slash is removed, except for the root;
//   - "/index" and "/index.html" are "/" (only at the root: "/posts/index"
//     may well be a post called "index").
//
// It rejects, with an error wrapping ErrInvalidPath: targets not starting
// with '/', paths over MaxPathLen bytes, ".." segments (also encoded),
// encoded '/' or '\', raw backslashes, control characters and NUL (raw or
// encoded), malformed escapes and invalid UTF-8 after decoding.
func Normalize(raw []byte) (string, error) {
	var buf [256]byte
	out, err := AppendNormalized(buf[:0], raw)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// AppendNormalized appends the normalized form of raw to dst, for callers
// that reuse a buffer. See Normalize.
func AppendNormalized(dst, raw []byte) ([]byte, error) {
	raw = stripQuery(raw)
	if len(raw) == 0 || raw[0] != '/' {
		return dst, ErrNotAbsolute
	}
	if len(raw) > MaxPathLen {
		return dst, ErrTooLong
	}
	start := len(dst)
	for i := 0; i < len(raw); {
		j := i + 1 // raw[i] is '/'
		for j < len(raw) && raw[j] != '/' {
			j++
		}
		var err error
		if dst, err = appendSegment(dst, raw[i+1:j]); err != nil {
			return dst[:start], err
		}
		i = j
	}
	if len(dst) == start {
		dst = append(dst, '/')
	}
	if !utf8.Valid(dst[start:]) {
		return dst[:start], ErrBadUTF8
	}
	return trimIndex(dst, start), nil
}

func stripQuery(raw []byte) []byte {
	for i, c := range raw {
		if c == '?' || c == '#' {
			return raw[:i]
		}
	}
	return raw
}

// appendSegment decodes one segment and appends "/segment" to dst, or
// nothing for an empty or "." segment.
func appendSegment(dst, seg []byte) ([]byte, error) {
	mark := len(dst)
	dst = append(dst, '/')
	for k := 0; k < len(seg); k++ {
		c := seg[k]
		switch {
		case c == '%':
			if k+2 >= len(seg) {
				return dst[:mark], ErrBadEscape
			}
			d, ok := unhex(seg[k+1], seg[k+2])
			if !ok {
				return dst[:mark], ErrBadEscape
			}
			var err error
			if dst, err = appendDecoded(dst, d); err != nil {
				return dst[:mark], err
			}
			k += 2
		case c == '\\':
			return dst[:mark], ErrBackslash
		case c < 0x20 || c == 0x7f:
			return dst[:mark], ErrControl
		default:
			dst = append(dst, c)
		}
	}
	switch string(dst[mark+1:]) {
	case "", ".":
		return dst[:mark], nil
	case "..":
		return dst[:mark], ErrTraversal
	}
	return dst, nil
}

// appendDecoded appends one percent-decoded byte.
func appendDecoded(dst []byte, d byte) ([]byte, error) {
	switch {
	case d == '/' || d == '\\':
		return dst, ErrEncodedSlash
	case d < 0x20 || d == 0x7f:
		return dst, ErrControl
	case d == '%' || d == '?' || d == '#':
		return append(dst, '%', upperhex[d>>4], upperhex[d&15]), nil
	}
	return append(dst, d), nil
}

const upperhex = "0123456789ABCDEF"

func unhex(a, b byte) (byte, bool) {
	x, ok1 := fromHex(a)
	y, ok2 := fromHex(b)
	return x<<4 | y, ok1 && ok2
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// trimIndex maps "/index" and "/index.html" to "/".
func trimIndex(dst []byte, start int) []byte {
	switch string(dst[start:]) {
	case "/index", "/index.html":
		return append(dst[:start], '/')
	}
	return dst
}

// Clean is Normalize's fast lane, for the hit path: when the request
// target's path (before any query or fragment) is already in normal form
// it returns that path without copying it (the string aliases raw, so it
// is only valid while raw is), and ok. Otherwise ok is false and the
// caller uses Normalize, which also says what is wrong.
func Clean(raw []byte) (path string, ok bool) {
	b := stripQuery(raw)
	n := len(b)
	if n == 0 || b[0] != '/' || n > MaxPathLen || (n > 1 && b[n-1] == '/') {
		return "", false
	}
	for i := 1; i < n; i++ {
		c := b[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '\\' {
			return "", false
		}
		if (c == '.' || c == '/') && b[i-1] == '/' {
			return "", false // "/.", "/..", dot files and "//": let Normalize decide
		}
	}
	if string(b) == "/index" || string(b) == "/index.html" {
		return "", false
	}
	return unsafe.String(&b[0], n), true
}
