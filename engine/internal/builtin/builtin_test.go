package builtin

import (
	"errors"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	if got, want := Names(), []string{"jsonfile", "kv", "markdown", "postgres"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

func TestRunUnknown(t *testing.T) {
	err := Run("nope")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("Run(nope) = %v, want ErrUnknown", err)
	}
	if got, want := err.Error(), `builtin: unknown plugin "nope" (have: jsonfile, kv, markdown, postgres)`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}
