package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// dump renders a value for failure messages.
func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// FuzzParse checks that no input makes Parse panic and that a failure is
// always a *DiagError with at least one rendered problem.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`on_change "x" {
  match = "*"
  revalidate = ["${item.value[0]}"]
}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("testdata/valid/fuzz.hcl", src)
		if err == nil {
			if s == nil {
				t.Fatal("nil site without error")
			}
			for _, o := range s.OnChange {
				for _, tm := range append(o.Revalidate, o.Tags...) {
					_, _ = tm.Eval(EventItem{Key: "k", Value: src})
				}
			}
			return
		}
		de, ok := err.(*DiagError)
		if !ok {
			t.Fatalf("error %T, want *DiagError", err)
		}
		if de.Count() == 0 || de.Error() == "" {
			t.Fatalf("empty DiagError")
		}
	})
}
