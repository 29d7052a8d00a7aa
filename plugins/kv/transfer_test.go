package kv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sdk/plugin"
)

func TestImportExport(t *testing.T) {
	s := memStore(t)
	f, err := os.Open(filepath.Join("testdata", "import.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := Import(context.Background(), s, f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 5; got != want {
		t.Errorf("imported %d keys, want %d", got, want)
	}
	var out bytes.Buffer
	if err := Export(context.Background(), s, &out, ""); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "export.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), string(golden); got != want {
		t.Errorf("export =\n%s\nwant\n%s", got, want)
	}
}

func TestExportPrefixAndPaging(t *testing.T) {
	s := memStore(t)
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 2500; i++ { // more than maxLimit: several pages
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`"p:` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `": 1`)
	}
	sb.WriteString(`, "other": "not json\u0000"}`)
	if _, err := Import(context.Background(), s, strings.NewReader(sb.String())); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "raw", "not json")
	var out bytes.Buffer
	if err := Export(context.Background(), s, &out, "p:"); err != nil {
		t.Fatal(err)
	}
	items, err := readObject(&out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(items), 2500; got != want {
		t.Errorf("exported %d keys, want %d", got, want)
	}
	out.Reset()
	if err := Export(context.Background(), s, &out, "raw"); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "{\n  \"raw\": \"not json\"\n}\n"; got != want {
		t.Errorf("export of a non-JSON value = %q, want %q", got, want)
	}
}

func TestReadObjectErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"array", `[1]`},
		{"empty input", ``},
		{"trailing data", `{"a":1} {}`},
		{"bad value", `{"a":tru}`},
		{"empty key", `{"":1}`},
		{"unterminated", `{"a":1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readObject(strings.NewReader(tt.in)); err == nil {
				t.Errorf("readObject(%q) succeeded", tt.in)
			}
		})
	}
}

func FuzzReadObject(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":[1,2]},"a":"x"}`)
	f.Add(`{}`)
	f.Add(`{"a":"\u003c"}`)
	f.Fuzz(func(t *testing.T, in string) {
		items, err := readObject(strings.NewReader(in))
		if err != nil {
			return
		}
		// What was read must survive an export/import round trip.
		s := memStore(t)
		for _, it := range items {
			if _, err := s.Put(context.Background(), it.Key, it.Value); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := Export(context.Background(), s, &out, ""); err != nil {
			t.Fatal(err)
		}
		again, err := readObject(&out)
		if err != nil {
			t.Fatalf("re-reading export %q: %v", out.String(), err)
		}
		if got, want := toMap(again), toMap(items); !reflect.DeepEqual(got, want) {
			t.Errorf("round trip = %v, want %v", got, want)
		}
	})
}

func toMap(items []plugin.Item) map[string]string {
	m := map[string]string{}
	for _, it := range items {
		m[it.Key] = string(it.Value)
	}
	return m
}

func FuzzCursor(f *testing.F) {
	f.Add("post:a")
	f.Add("")
	f.Add("\xff\x00")
	f.Fuzz(func(t *testing.T, key string) {
		got, err := decodeCursor(encodeCursor(key))
		if err != nil || got != key {
			t.Errorf("decode(encode(%q)) = %q, %v", key, got, err)
		}
		_, _ = decodeCursor(key) // arbitrary input must not panic
	})
}
