package markdown

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// scanned is one valid post found in the folder.
type scanned struct {
	value []byte
	file  string
}

// scanDir parses every visible *.md file directly in dir. It returns the
// posts by key and the errors by file name; of two files with the same
// key the first by name wins and the other is an error. err is set when
// the folder itself cannot be read.
func scanDir(dir, prefix string) (posts map[string]scanned, errs map[string]error, err error) {
	posts, errs = map[string]scanned{}, map[string]error{}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	for _, de := range des { // sorted by name
		name := de.Name()
		if !isPostFile(name) || de.IsDir() {
			continue
		}
		p, err := readPost(filepath.Join(dir, name))
		if err != nil {
			errs[name] = err
			continue
		}
		key := prefix + p.Slug
		if other, dup := posts[key]; dup {
			errs[name] = fmt.Errorf("slug %q is already used by %s", p.Slug, other.file)
			continue
		}
		posts[key] = scanned{value: p.value(), file: name}
	}
	return posts, errs, nil
}

func isPostFile(name string) bool {
	return strings.HasSuffix(name, ".md") && !strings.HasPrefix(name, ".")
}

func readPost(path string) (Post, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Post{}, err
	}
	return ParsePost(filepath.Base(path), b)
}

// apply brings the entries in line with a folder scan, giving every
// changed key the next revision, and reports whether anything changed.
// A key whose file is now invalid keeps its last good post. Callers hold mu.
func (s *source) apply(posts map[string]scanned, errs map[string]error) bool {
	s.logErrors(errs)
	changed := false
	for _, k := range sortedKeys(posts) {
		p, e := posts[k], s.entries[k]
		h := hashValue(p.value)
		if e != nil && !e.deleted && e.hash == h && !e.held {
			e.value, e.file = p.value, p.file // fills values known from the state file
			continue
		}
		s.rev++
		s.entries[k] = &entry{value: p.value, hash: h, rev: s.rev, file: p.file}
		changed = true
	}
	for _, k := range sortedKeys(s.entries) {
		e := s.entries[k]
		if _, ok := posts[k]; ok || e.deleted {
			continue
		}
		if errs[e.file] != nil {
			e.held = e.value == nil // watchers skip it; its fix needs a new revision
			continue
		}
		s.rev++
		s.entries[k] = &entry{rev: s.rev, deleted: true}
		changed = true
	}
	s.keys = s.keys[:0]
	for _, k := range sortedKeys(s.entries) {
		if !s.entries[k].deleted {
			s.keys = append(s.keys, k)
		}
	}
	return changed
}

// logErrors logs each invalid file once per distinct error. Callers hold mu.
func (s *source) logErrors(errs map[string]error) {
	for name, err := range errs {
		if s.fileErrs[name] != err.Error() {
			s.log.Error("invalid Markdown file; keeping its last good version", "file", filepath.Join(s.dir, name), "error", err)
			s.fileErrs[name] = err.Error()
		}
	}
	for name := range s.fileErrs {
		if errs[name] == nil {
			delete(s.fileErrs, name)
		}
	}
}

func hashValue(v []byte) string {
	sum := sha256.Sum256(v)
	return hex.EncodeToString(sum[:16])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}
