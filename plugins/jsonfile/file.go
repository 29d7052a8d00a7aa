package jsonfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// readData reads and parses the data file.
func readData(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data, err := parseData(b)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return data, nil
}

// parseData decodes a JSON object into compacted raw values. Errors start
// with "line:col: ".
func parseData(b []byte) (map[string][]byte, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("1:1: top level must be a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, positioned(b, err)
	}
	data := make(map[string][]byte, len(raw))
	for k, v := range raw {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, positioned(b, err)
		}
		data[k] = buf.Bytes()
	}
	return data, nil
}

// positioned prefixes a JSON error with the line and column it points at.
func positioned(b []byte, err error) error {
	var off int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return fmt.Errorf("1:1: %w", err)
	}
	// Offset counts the bytes read, including the offending one; when the
	// input ended early there is none.
	if syn == nil || syn.Error() != "unexpected end of JSON input" {
		off--
	}
	line, col := lineCol(b, int(max(0, min(off, int64(len(b))))))
	return fmt.Errorf("%d:%d: %w", line, col, err)
}

func lineCol(b []byte, off int) (line, col int) {
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = off - bytes.LastIndexByte(before, '\n')
	return line, col
}

func hashValue(v []byte) string {
	sum := sha256.Sum256(v)
	return hex.EncodeToString(sum[:16])
}

// state is the sidecar file's content.
type state struct {
	Revision uint64                `json:"revision"`
	Keys     map[string]stateEntry `json:"keys"`
}

type stateEntry struct {
	Revision uint64 `json:"rev"`
	Hash     string `json:"hash,omitempty"`
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
		return state{}, fmt.Errorf("jsonfile: bad state: %w", err)
	}
	for k, e := range st.Keys {
		if e.Revision == 0 || e.Revision > st.Revision || e.Deleted == (e.Hash != "") {
			return state{}, fmt.Errorf("jsonfile: bad state entry %q", k)
		}
	}
	return st, nil
}

// entries turns the state into value-less entries; apply fills values in.
func (st state) entries() map[string]*entry {
	m := make(map[string]*entry, len(st.Keys))
	for k, e := range st.Keys {
		m[k] = &entry{hash: e.Hash, rev: e.Revision, deleted: e.Deleted}
	}
	return m
}

// saveState writes the state file durably. Callers hold mu.
func (s *source) saveState() error {
	st := state{Revision: s.rev, Keys: make(map[string]stateEntry, len(s.entries))}
	for k, e := range s.entries {
		st.Keys[k] = stateEntry{Revision: e.rev, Hash: e.hash, Deleted: e.deleted}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.statePath, b)
}

// writeFileAtomic replaces path with data through a synced temp file and a
// rename, so readers see the old or the new content, never a mix.
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
