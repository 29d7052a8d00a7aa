// Package snapshot serves a data source that has no history of its own (a
// file, a folder) from an in-memory keyed snapshot with durable revisions.
//
// The source reads its whole content and hands it over as a full set of
// key -> value (Open, then Update after every change on disk). The
// snapshot diffs each set against the last one, gives every changed key the
// next revision, and keeps the revisions in a sidecar state file: a
// counter and, per key, a hash of its value and the revision it last
// changed at, deleted keys kept as tombstones. Edits made while the plugin
// was not running are found at Open by comparing hashes, so a host resuming
// Watch from its last revision misses nothing.
//
// A Snapshot implements the data calls of plugin.Source (Get, List, Watch);
// a plugin embeds it and adds its config and its parser.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/sdk/plugin"
)

var (
	// ErrNotOpen is returned by the data calls before Open.
	ErrNotOpen = errors.New("not configured")
	// ErrCursor is returned for a list cursor the snapshot did not hand out.
	ErrCursor = errors.New("invalid cursor")
)

// Value is one key's content in a full set.
type Value struct {
	Data []byte
	// File names the source file the key came from, for sources made of
	// several files; "" otherwise. It is kept in the state file.
	File string
}

// StateFile says where and how the revision state is kept.
type StateFile struct {
	Path   string
	Indent bool // write indented JSON, for people reading it
}

// StatePath resolves a source's "state" config attribute: the absolute
// path of set, or of def when set is "".
func StatePath(set, def string) (string, plugin.Diagnostics) {
	if set == "" {
		set = def
	}
	path, err := filepath.Abs(set)
	if err != nil {
		return "", diag("state", "invalid path", err.Error())
	}
	return path, nil
}

// Snapshot is the current content of a source plus its revisions. It is
// safe for concurrent use.
type Snapshot struct {
	name string // prefixes errors: they reach the host as the plugin's
	log  hclog.Logger

	mu      sync.Mutex
	state   StateFile         // Path is "" until Open
	entries map[string]*entry // live entries and tombstones
	keys    []string          // sorted keys of the served entries
	rev     uint64            // last revision handed out
	changed chan struct{}     // closed and replaced on every change
}

// entry is one key's current value, or a tombstone. A live entry with a
// nil value is known from the state file, but its file has been invalid
// since Open: it is not served until the file is valid again.
type entry struct {
	value   []byte
	hash    string // hash of value; "" for a tombstone
	rev     uint64
	deleted bool
	held    bool   // no value since Open: its file was invalid
	file    string // Value.File
	legacy  bool   // hash is a legacyHash, from an older state file
}

// New returns a snapshot that is not open yet. name (the plugin's name)
// prefixes its errors; log receives its warnings.
func New(name string, log hclog.Logger) *Snapshot {
	return &Snapshot{name: name, log: log, changed: make(chan struct{})}
}

// errorf prefixes err with the snapshot's name.
func (s *Snapshot) errorf(err error) error { return fmt.Errorf("%s: %w", s.name, err) }

// Open loads the state file (a missing or unreadable one starts over),
// records the changes in values since it was written and saves it. See
// Update for values and invalid. Its errors are Configure's: a second Open,
// or a state file that cannot be written (attribute "state").
func (s *Snapshot) Open(state StateFile, values map[string]Value, invalid map[string]error) plugin.Diagnostics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Path != "" {
		return diag("", "already configured", "")
	}
	st, err := readState(state.Path)
	if err != nil {
		s.log.Warn("revision state unreadable; starting over", "state", state.Path, "error", s.errorf(err))
		st = stateDoc{}
	}
	s.state, s.rev, s.entries = state, st.Revision, st.entries()
	s.apply(values, invalid)
	if err := s.save(); err != nil {
		return diag("state", "cannot write revision state", err.Error())
	}
	return nil
}

func diag(attr, summary, detail string) plugin.Diagnostics {
	return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: summary, Detail: detail, Attribute: attr}}
}

// Update replaces the content with values, the source's full new set. Keys
// missing from it are deleted, unless their File is in invalid (the file
// could not be parsed just now): those keep their last good value. It
// reports whether anything changed.
func (s *Snapshot) Update(values map[string]Value, invalid map[string]error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Path == "" || !s.apply(values, invalid) {
		return false
	}
	s.commit()
	return true
}

// apply diffs values against the entries and gives every change the next
// revision, in key order. Callers hold mu.
func (s *Snapshot) apply(values map[string]Value, invalid map[string]error) bool {
	changed := false
	for _, k := range sortedKeys(values) {
		v, e := values[k], s.entries[k]
		h := hashValue(v.Data)
		if e != nil && !e.deleted && !e.held && (e.hash == h || e.legacy && e.hash == legacyHash(v.Data)) {
			e.value, e.file, e.hash, e.legacy = v.Data, v.File, h, false // fills values known from the state file
			continue
		}
		s.rev++
		s.entries[k] = &entry{value: v.Data, hash: h, rev: s.rev, file: v.File}
		changed = true
	}
	for _, k := range sortedKeys(s.entries) {
		e := s.entries[k]
		if _, ok := values[k]; ok || e.deleted {
			continue
		}
		if invalid[e.file] != nil {
			e.held = e.value == nil // watchers skip it; its fix needs a new revision
			continue
		}
		s.rev++
		s.entries[k] = &entry{rev: s.rev, deleted: true}
		changed = true
	}
	s.index()
	return changed
}

// index rebuilds the sorted list of served keys. Callers hold mu.
func (s *Snapshot) index() {
	s.keys = s.keys[:0]
	for _, k := range sortedKeys(s.entries) {
		if e := s.entries[k]; !e.deleted && e.value != nil {
			s.keys = append(s.keys, k)
		}
	}
}

// Change sets key to value, or deletes it when value is nil, for a source
// that is written through. persist first stores the new full set of
// served values (the source's own file); when it fails nothing changes and
// its error is returned as is. Setting a key to its current value, or
// deleting a missing key, changes nothing and returns the current
// revision.
func (s *Snapshot) Change(key string, value []byte, persist func(map[string][]byte) error) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Path == "" {
		return 0, s.errorf(ErrNotOpen)
	}
	e := &entry{value: value, deleted: value == nil}
	if value != nil {
		e.hash = hashValue(value)
	}
	if old := s.entries[key]; old == nil && e.deleted || old != nil && old.deleted == e.deleted && old.hash == e.hash {
		return s.rev, nil
	}
	if err := persist(s.servedWith(key, value)); err != nil {
		return 0, err
	}
	s.rev++
	e.rev = s.rev
	s.entries[key] = e
	s.index()
	s.commit()
	return s.rev, nil
}

// servedWith returns the served values with key set to value (nil:
// removed). Callers hold mu.
func (s *Snapshot) servedWith(key string, value []byte) map[string][]byte {
	m := make(map[string][]byte, len(s.keys)+1)
	for _, k := range s.keys {
		m[k] = s.entries[k].value
	}
	if m[key] = value; value == nil {
		delete(m, key)
	}
	return m
}

// commit saves the state, then wakes watchers. A failed save is logged:
// the change is served anyway and the next save catches up. Callers hold
// mu.
func (s *Snapshot) commit() {
	if err := s.save(); err != nil {
		s.log.Error("cannot write revision state", "state", s.state.Path, "error", err)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Get returns a key's item; found is false when the key is missing.
func (s *Snapshot) Get(_ context.Context, key string) (item plugin.Item, found bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Path == "" {
		return plugin.Item{}, false, s.errorf(ErrNotOpen)
	}
	e := s.entries[key]
	if e == nil || e.deleted || e.value == nil {
		return plugin.Item{}, false, nil
	}
	return plugin.Item{Key: key, Value: e.value, Revision: e.rev}, true, nil
}

// GetMany returns one item per key, in the order of keys, from one view
// of the snapshot.
func (s *Snapshot) GetMany(_ context.Context, keys []string) ([]plugin.Item, []bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Path == "" {
		return nil, nil, s.errorf(ErrNotOpen)
	}
	items, found := make([]plugin.Item, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		if e := s.entries[k]; e != nil && !e.deleted && e.value != nil {
			items[i], found[i] = plugin.Item{Key: k, Value: e.value, Revision: e.rev}, true
		}
	}
	return items, found, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
