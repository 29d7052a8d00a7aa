package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// stateDoc is the state file's content.
type stateDoc struct {
	Revision uint64 `json:"revision"`
	// Canonical says the hashes are of canonical JSON (hashValue). Older
	// state files hashed the bytes as they were (legacyHash); their
	// entries still match their values once, so upgrading fires no events.
	Canonical bool                  `json:"canonical,omitempty"`
	Keys      map[string]stateEntry `json:"keys"`
}

type stateEntry struct {
	Revision uint64 `json:"rev"`
	Hash     string `json:"hash,omitempty"`
	File     string `json:"file,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// readState reads the state file; a missing file is an empty state.
func readState(path string) (stateDoc, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stateDoc{}, nil
	}
	if err != nil {
		return stateDoc{}, err
	}
	return parseState(b)
}

// parseState decodes and checks a state file.
func parseState(b []byte) (stateDoc, error) {
	var st stateDoc
	if err := json.Unmarshal(b, &st); err != nil {
		return stateDoc{}, fmt.Errorf("bad state: %w", err)
	}
	for k, e := range st.Keys {
		if e.Revision == 0 || e.Revision > st.Revision || e.Deleted == (e.Hash != "") {
			return stateDoc{}, fmt.Errorf("bad state entry %q", k)
		}
	}
	return st, nil
}

// entries turns the state into value-less entries; apply fills values in.
func (st stateDoc) entries() map[string]*entry {
	m := make(map[string]*entry, len(st.Keys))
	for k, e := range st.Keys {
		m[k] = &entry{hash: e.Hash, rev: e.Revision, deleted: e.Deleted, file: e.File, legacy: !st.Canonical}
	}
	return m
}

// save writes the state file durably. Callers hold mu.
func (s *Snapshot) save() error {
	st := stateDoc{Revision: s.rev, Canonical: true, Keys: make(map[string]stateEntry, len(s.entries))}
	for k, e := range s.entries {
		st.Keys[k] = stateEntry{Revision: e.rev, Hash: e.hash, File: e.file, Deleted: e.deleted}
	}
	var b []byte
	var err error
	if s.state.Indent {
		b, err = json.MarshalIndent(st, "", "  ")
	} else {
		b, err = json.Marshal(st)
	}
	if err != nil {
		return err
	}
	return WriteFile(s.state.Path, b)
}

// WriteFile replaces path with data through a synced temp file and a
// rename, so readers and crashes see the old or the new content, never a
// mix. The file keeps its mode (and, where allowed, its owner); a new one
// is 0644. The state file is written this way; so should a source's own
// file.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := keepMode(f, path); err != nil {
		f.Close()
		return err
	}
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

// keepMode gives the temp file f the mode and owner of the file it
// replaces (0644 when there is none yet). An owner it may not set is left.
func keepMode(f *os.File, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f.Chmod(0o644)
	}
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid()) {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
	return f.Chmod(fi.Mode().Perm())
}
