package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnhq/kiln/sites/blog/internal/post"
)

// entry is one key/value pair to write.
type entry struct {
	key   string
	value []byte
}

// entries calls fn for every post key, then every index key, so a reader
// sees each post before the index entry pointing at it.
func entries(ps posts, fn func(entry) error) error {
	var index []entry
	err := ps(func(p post.Post) error {
		v, err := marshal(p)
		if err != nil {
			return err
		}
		index = append(index, entry{post.IndexKey(p.Date, p.Slug), post.IndexValue(p.Slug)})
		return fn(entry{post.Key(p.Slug), v})
	})
	if err != nil {
		return err
	}
	for _, e := range index {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// writeJSON writes one JSON object, key -> value, one key a line: the
// format of the jsonfile plugin's data file and of the kv plugin's import.
func writeJSON(w io.Writer, ps posts) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{")
	sep := "\n"
	err := entries(ps, func(e entry) error {
		k, _ := marshal(e.key)
		fmt.Fprintf(bw, "%s  %s: %s", sep, k, e.value)
		sep = ",\n"
		return nil
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// writeMarkdownDir writes DIR/<slug>.md for each post: YAML front matter,
// then the Markdown body.
func writeMarkdownDir(dir string, ps posts) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return ps(func(p post.Post) error {
		return os.WriteFile(filepath.Join(dir, p.Slug+".md"), markdownFile(p), 0o644)
	})
}

// markdownFile is a post as a Markdown file. Strings are written as JSON
// strings, which YAML reads as double-quoted scalars.
func markdownFile(p post.Post) []byte {
	var b bytes.Buffer
	q := func(s string) string { v, _ := marshal(s); return string(v) }
	fmt.Fprintf(&b, "---\ntitle: %s\ndate: %s\nslug: %s\n", q(p.Title), q(p.Date.UTC().Format(post.DateLayout)), q(p.Slug))
	fmt.Fprintf(&b, "excerpt: %s\ncoverImage: %s\n", q(p.Excerpt), q(p.CoverImage))
	fmt.Fprintf(&b, "author:\n  name: %s\n  picture: %s\n---\n\n", q(p.Author.Name), q(p.Author.Picture))
	b.WriteString(strings.TrimRight(p.Content, "\n"))
	b.WriteString("\n")
	return b.Bytes()
}

// marshal is json.Marshal without HTML escaping, so Markdown stays legible.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
