package jsonfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/kilnhq/kiln/plugins/internal/snapshot"
)

// Put sets a key to a JSON value and rewrites the data file.
func (s *source) Put(_ context.Context, key string, value []byte) (uint64, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, value); err != nil {
		return 0, fmt.Errorf("jsonfile: value of %q is not JSON: %w", key, err)
	}
	return s.write(key, buf.Bytes())
}

// Delete removes a key and rewrites the data file. Deleting a missing key
// is not an error and returns the current revision.
func (s *source) Delete(_ context.Context, key string) (uint64, error) {
	return s.write(key, nil)
}

// write applies one change: data file first, then the revision state, so
// a crash in between is seen as an offline edit at the next start.
func (s *source) write(key string, value []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Change(key, value, func(data map[string][]byte) error {
		if err := snapshot.WriteFile(s.path, encodeData(data)); err != nil {
			return fmt.Errorf("jsonfile: write %s: %w", s.path, err)
		}
		return nil
	})
}

// encodeData renders the values as an indented JSON object in key order.
func encodeData(data map[string][]byte) []byte {
	raw := make(map[string]json.RawMessage, len(data))
	for k, v := range data {
		raw[k] = v
	}
	b, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("jsonfile: encode stored values: %v", err)) // values were validated
	}
	return append(b, '\n')
}
