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
// last revision misses nothing.
package markdown

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// DefaultPrefix is the key prefix when the config sets none.
const DefaultPrefix = "post:"

// StateFile is the state file's name inside the folder by default.
const StateFile = ".kiln-state.json"

var errNotConfigured = errors.New("markdown: not configured")

var _ plugin.Source = (*source)(nil)

type source struct {
	log hclog.Logger

	mu        sync.Mutex
	dir       string            // absolute folder path; "" until configured
	prefix    string            // key prefix
	statePath string            // revision state file
	entries   map[string]*entry // live entries and tombstones
	keys      []string          // sorted live keys
	rev       uint64            // last revision handed out
	changed   chan struct{}     // closed and replaced on every change
	fileErrs  map[string]string // file name -> last logged error
	watcher   *fsnotify.Watcher
}

// entry is one key's current post, or a tombstone. A live entry with a nil
// value is known from the state file but its file is invalid since the
// plugin started: it is not served until the file is fixed.
type entry struct {
	value   []byte
	hash    string
	rev     uint64
	deleted bool
	held    bool   // no value since start: its file was invalid
	file    string // file name the post came from
}

// New returns an unconfigured markdown source.
func New() plugin.Source {
	return &source{log: plugin.Logger().Named("markdown"), changed: make(chan struct{})}
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

// settings is the decoded config block.
type settings struct {
	Dir    string  `json:"dir"`
	Prefix *string `json:"prefix"`
	State  string  `json:"state"`
}

func parseSettings(config []byte) (settings, plugin.Diagnostics) {
	var st settings
	if err := json.Unmarshal(config, &st); err != nil {
		return st, diag("", "invalid config", err.Error())
	}
	if st.Dir == "" {
		return st, diag("dir", "missing required attribute", `"dir" names the folder of Markdown files`)
	}
	if st.Prefix == nil {
		p := DefaultPrefix
		st.Prefix = &p
	}
	if st.State == "" {
		st.State = filepath.Join(st.Dir, StateFile)
	}
	return st, nil
}

func diag(attr, summary, detail string) plugin.Diagnostics {
	return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: summary, Detail: detail, Attribute: attr}}
}

func (s *source) Configure(_ context.Context, config []byte) plugin.Diagnostics {
	st, ds := parseSettings(config)
	if ds != nil {
		return ds
	}
	dir, err := filepath.Abs(st.Dir)
	if err != nil {
		return diag("dir", "invalid path", err.Error())
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return diag("dir", "not a folder", fmt.Sprintf("%s: %v", dir, err))
	}
	state, err := filepath.Abs(st.State)
	if err != nil {
		return diag("state", "invalid path", err.Error())
	}
	ds = s.open(dir, *st.Prefix, state)
	if ds.HasErrors() {
		return ds
	}
	if err := s.watchDir(); err != nil {
		return append(ds, diag("dir", "cannot watch folder", err.Error())...)
	}
	return ds
}

// open loads the state file, scans the folder and records the changes made
// since the state was written. Invalid files come back as warnings.
func (s *source) open(dir, prefix, statePath string) plugin.Diagnostics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		return diag("", "already configured", "")
	}
	st, err := readState(statePath)
	if err != nil {
		s.log.Warn("revision state unreadable; starting over", "state", statePath, "error", err)
		st = state{}
	}
	s.dir, s.prefix, s.statePath = dir, prefix, statePath
	s.rev, s.entries, s.fileErrs = st.Revision, st.entries(), map[string]string{}
	posts, errs, err := scanDir(dir, prefix)
	if err != nil {
		return diag("dir", "cannot read folder", err.Error())
	}
	s.apply(posts, errs)
	if err := s.saveState(); err != nil {
		return diag("state", "cannot write revision state", err.Error())
	}
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

func (s *source) Get(_ context.Context, key string) (plugin.Item, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return plugin.Item{}, false, errNotConfigured
	}
	e := s.entries[key]
	if e == nil || e.deleted || e.value == nil {
		return plugin.Item{}, false, nil
	}
	return plugin.Item{Key: key, Value: e.value, Revision: e.rev}, true, nil
}
