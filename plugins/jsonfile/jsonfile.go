// Package jsonfile is a Kiln data source backed by one JSON file whose top
// level object maps keys to values (any JSON).
//
// The file has no history, so the plugin keeps durable revisions in a small
// sidecar state file (default: the data file's path + ".kiln-rev"): a
// counter and, per key, a hash of its value and the revision it last
// changed at (deleted keys stay as tombstones). Edits made while the plugin
// was not running are found at start by comparing hashes and get new
// revisions, so a host resuming Watch from its last revision loses nothing.
// The revisions, Get, List and Watch come from plugins/internal/snapshot;
// this package parses and writes the file.
package jsonfile

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/kilnhq/kiln/plugins/internal/snapshot"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// New returns an unconfigured jsonfile source.
func New() plugin.Source {
	log := plugin.Logger().Named("jsonfile")
	return &source{Snapshot: snapshot.New("jsonfile", log), log: log}
}

// source is the snapshot of the data file; the snapshot serves Get, List
// and Watch.
type source struct {
	*snapshot.Snapshot
	log hclog.Logger

	path string // absolute data file path; set once by Configure

	mu      sync.Mutex // serialises reading and writing the data file
	lastErr string     // last reload error, logged once
}

var (
	_ plugin.Source      = (*source)(nil)
	_ plugin.Writer      = (*source)(nil)
	_ plugin.BatchGetter = (*source)(nil)
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

// settings is the decoded config block, paths made absolute.
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
	path, err := filepath.Abs(st.Path)
	if err != nil {
		return st, diag("path", "invalid path", err.Error())
	}
	var ds plugin.Diagnostics
	st.State, ds = snapshot.StatePath(st.State, st.Path+".kiln-rev")
	st.Path = path
	return st, ds
}

func (s *source) Configure(_ context.Context, config []byte) plugin.Diagnostics {
	st, ds := parseSettings(config)
	if ds != nil {
		return ds
	}
	if ds := s.open(st); ds != nil {
		return ds
	}
	if err := s.watchFile(); err != nil {
		return diag("path", "cannot watch data file", err.Error())
	}
	return nil
}

// open reads the data file and opens the snapshot over it, which records
// the changes made since the state file was written.
func (s *source) open(st settings) plugin.Diagnostics {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := readData(st.Path)
	if err != nil { // the user fixes the file, not site.hcl: the engine retries
		ds := diag("path", "cannot load data file", err.Error())
		ds[0].Transient = true
		return ds
	}
	if ds := s.Open(snapshot.StateFile{Path: st.State}, values(data), nil); ds != nil {
		return ds
	}
	s.path = st.Path
	return nil
}

func diag(attr, summary, detail string) plugin.Diagnostics {
	return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: summary, Detail: detail, Attribute: attr}}
}

// values turns parsed data into a snapshot set.
func values(data map[string][]byte) map[string]snapshot.Value {
	m := make(map[string]snapshot.Value, len(data))
	for k, v := range data {
		m[k] = snapshot.Value{Data: v}
	}
	return m
}
