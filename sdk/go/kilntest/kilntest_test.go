package kilntest_test

import (
	"strings"
	"testing"

	kiln "github.com/kilnhq/kiln/sdk/go"
	"github.com/kilnhq/kiln/sdk/go/kilntest"
)

func TestDataList(t *testing.T) {
	d := kilntest.Data{"p/a": "1", "p/b": "2", "p/c": "3", "q/a": "4"}
	tests := []struct {
		name    string
		cursor  string
		limit   int
		reverse bool
		want    string // keys, then "|" and next
	}{
		{"first page", "", 2, false, "p/a,p/b|p/b"},
		{"last page", "p/b", 2, false, "p/c|"},
		{"exact fit", "", 3, false, "p/a,p/b,p/c|"},
		{"reverse", "", 2, true, "p/c,p/b|p/b"},
		{"reverse last", "p/b", 2, true, "p/a|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, next, err := d.List("p/", tt.cursor, tt.limit, tt.reverse)
			if err != nil {
				t.Fatal(err)
			}
			keys := make([]string, len(items))
			for i, it := range items {
				keys[i] = it.Key
			}
			if got := strings.Join(keys, ",") + "|" + next; got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNoHandler(t *testing.T) {
	if _, err := kilntest.Paths(&kiln.Request{}, kilntest.Data{}); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Errorf("Paths without handler err = %v, want no handler", err)
	}
}
