package jsonfile

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestSpliceGolden runs testdata/splice/*.txtar: each applies one op
// ("set KEY VALUE" or "delete KEY") to before.json and wants after.json,
// byte for byte.
func TestSpliceGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "splice", "*.txtar"))
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			parts := map[string][]byte{}
			for _, f := range ar.Files {
				parts[f.Name] = f.Data
			}
			key, value := parseOp(t, string(parts["op"]))
			got, err := splice(parts["before.json"], key, value)
			if err == nil {
				err = checkSplice(parts["before.json"], got, key, value)
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := parts["after.json"]; !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func parseOp(t *testing.T, op string) (key string, value []byte) {
	t.Helper()
	verb, rest, _ := strings.Cut(strings.TrimSpace(op), " ")
	key, v, _ := strings.Cut(rest, " ")
	switch verb {
	case "delete":
		return key, nil
	case "set":
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(v)); err != nil {
			t.Fatalf("op %q: %v", op, err)
		}
		return key, buf.Bytes()
	}
	t.Fatalf("unknown op %q", op)
	return "", nil
}

func TestSpliceKeepsFinalBytes(t *testing.T) {
	tests := []struct{ name, before, after string }{
		{"no final newline", `{"a": 1}`, `{"a": 2}`},
		{"trailing blank lines", "{\"a\": 1}\n\n", "{\"a\": 2}\n\n"},
		{"leading space", "  {\"a\": 1}", "  {\"a\": 2}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splice([]byte(tt.before), "a", []byte("2"))
			if err != nil || string(got) != tt.after {
				t.Errorf("splice = %q, %v; want %q", got, err, tt.after)
			}
		})
	}
}

// FuzzSplice: on any valid data file, setting or deleting any key gives a
// file holding exactly the old data with that one change, and a replaced
// value leaves the bytes around it as they were.
func FuzzSplice(f *testing.F) {
	f.Add([]byte("{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n"), "b", []byte(`{"x":"<y>"}`))
	f.Add([]byte(`{"a":1,"a":2}`), "a", []byte(nil))
	f.Add([]byte(`{}`), "k", []byte(`"v"`))
	f.Add([]byte("{\t\"\\u00e9\" : null }"), "é", []byte(`[]`))
	f.Fuzz(func(t *testing.T, before []byte, key string, value []byte) {
		if _, err := parseData(before); err != nil {
			return
		}
		if value != nil {
			var buf bytes.Buffer
			if json.Compact(&buf, value) != nil {
				return
			}
			value = buf.Bytes()
		}
		after, err := splice(before, key, value)
		if value != nil && !utf8.ValidString(key) {
			if err == nil {
				t.Fatalf("set of the invalid key %q succeeded", key)
			}
			return
		}
		if err != nil {
			t.Fatalf("splice(%q, %q, %q): %v", before, key, value, err)
		}
		if err := checkSplice(before, after, key, value); err != nil {
			t.Fatalf("splice(%q, %q, %q) = %q: %v", before, key, value, after, err)
		}
		obj, err := scanObject(before)
		if err != nil {
			t.Fatal(err)
		}
		if idx := obj.indexes(key); len(idx) == 1 && value != nil {
			m := obj.members[idx[0]]
			if !bytes.HasPrefix(after, before[:m.valueStart]) || !bytes.HasSuffix(after, before[m.end:]) {
				t.Fatalf("replacing %q in %q touched other bytes: %q", key, before, after)
			}
		}
	})
}
