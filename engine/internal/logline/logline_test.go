package logline

import (
	"fmt"
	"testing"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string
	}{
		{"one line", []string{"hello\n"}, false, "[hello]"},
		{"split write", []string{"hel", "lo\nwor", "ld\n"}, false, "[hello][world]"},
		{"unfinished kept", []string{"a\nb"}, false, "[a]"},
		{"unfinished flushed", []string{"a\nb"}, true, "[a][b]"},
		{"too long is emitted unfinished", []string{"abcdefghij", "k\n"}, false, "[abcdefghij][k]"},
		{"empty lines", []string{"\n\n"}, false, "[][]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			w := &Writer{Max: 8, Emit: func(l []byte) { got += fmt.Sprintf("[%s]", l) }}
			for _, s := range tt.writes {
				w.Write([]byte(s))
			}
			if tt.flush {
				w.Flush()
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
