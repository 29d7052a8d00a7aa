package markdown

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errNoFrontMatter is returned for a file that does not start with "---".
// Front matter is required, so a file caught half-written (empty) by the
// watcher is an error that keeps the last good version, not an empty post.
var errNoFrontMatter = errors.New("missing front matter (the file must start with a --- line)")

// frontMatter is the parsed `key: value` block. One level of nesting is
// flattened: "author:" followed by indented "name: Ann" gives "author.name".
type frontMatter map[string]string

// splitFrontMatter parses a Markdown file into its front matter and body.
// The block is YAML-ish: `key: value` lines, values plain, "double quoted"
// (Go/JSON escapes) or 'single quoted' (a doubled quote is a quote); blank lines and
// `#` comments are skipped. Errors start with "line N: ".
func splitFrontMatter(src string) (frontMatter, string, error) {
	src = strings.TrimPrefix(strings.ReplaceAll(src, "\r\n", "\n"), "\ufeff")
	first, rest, _ := strings.Cut(src, "\n")
	if strings.TrimRight(first, " \t") != "---" {
		return nil, "", errNoFrontMatter
	}
	fm := frontMatter{}
	parent := ""
	for n := 2; ; n++ {
		if rest == "" {
			return nil, "", errors.New("unterminated front matter (no closing --- line)")
		}
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if strings.TrimRight(line, " \t") == "---" {
			return fm, rest, nil
		}
		var err error
		if parent, err = fm.parseLine(line, parent); err != nil {
			return nil, "", fmt.Errorf("line %d: %w", n, err)
		}
	}
}

// parseLine adds one line to fm. parent is the key of the last unindented
// line with an empty value, under which indented lines nest; the new
// parent is returned.
func (fm frontMatter) parseLine(line, parent string) (string, error) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || trimmed[0] == '#' {
		return parent, nil
	}
	indented := line[0] == ' ' || line[0] == '\t'
	if indented && parent == "" {
		return "", errors.New("indented line outside a nested block")
	}
	key, value, err := parsePair(trimmed)
	if err != nil {
		return "", err
	}
	if indented {
		key = parent + "." + key
	}
	if _, dup := fm[key]; dup {
		return "", fmt.Errorf("duplicate key %q", key)
	}
	fm[key] = value
	if !indented {
		parent = ""
		if value == "" {
			parent = key
		}
	}
	return parent, nil
}

func parsePair(s string) (key, value string, err error) {
	key, raw, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("want key: value, got %q", s)
	}
	key = strings.TrimSpace(key)
	if !validKey(key) {
		return "", "", fmt.Errorf("invalid key %q", key)
	}
	value, err = parseValue(strings.TrimSpace(raw))
	if err != nil {
		return "", "", fmt.Errorf("value of %s: %w", key, err)
	}
	return key, value, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		ok := r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

// parseValue decodes a quoted or plain scalar. A plain value ends at a
// " #" comment.
func parseValue(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		v, tail, err := quotedPrefix(s)
		if err != nil {
			return "", err
		}
		return v, checkTail(tail)
	case strings.HasPrefix(s, "'"):
		return singleQuoted(s)
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s, nil
}

func quotedPrefix(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", errors.New("bad double-quoted string")
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return "", "", errors.New("bad double-quoted string")
	}
	return v, s[len(q):], nil
}

func singleQuoted(s string) (string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), checkTail(s[i+1:])
	}
	return "", errors.New("unterminated single-quoted string")
}

// checkTail allows only a comment after a quoted value.
func checkTail(tail string) error {
	tail = strings.TrimSpace(tail)
	if tail != "" && tail[0] != '#' {
		return fmt.Errorf("unexpected %q after quoted value", tail)
	}
	return nil
}
