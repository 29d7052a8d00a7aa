// Package jsonfile is a Kiln data source backed by one JSON file whose top
// level object maps keys to values (any JSON).
//
// The file has no history, so the plugin keeps durable revisions in a small
// sidecar state file (default: the data file's path + ".kiln-rev"): a
// counter and, per key, a hash of its value and the revision it last
// changed at (deleted keys stay as tombstones). Edits made while the plugin
// was not running are found at start by comparing hashes and get new
// revisions, so a host resuming Watch from its last revision loses nothing.
package jsonfile

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// New returns an unconfigured jsonfile source.
func New() plugin.Source {
	return &source{log: plugin.Logger().Named("jsonfile"), changed: make(chan struct{})}
}

type source struct {
	log hclog.Logger

	mu        sync.Mutex
	path      string            // absolute data file path; "" until configured
	statePath string            // sidecar state file
	entries   map[string]*entry // live entries and tombstones
	keys      []string          // sorted live keys
	rev       uint64            // last revision handed out
	changed   chan struct{}     // closed and replaced on every change
	lastErr   string            // last reload error, logged once
}

// entry is one key's current value, or a tombstone.
type entry struct {
	value   []byte // compacted JSON; nil for a tombstone
	hash    string // hash of value; "" for a tombstone
	rev     uint64
	deleted bool
}

var (
	_ plugin.Source = (*source)(nil)
	_ plugin.Writer = (*source)(nil)
)

func (s *source) Capabilities() plugin.Capabilities {
	return plugin.Capabilities{Watch: true, Writable: true}
}

func (s *source) Schema() plugin.Schema {
	return plugin.Schema{Attributes: []plugin.Attribute{
		{Name: "path", Type: plugin.TypeString, Required: true, Description: "JSON file whose top-level object maps keys to values"},
		{Name: "state", Type: plugin.TypeString, Description: `revision state file; default path + ".kiln-rev"`},
	}}
}

// settings is the decoded config block.
type settings struct {
	Path  string `json:"path"`
	State string `json:"state"`
}

func parseSettings(config []byte) (settings, plugin.Diagnostics) {
	var st settings
	if err := json.Unmarshal(config, &st); err != nil {
		return st, diag("", "invalid config", err.Error())
	}
	if st.Path == "" {
		return st, diag("path", "missing required attribute", `"path" names the JSON file to serve`)
	}
	if st.State == "" {
		st.State = st.Path + ".kiln-rev"
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
	path, err := filepath.Abs(st.Path)
	if err != nil {
		return diag("path", "invalid path", err.Error())
	}
	state, err := filepath.Abs(st.State)
	if err != nil {
		return diag("state", "invalid path", err.Error())
	}
	data, err := readData(path)
	if err != nil {
		return diag("path", "cannot load data file", err.Error())
	}
	if ds := s.open(path, state, data); ds != nil {
		return ds
	}
	if err := s.watchFile(); err != nil {
		return diag("path", "cannot watch data file", err.Error())
	}
	return nil
}

// open loads the state file and records the changes made since it was
// written.
func (s *source) open(path, statePath string, data map[string][]byte) plugin.Diagnostics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path != "" {
		return diag("", "already configured", "")
	}
	st, err := readState(statePath)
	if err != nil {
		s.log.Warn("revision state unreadable; starting over", "state", statePath, "error", err)
		st = state{}
	}
	s.path, s.statePath, s.rev, s.entries = path, statePath, st.Revision, st.entries()
	s.apply(data)
	if err := s.saveState(); err != nil {
		return diag("state", "cannot write revision state", err.Error())
	}
	return nil
}

// watchFile reloads the data file whenever it changes. It watches the
// directory, so an editor's write-to-temp-and-rename is seen too.
func (s *source) watchFile() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(filepath.Dir(s.path)); err != nil {
		w.Close()
		return err
	}
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == s.path && !ev.Has(fsnotify.Chmod) {
					s.reload()
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Error("file watch failed", "path", s.path, "error", err)
			}
		}
	}()
	return nil
}

// reload re-reads the data file. A missing, half-written or invalid file
// keeps the last good data and logs one error until the file is good again.
func (s *source) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := readData(s.path) // under mu, so it cannot undo a concurrent Put
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Error("keeping last good data", "error", msg)
		}
		return
	}
	if s.lastErr != "" {
		s.lastErr = ""
		s.log.Info("data file is valid again", "path", s.path)
	}
	if s.apply(data) {
		s.commit()
	}
}

// commit persists the state and wakes watchers. Callers hold mu.
func (s *source) commit() {
	if err := s.saveState(); err != nil {
		s.log.Error("cannot write revision state", "state", s.statePath, "error", err)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// apply diffs data against the entries and gives every change a new
// revision, in key order. It reports whether anything changed. Callers
// hold mu.
func (s *source) apply(data map[string][]byte) bool {
	changed := false
	for _, k := range sortedKeys(data) {
		v, h := data[k], hashValue(data[k])
		if e := s.entries[k]; e != nil && !e.deleted && e.hash == h {
			e.value = v
			continue
		}
		s.rev++
		s.entries[k] = &entry{value: v, hash: h, rev: s.rev}
		changed = true
	}
	for _, k := range sortedKeys(s.entries) {
		if _, ok := data[k]; !ok && !s.entries[k].deleted {
			s.rev++
			s.entries[k] = &entry{rev: s.rev, deleted: true}
			changed = true
		}
	}
	s.keys = s.liveKeys()
	return changed
}

func (s *source) liveKeys() []string {
	keys := make([]string, 0, len(s.entries))
	for k, e := range s.entries {
		if !e.deleted {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *source) Get(_ context.Context, key string) (plugin.Item, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		return plugin.Item{}, false, errNotConfigured
	}
	e := s.entries[key]
	if e == nil || e.deleted {
		return plugin.Item{}, false, nil
	}
	return plugin.Item{Key: key, Value: e.value, Revision: e.rev}, true, nil
}

var errNotConfigured = fmt.Errorf("jsonfile: not configured")
