package markdown

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// state is the state file's content.
type state struct {
	Revision uint64                `json:"revision"`
	Keys     map[string]stateEntry `json:"keys"`
}

type stateEntry struct {
	Revision uint64 `json:"rev"`
	Hash     string `json:"hash,omitempty"`
	File     string `json:"file,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// readState reads the state file; a missing file is an empty state.
func readState(path string) (state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, err
	}
	return parseState(b)
}

// parseState decodes and checks a state file.
func parseState(b []byte) (state, error) {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("markdown: bad state: %w", err)
	}
	for k, e := range st.Keys {
		if e.Revision == 0 || e.Revision > st.Revision || e.Deleted == (e.Hash != "") {
			return state{}, fmt.Errorf("markdown: bad state entry %q", k)
		}
	}
	return st, nil
}

// entries turns the state into value-less entries; apply fills values in.
func (st state) entries() map[string]*entry {
	m := make(map[string]*entry, len(st.Keys))
	for k, e := range st.Keys {
		m[k] = &entry{hash: e.Hash, rev: e.Revision, deleted: e.Deleted, file: e.File}
	}
	return m
}

// saveState writes the state file durably. Callers hold mu.
func (s *source) saveState() error {
	st := state{Revision: s.rev, Keys: make(map[string]stateEntry, len(s.entries))}
	for k, e := range s.entries {
		st.Keys[k] = stateEntry{Revision: e.rev, Hash: e.hash, File: e.file, Deleted: e.deleted}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.statePath, b)
}

// writeFileAtomic replaces path with data through a synced temp file and a
// rename, so a crash leaves the old or the new state, never a mix.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
