// Package markdown is a Kiln data source serving a folder of Markdown
// files with front matter, one item per file.
//
// A file's key is the prefix (default "post:") plus its slug: the
// front matter's slug, or the file name without ".md". Its value is a Post
// as JSON, the Markdown body kept raw for the renderer.
//
// Files carry no revisions, so the plugin keeps them in a state file
// (default <dir>/.kiln-state.json): a counter and, per key, a hash of its
// value and the revision it last changed at, deleted keys kept as
// tombstones. Edits made while the plugin was down are found at start by
// comparing hashes and get new revisions, so a host resuming Watch from its
// last revision misses nothing. The revisions, Get, List and Watch come
// from plugins/internal/snapshot; this package parses the folder.
package markdown

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/plugins/internal/snapshot"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// DefaultPrefix is the key prefix when the config sets none.
const DefaultPrefix = "post:"

// StateFile is the state file's name inside the folder by default.
const StateFile = ".kiln-state.json"

var (
	_ plugin.Source      = (*source)(nil)
	_ plugin.BatchGetter = (*source)(nil)
)

// source is the snapshot of the folder; the snapshot serves Get, List and
// Watch.
type source struct {
	*snapshot.Snapshot
	log hclog.Logger

	dir    string // absolute folder path; set once by Configure
	prefix string // key prefix

	mu       sync.Mutex        // serialises scans
	fileErrs map[string]string // file name -> last logged error
	watcher  *fsnotify.Watcher
}

// New returns an unconfigured markdown source.
func New() plugin.Source {
	log := plugin.Logger().Named("markdown")
	return &source{Snapshot: snapshot.New("markdown", log), log: log, fileErrs: map[string]string{}}
}

func (s *source) Capabilities() plugin.Capabilities {
	return plugin.Capabilities{Watch: true}
}

func (s *source) Schema() plugin.Schema {
	return plugin.Schema{Attributes: []plugin.Attribute{
		{Name: "dir", Type: plugin.TypeString, Required: true, Description: "folder of .md files with front matter"},
		{Name: "prefix", Type: plugin.TypeString, Description: `key prefix; default "post:"`},
		{Name: "state", Type: plugin.TypeString, Description: "revision state file; default <dir>/" + StateFile},
	}}
}

// settings is the decoded config block, paths made absolute.
type settings struct {
	Dir    string `json:"dir"`
	Prefix string `json:"prefix"`
	State  string `json:"state"`
}

func parseSettings(config []byte) (settings, plugin.Diagnostics) {
	st := settings{Prefix: DefaultPrefix}
	if err := json.Unmarshal(config, &st); err != nil {
		return st, diag("", "invalid config", err.Error())
	}
	dir, ds := folder(st.Dir)
	if ds != nil {
		return st, ds
	}
	st.State, ds = snapshot.StatePath(st.State, filepath.Join(dir, StateFile))
	st.Dir = dir
	return st, ds
}

// folder checks the dir attribute and makes it absolute.
func folder(dir string) (string, plugin.Diagnostics) {
	if dir == "" {
		return "", diag("dir", "missing required attribute", `"dir" names the folder of Markdown files`)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", diag("dir", "invalid path", err.Error())
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", diag("dir", "not a folder", fmt.Sprintf("%s: %v", abs, err))
	}
	return abs, nil
}

func diag(attr, summary, detail string) plugin.Diagnostics {
	return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: summary, Detail: detail, Attribute: attr}}
}

// Configure scans the folder and starts watching it. Invalid files are
// warnings: they are logged, and skipped until fixed.
func (s *source) Configure(_ context.Context, config []byte) plugin.Diagnostics {
	st, ds := parseSettings(config)
	if ds != nil {
		return ds
	}
	ds = s.open(st.Dir, st.Prefix, st.State)
	if ds.HasErrors() {
		return ds
	}
	if err := s.watchDir(); err != nil {
		return append(ds, diag("dir", "cannot watch folder", err.Error())...)
	}
	return ds
}

// open scans the folder and opens the snapshot over it, which records the
// changes made since the state file was written. Invalid files come back
// as warnings.
func (s *source) open(dir, prefix, statePath string) plugin.Diagnostics {
	s.mu.Lock()
	defer s.mu.Unlock()
	posts, errs, err := scanDir(dir, prefix)
	if err != nil {
		return diag("dir", "cannot read folder", err.Error())
	}
	s.logErrors(errs)
	if ds := s.Open(snapshot.StateFile{Path: statePath, Indent: true}, posts, errs); ds != nil {
		return ds
	}
	s.dir, s.prefix = dir, prefix
	return warnings(errs)
}

func warnings(errs map[string]error) plugin.Diagnostics {
	var ds plugin.Diagnostics
	for _, name := range sortedKeys(errs) {
		ds = append(ds, plugin.Diagnostic{Severity: plugin.SeverityWarning, Summary: "invalid Markdown file", Detail: name + ": " + errs[name].Error(), Attribute: "dir"})
	}
	return ds
}

// Close stops watching the folder.
func (s *source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watcher == nil {
		return nil
	}
	err := s.watcher.Close()
	s.watcher = nil
	return err
}
