package jsonfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kilnhq/kiln/plugins/internal/snapshot"
)

// Put sets a key to a JSON value in the data file.
func (s *source) Put(_ context.Context, key string, value []byte) (uint64, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, value); err != nil {
		return 0, fmt.Errorf("jsonfile: value of %q is not JSON: %w", key, err)
	}
	return s.write(key, buf.Bytes())
}

// Delete removes a key from the data file. Deleting a missing key is not
// an error and returns the current revision.
func (s *source) Delete(_ context.Context, key string) (uint64, error) {
	return s.write(key, nil)
}

// write applies one change: data file first, then the revision state, so
// a crash in between is seen as an offline edit at the next start. The
// file is edited in place (splice): the other members keep their bytes,
// and the file keeps its mode.
func (s *source) write(key string, value []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Change(key, value, func(served map[string][]byte) error {
		b, err := s.edited(key, value, served)
		if err == nil {
			err = snapshot.WriteFile(s.path, b)
		}
		if err != nil {
			return fmt.Errorf("jsonfile: write %s: %w", s.path, err)
		}
		return nil
	})
}

// edited returns the data file's new content. A missing file is written
// anew from the served values; an invalid one is left for its author to
// fix: writing over it would lose their edit.
func (s *source) edited(key string, value []byte, served map[string][]byte) ([]byte, error) {
	before, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return encodeData(served), nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := parseData(before); err != nil {
		return nil, fmt.Errorf("the file is invalid (%w); fix it first", err)
	}
	after, err := splice(before, key, value)
	if err == nil {
		err = checkSplice(before, after, key, value)
	}
	return after, err
}

// encodeData renders the values as an indented JSON object in key order,
// for a data file that has to be created.
func encodeData(data map[string][]byte) []byte {
	raw := make(map[string]json.RawMessage, len(data))
	for k, v := range data {
		raw[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(raw); err != nil {
		panic(fmt.Sprintf("jsonfile: encode stored values: %v", err)) // values were validated
	}
	return buf.Bytes()
}
