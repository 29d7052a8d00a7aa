package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestPutBuilt stores one batch over a store holding /old (v5, cached)
// and /new (v2, cached), and checks each page's outcome, what is stored,
// its history, the hot cache and the indexes.
func TestPutBuilt(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HistoryLen: 2})
	mustPut(t, s, page("/old", 5), withIndex(page("/new", 2), []string{"k"}, []string{"x/"}, []string{"t"}))
	for _, p := range []string{"/old", "/new"} {
		if _, err := s.Get(p); err != nil { // cached
			t.Fatal(err)
		}
		s.AddHistory(p, Event{Reason: "before"})
	}
	ev := func(reason string) Event { return Event{At: t0, Reason: reason, Outcome: "regenerated"} }
	bad := page("/bad", 1)
	bad.Path = "/b\x00d"
	items := []Built{
		{page("/a", 1), ev("a")},
		{page("/old", 4), ev("old")}, // generated before the stored one
		{withIndex(page("/new", 3), []string{"k2"}, []string{"y/"}, nil), ev("new")},
		{page("/a", 2), ev("a again")},
		{bad, ev("bad")},
	}
	errs, err := s.PutBuilt(items)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path        string
		wantErr     error // nil, a sentinel, or errAny
		wantBody    int   // the version whose body is stored; 0: none
		wantVersion uint64
		wantHistory []string
	}{
		{"/a", nil, 1, 1, []string{"a"}},
		{"/old", ErrNewer, 5, 1, []string{"before"}},
		{"/new", nil, 3, 2, []string{"before", "new"}},
		{"/a", errDuplicate, 1, 1, []string{"a"}},
		{"/b\x00d", errAny, 0, 0, nil},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d%s", i, tt.path), func(t *testing.T) {
			switch {
			case tt.wantErr == errAny && errs[i] == nil, tt.wantErr != errAny && !errors.Is(errs[i], tt.wantErr):
				t.Errorf("err = %v, want %v", errs[i], tt.wantErr)
			}
			if tt.wantBody == 0 {
				return
			}
			got, err := s.Get(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if want := page(tt.path, tt.wantBody); string(got.Body) != string(want.Body) {
				t.Errorf("body %q, want %q", got.Body, want.Body)
			}
			if got.Version != tt.wantVersion {
				t.Errorf("version %d, want %d", got.Version, tt.wantVersion)
			}
			h, err := s.History(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, e := range h {
				reasons = append(reasons, e.Reason)
			}
			if !slices.Equal(reasons, tt.wantHistory) {
				t.Errorf("history %q, want %q", reasons, tt.wantHistory)
			}
		})
	}
	if got, err := s.PathsForKey("k2"); err != nil || !slices.Equal(got, []string{"/new"}) {
		t.Errorf("PathsForKey(k2) = %v, %v; want [/new]", got, err)
	}
	if got, err := s.PathsForKey("k"); err != nil || len(got) != 0 {
		t.Errorf("PathsForKey(k) = %v, %v; want none (the old version's)", got, err)
	}
	checkConsistent(t, s)
}

// errAny stands for any error in TestPutBuilt's table.
var errAny = errors.New("any error")

// TestPutBuiltFillsNoCache: a batch leaves the hot cache empty.
func TestPutBuiltFillsNoCache(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
	if _, err := s.PutBuilt([]Built{{Page: page("/a", 1)}, {Page: page("/b", 1)}}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.HotEntries != 0 || st.Pages != 2 {
		t.Errorf("%d cached, %d pages; want 0, 2", st.HotEntries, st.Pages)
	}
}
