// Package kv is a writable key-value data source with durable revisions,
// stored on disk in Pebble.
//
// Every Put and Delete gets the next revision and is fsync'd before it
// returns. A revision log keeps the latest change of every key (older
// changes of the same key are compacted away), so Watch(from) can replay
// every key changed after from, even across restarts.
//
// Pebble lets only one process open a store directory. While the engine
// runs the plugin, other writers (the CLI) must go through the engine's
// admin API; Open fails with a lock error otherwise.
package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// ErrClosed is returned by calls on a closed or unconfigured store.
var ErrClosed = errors.New("kv: closed")

var (
	_ plugin.Source      = (*Store)(nil)
	_ plugin.Writer      = (*Store)(nil)
	_ plugin.BatchGetter = (*Store)(nil)
)

// Store is the kv data source. The zero value is unconfigured; call
// Configure (or use Open) before anything else.
type Store struct {
	life sync.RWMutex // held for reading by every call using db; Close takes it for writing
	db   *pebble.DB

	mu      sync.Mutex    // serialises writers: revision order = commit order
	rev     uint64        // last revision handed out
	durable uint64        // highest revision known to be fsync'd; guarded by mu
	changed chan struct{} // closed and replaced when durable advances
}

// New returns an unconfigured store, for plugin.Serve.
func New() plugin.Source { return &Store{} }

// Open opens (creating if needed) the store in dir. The CLI uses it when
// the engine is not running.
func Open(dir string) (*Store, error) {
	s := &Store{}
	if err := s.open(dir, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// openFS is Open on a given filesystem; tests use vfs.NewMem().
func openFS(dir string, fs vfs.FS) (*Store, error) {
	s := &Store{}
	if err := s.open(dir, fs); err != nil {
		return nil, err
	}
	return s, nil
}

// Capabilities reports that the store is watchable and writable.
func (s *Store) Capabilities() plugin.Capabilities {
	return plugin.Capabilities{Watch: true, Writable: true}
}

// Schema describes the config block.
func (s *Store) Schema() plugin.Schema {
	return plugin.Schema{Attributes: []plugin.Attribute{{
		Name: "dir", Type: plugin.TypeString, Required: true,
		Description: "directory of the Pebble store (created if missing)",
	}}}
}

type config struct {
	Dir string `json:"dir"`
}

// Configure opens the store named by the config's dir attribute.
func (s *Store) Configure(_ context.Context, raw []byte) plugin.Diagnostics {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return diag("invalid config", err.Error(), "")
	}
	if c.Dir == "" {
		return diag("missing required attribute", "dir names the store directory", "dir")
	}
	if err := s.open(c.Dir, nil); err != nil { // e.g. locked by `kiln data`: the engine retries
		ds := diag("cannot open store", err.Error(), "dir")
		ds[0].Transient = true
		return ds
	}
	return nil
}

func diag(summary, detail, attr string) plugin.Diagnostics {
	return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: summary, Detail: detail, Attribute: attr}}
}

func (s *Store) open(dir string, fs vfs.FS) error {
	if s.db != nil {
		return errors.New("kv: already open")
	}
	db, err := pebble.Open(dir, &pebble.Options{FS: fs, Logger: quietLogger{}})
	if err != nil && strings.Contains(err.Error(), "no longer supported") {
		return fmt.Errorf("open %s: written by an older Kiln (Pebble v1's format), which this one cannot read: "+
			"export the items with that Kiln (kiln data export > items.json), move the directory away, "+
			"and import them with this one (kiln data import items.json): %w", dir, err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	rev, err := lastRevision(db)
	if err != nil {
		db.Close()
		return fmt.Errorf("read revision: %w", err)
	}
	s.db, s.rev, s.durable, s.changed = db, rev, rev, make(chan struct{})
	return nil
}

// Close closes the store. It waits for running calls; watches then end
// with ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	close(s.changed)
	return err
}

// acquire returns the open database, holding life for reading until
// release is called.
func (s *Store) acquire() (*pebble.DB, error) {
	s.life.RLock()
	if s.db == nil {
		s.life.RUnlock()
		return nil, ErrClosed
	}
	return s.db, nil
}

func (s *Store) release() { s.life.RUnlock() }

// Revision returns the latest durable revision.
func (s *Store) Revision() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable
}

// quietLogger keeps Pebble's informational chatter off stderr, which
// carries the plugin's structured log.
type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Errorf(format string, args ...interface{}) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	pebble.DefaultLogger.Fatalf(format, args...)
}
