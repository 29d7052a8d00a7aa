// Package assets serves a site's static files under content-hashed URLs.
//
// Each file of a `static` block's directory is loaded once, hashed, and
// served at /prefix/name.HASH.ext with a year-long immutable
// Cache-Control. The plain /prefix/name URL also works, with a short
// lifetime. Renderers find the hashed URL through the reserved data key
// kiln:asset:NAME (see sdk/ABI.md).
package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/kilnhq/kiln/engine/internal/encode"
)

// File is one static file held in memory.
type File struct {
	Name        string // path under the prefix, e.g. "covers/a.svg"
	URL         string // hashed public URL
	ContentType string
	Body        []byte
	Gzip        []byte // nil when not worth it
	ETag        string
	Immutable   bool // served under its hashed URL
}

// Set is every static file of a site, by URL. Reload swaps in a fresh
// read of the directories (kiln dev); lookups never wait for it.
type Set struct {
	dirs []Dir
	cur  atomic.Pointer[files]
}

// files is one read of the directories.
type files struct {
	byURL  map[string]*File
	byName map[string]*File
}

// Dir is one static directory mounted at a URL prefix ("/assets/").
type Dir struct{ Prefix, Path string }

// Load reads every file under dirs.
func Load(dirs []Dir) (*Set, error) {
	s := &Set{dirs: dirs}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the directories again and serves what it read from then
// on. On an error the files read before stay served.
func (s *Set) Reload() error {
	next := &files{byURL: map[string]*File{}, byName: map[string]*File{}}
	for _, d := range s.dirs {
		if err := next.load(d); err != nil {
			return fmt.Errorf("static %s: %w", d.Prefix, err)
		}
	}
	s.cur.Store(next)
	return nil
}

func (s *files) load(d Dir) error {
	return filepath.WalkDir(d.Path, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.Path, p)
		rel = filepath.ToSlash(rel)
		s.add(d.Prefix, rel, body)
		return nil
	})
}

func (s *files) add(prefix, name string, body []byte) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:4])
	ext := path.Ext(name)
	ct := mime.TypeByExtension(ext)
	if ct == "" {
		ct = "application/octet-stream"
	}
	hashed := &File{
		Name: name, ContentType: ct, Body: body, Immutable: true,
		URL:  prefix + strings.TrimSuffix(name, ext) + "." + hash + ext,
		ETag: `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
	if encode.Compressible(ct) && len(body) >= encode.MinSize {
		hashed.Gzip = gz(body)
	}
	plain := *hashed
	plain.Immutable = false
	s.byURL[hashed.URL] = hashed
	s.byURL[prefix+name] = &plain
	s.byName[name] = hashed
}

// Lookup returns the hashed URL of a file by name ("style.css").
func (s *Set) Lookup(name string) (string, bool) {
	if s == nil {
		return "", false
	}
	f := s.cur.Load().byName[strings.TrimPrefix(name, "/")]
	if f == nil {
		return "", false
	}
	return f.URL, true
}

// Get returns the file served at a URL path.
func (s *Set) Get(urlPath string) *File {
	if s == nil {
		return nil
	}
	return s.cur.Load().byURL[urlPath]
}

// gz is b's gzip encoding, or nil when it is not smaller.
func gz(b []byte) []byte {
	if z := encode.Gzip(b); len(z) < len(b) {
		return z
	}
	return nil
}
