package plugin

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrToProto(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), "ERROR boom||"},
		{"wrapped diagnostics", fmt.Errorf("x: %w", Diagnostics{{Severity: SeverityWarning, Summary: "w", Detail: "d", Attribute: "a"}}), "WARNING w|d|a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeDiags(errToProto(tt.err)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
