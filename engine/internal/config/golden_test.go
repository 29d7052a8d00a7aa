package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/errors/*.golden")

// TestErrorsGolden loads every broken config in testdata/errors and
// compares the rendered diagnostics with the .golden file next to it.
func TestErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			var de *DiagError
			if !errors.As(err, &de) {
				t.Fatalf("Load(%s) = %v, want *DiagError", file, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s (run go test -update)\n--- got\n%s--- want\n%s", golden, got, want)
			}
			if n := strings.Count(got, ": error: "); n != de.Count() {
				t.Errorf("Count() = %d, rendered %d errors", de.Count(), n)
			}
		})
	}
}
