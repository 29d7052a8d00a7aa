package jsonfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Put sets a key to a JSON value and rewrites the data file.
func (s *source) Put(_ context.Context, key string, value []byte) (uint64, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, value); err != nil {
		return 0, fmt.Errorf("jsonfile: value of %q is not JSON: %w", key, err)
	}
	return s.write(key, &entry{value: buf.Bytes(), hash: hashValue(buf.Bytes())})
}

// Delete removes a key and rewrites the data file. Deleting a missing key
// is not an error and returns the current revision.
func (s *source) Delete(_ context.Context, key string) (uint64, error) {
	return s.write(key, &entry{deleted: true})
}

// write applies one change: data file first, then the revision state, so
// a crash in between is seen as an offline edit at the next start.
func (s *source) write(key string, e *entry) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		return 0, errNotConfigured
	}
	if old := s.entries[key]; old == nil && e.deleted || old != nil && old.deleted == e.deleted && old.hash == e.hash {
		return s.rev, nil
	}
	prev := s.entries[key]
	s.entries[key] = e
	if err := writeFileAtomic(s.path, s.encodeData()); err != nil {
		if s.entries[key] = prev; prev == nil {
			delete(s.entries, key)
		}
		return 0, fmt.Errorf("jsonfile: write %s: %w", s.path, err)
	}
	s.rev++
	e.rev = s.rev
	s.keys = s.liveKeys()
	s.commit()
	return s.rev, nil
}

// encodeData renders the live entries as an indented JSON object in key
// order. Callers hold mu.
func (s *source) encodeData() []byte {
	raw := make(map[string]json.RawMessage, len(s.entries))
	for k, e := range s.entries {
		if !e.deleted {
			raw[k] = e.value
		}
	}
	b, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("jsonfile: encode stored values: %v", err)) // values were validated
	}
	return append(b, '\n')
}
