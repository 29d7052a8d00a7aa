package jsonfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
