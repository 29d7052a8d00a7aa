package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SegmentKind says what one segment of a route pattern matches.
type SegmentKind uint8

const (
	SegmentStatic   SegmentKind = iota // literal text, e.g. "posts"
	SegmentParam                       // ":name", exactly one non-empty path segment
	SegmentCatchAll                    // "*name", the rest of the path (possibly empty); last only
)

// Segment is one '/'-separated part of a route pattern. Value is the
// literal text for static segments and the parameter name otherwise.
type Segment struct {
	Kind  SegmentKind
	Value string
}

// ParsePattern splits a route pattern into segments. The root pattern "/"
// has no segments. Static segments must already be in the normalized form
// requests are matched in: no empty, "." or ".." segments, no trailing
// slash, no '%', '?', '#', '\' or control characters.
func ParsePattern(pattern string) ([]Segment, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, errors.New("must start with '/'")
	}
	if pattern == "/" {
		return nil, nil
	}
	if err := checkReachable(pattern); err != nil {
		return nil, err
	}
	parts := strings.Split(pattern[1:], "/")
	segs := make([]Segment, 0, len(parts))
	seen := map[string]bool{}
	for i, p := range parts {
		seg, err := parseSegment(p, i == len(parts)-1)
		if err != nil {
			return nil, fmt.Errorf("segment %d %q: %w", i+1, p, err)
		}
		if seg.Kind != SegmentStatic {
			if seen[seg.Value] {
				return nil, fmt.Errorf("duplicate parameter name %q", seg.Value)
			}
			seen[seg.Value] = true
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// maxPatternLen is router.MaxPathLen: a longer request path is refused
// with 400 before routing, so a longer pattern matches nothing.
const maxPatternLen = 2048

// checkReachable refuses a pattern no request can reach: longer than any
// accepted path, or under the admin API's /_kiln/ (or /metrics), which
// the server answers before routing.
func checkReachable(pattern string) error {
	switch {
	case len(pattern) > maxPatternLen:
		return fmt.Errorf("longer than %d bytes, the longest request path accepted: no request can reach it", maxPatternLen)
	case strings.HasPrefix(pattern, "/_kiln/") || pattern == "/metrics":
		return errors.New("/_kiln/* and /metrics are the admin API's, answered before routing: no request can reach it")
	}
	return nil
}

func parseSegment(p string, last bool) (Segment, error) {
	switch {
	case p == "":
		return Segment{}, errors.New("empty segment (\"//\" or a trailing slash)")
	case p[0] == ':':
		return Segment{SegmentParam, p[1:]}, checkParamName(p[1:])
	case p[0] == '*':
		if !last {
			return Segment{}, errors.New("a catch-all must be the last segment")
		}
		return Segment{SegmentCatchAll, p[1:]}, checkParamName(p[1:])
	}
	return Segment{SegmentStatic, p}, checkStatic(p)
}

// checkStatic checks one literal segment is in normalized form.
func checkStatic(p string) error {
	switch {
	case p == "":
		return errors.New("empty segment")
	case p == "." || p == "..":
		return errors.New("dot segments are not allowed")
	case !utf8.ValidString(p):
		return errors.New("invalid UTF-8")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`%?#\`, r) {
			return fmt.Errorf("character %q is not allowed", r)
		}
	}
	return nil
}

func checkParamName(name string) error {
	if name == "" {
		return errors.New("parameter name is empty")
	}
	for i, r := range name {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return fmt.Errorf("parameter name %q must be letters, digits and '_', not starting with a digit", name)
		}
	}
	return nil
}

// Shape is the pattern with parameter names erased ("/posts/:", "/docs/*"):
// two routes with the same shape could never be told apart.
func Shape(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch s.Kind {
		case SegmentStatic:
			b.WriteString(s.Value)
		case SegmentParam:
			b.WriteByte(':')
		case SegmentCatchAll:
			b.WriteByte('*')
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// MatchSegments reports whether a normalized path matches the pattern
// segments. It is the one-pattern reference the router's table agrees with.
func MatchSegments(segs []Segment, path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	rest := path[1:]
	for _, s := range segs {
		if s.Kind == SegmentCatchAll {
			return true
		}
		part, tail, more := strings.Cut(rest, "/")
		if part == "" || more && tail == "" || s.Kind == SegmentStatic && part != s.Value {
			return false
		}
		rest = tail
	}
	return rest == ""
}
