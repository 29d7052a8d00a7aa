package markdown

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errNoFrontMatter is returned for a file that does not start with "---".
// Front matter is required, so a file caught half-written (empty) by the
// watcher is an error that keeps the last good version, not an empty post.
var errNoFrontMatter = errors.New("missing front matter (the file must start with a --- line)")

// frontMatter is the parsed YAML block: its top-level keys and their
// nodes. Values are read as the plugin needs them (scalar, nested scalar,
// list), so a YAML alias is never expanded beyond one node.
type frontMatter map[string]*yaml.Node

// splitFrontMatter parses a Markdown file into its front matter and body.
// The front matter is a YAML mapping between a first line "---" and the
// next line "---". Errors start with "line N: ", N counted in the file.
func splitFrontMatter(src string) (frontMatter, string, error) {
	src = strings.TrimPrefix(strings.ReplaceAll(src, "\r\n", "\n"), "\ufeff")
	first, rest, _ := strings.Cut(src, "\n")
	if strings.TrimRight(first, " \t") != "---" {
		return nil, "", errNoFrontMatter
	}
	var block strings.Builder
	block.WriteString("\n") // the opening fence, so YAML's line numbers are the file's
	for {
		if rest == "" {
			return nil, "", errors.New("unterminated front matter (no closing --- line)")
		}
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if strings.TrimRight(line, " \t") == "---" {
			break
		}
		block.WriteString(line + "\n")
	}
	fm, err := parseYAML(block.String())
	if err != nil {
		return nil, "", err
	}
	return fm, rest, nil
}

// parseYAML decodes the block, which must be a mapping (or empty).
func parseYAML(block string) (frontMatter, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	fm := frontMatter{}
	if doc.Kind == 0 || len(doc.Content) == 0 { // an empty block
		return fm, nil
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return fm, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: front matter must be key: value pairs", root.Line)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := deref(root.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a key must be a plain name", k.Line)
		}
		if at, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q (first at line %d)", k.Line, k.Value, at)
		}
		seen[k.Value], fm[k.Value] = k.Line, root.Content[i+1]
	}
	return fm, nil
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// text reads key as a string: a scalar's text ("" for null or absent).
func (fm frontMatter) text(key string) (string, error) {
	return scalarText(key, fm[key])
}

// nested reads key.sub as a string when key is a mapping, and "" when it
// is not.
func (fm frontMatter) nested(key, sub string) (string, error) {
	n := deref(fm[key])
	if n == nil || n.Kind != yaml.MappingNode {
		return "", nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := deref(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == sub {
			return scalarText(key+"."+sub, n.Content[i+1])
		}
	}
	return "", nil
}

// list reads key as a list of strings: a sequence of scalars, or one
// scalar as a list of one.
func (fm frontMatter) list(key string) ([]string, error) {
	n := deref(fm[key])
	if n == nil || n.Kind != yaml.SequenceNode {
		s, err := scalarText(key, n)
		if s == "" || err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var out []string // nil for an empty list: the value omits it
	for _, item := range n.Content {
		s, err := scalarText(key, item)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// textOrNested reads key as a string, or key.sub when key is a mapping.
func (fm frontMatter) textOrNested(key, sub string) (string, error) {
	if n := deref(fm[key]); n != nil && n.Kind == yaml.MappingNode {
		return fm.nested(key, sub)
	}
	return fm.text(key)
}

func scalarText(name string, n *yaml.Node) (string, error) {
	n = deref(n)
	switch {
	case n == nil:
		return "", nil
	case n.Kind != yaml.ScalarNode:
		return "", fmt.Errorf("line %d: %s: want a string, got a %s", n.Line, name, kindName(n.Kind))
	case n.Tag == "!!null":
		return "", nil
	}
	return n.Value, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "document"
}
