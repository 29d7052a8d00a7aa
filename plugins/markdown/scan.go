package markdown

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kilnhq/kiln/plugins/internal/snapshot"
)

// scanDir parses every visible *.md file directly in dir. It returns the
// posts by key and the errors by file name; of two files with the same
// key the first by name wins and the other is an error. err is set when
// the folder itself cannot be read.
func scanDir(dir, prefix string) (posts map[string]snapshot.Value, errs map[string]error, err error) {
	posts, errs = map[string]snapshot.Value{}, map[string]error{}
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
			errs[name] = fmt.Errorf("slug %q is already used by %s", p.Slug, other.File)
			continue
		}
		posts[key] = snapshot.Value{Data: p.value(), File: name}
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

// logErrors logs each invalid file once per distinct error. Callers hold
// mu.
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}
