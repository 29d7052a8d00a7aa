package kv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// ErrNotObject is returned by Import when the input is not a JSON object.
var ErrNotObject = errors.New("kv: import wants a JSON object of key to value")

// Import reads a JSON object mapping keys to JSON values and puts every
// pair through w (a local Store or a plugin client). A key repeated in the
// object keeps its last value. It returns the number of keys written.
func Import(ctx context.Context, w plugin.Writer, r io.Reader) (int, error) {
	items, err := readObject(r)
	if err != nil {
		return 0, err
	}
	n, err := plugin.PutAll(ctx, w, items)
	if err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	return n, nil
}

// readObject decodes a JSON object of key to value into items in input
// order, later duplicates replacing earlier ones. Values are compacted.
func readObject(r io.Reader) ([]plugin.Item, error) {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrNotObject
	}
	var items []plugin.Item
	seen := map[string]int{}
	for dec.More() {
		it, err := readPair(dec)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		if i, ok := seen[it.Key]; ok {
			items[i] = it
			continue
		}
		seen[it.Key] = len(items)
		items = append(items, it)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("import: data after the object")
	}
	return items, nil
}

func readPair(dec *json.Decoder) (plugin.Item, error) {
	tok, err := dec.Token()
	if err != nil {
		return plugin.Item{}, err
	}
	key, _ := tok.(string)
	if key == "" {
		return plugin.Item{}, ErrEmptyKey
	}
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return plugin.Item{}, fmt.Errorf("value of %q: %w", key, err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return plugin.Item{}, fmt.Errorf("value of %q: %w", key, err)
	}
	return plugin.Item{Key: key, Value: buf.Bytes()}, nil
}

// Export writes every item whose key starts with prefix as one JSON object,
// one key per line, in key order: the format Import reads. A value that is
// not valid JSON is written as a JSON string.
func Export(ctx context.Context, src plugin.Source, w io.Writer, prefix string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{")
	n := 0
	req := plugin.ListRequest{Prefix: prefix, Limit: maxLimit}
	for {
		page, err := src.List(ctx, req)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, it := range page.Items {
			writePair(bw, n, it)
			n++
		}
		if page.Next == "" {
			break
		}
		req.Cursor = page.Next
	}
	if n > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

func writePair(bw *bufio.Writer, n int, it plugin.Item) {
	if n > 0 {
		bw.WriteString(",")
	}
	k, _ := json.Marshal(it.Key)
	bw.WriteString("\n  ")
	bw.Write(k)
	bw.WriteString(": ")
	if json.Valid(it.Value) {
		var buf bytes.Buffer
		_ = json.Compact(&buf, it.Value)
		bw.Write(buf.Bytes())
		return
	}
	v, _ := json.Marshal(string(it.Value))
	bw.Write(v)
}
