package isr

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// TestBuildOnlyMissing checks what `kiln serve` does at start: it renders
// only the build-time paths that are not stored, and finds them without
// reading a stored page (no hot cache miss), and fills no hot cache (not
// even with the page it rendered: a build writes more than it serves).
func TestBuildOnlyMissing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRaceHarness(t, `
route "/p/:slug" {
  renderer = "page"
  paths    = ["/p/a", "/p/b", "/p/c"]
}`)
		if _, err := h.eng.Build(context.Background(), BuildOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := h.st.Delete("/p/b", false); err != nil {
			t.Fatal(err)
		}
		h.closeEngine()
		h.open() // an empty hot cache
		var progress []int
		sum, err := h.eng.Build(context.Background(), BuildOptions{OnlyMissing: true,
			Progress: func(total, done int) { progress = append(progress, total, done) }})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Pages != 1 || sum.Skipped != 2 || sum.Failed != 0 {
			t.Errorf("built %d, skipped %d, failed %d; want 1, 2, 0", sum.Pages, sum.Skipped, sum.Failed)
		}
		if got, want := len(progress), 2; got != want || progress[0] != 3 || progress[1] != 3 {
			t.Errorf("progress %v, want [3 3]", progress)
		}
		st := h.st.Stats()
		if st.HotMisses != 0 || st.HotEntries != 0 {
			t.Errorf("hot cache: %d misses, %d entries; want 0, 0", st.HotMisses, st.HotEntries)
		}
		if got, want := h.r.counts(), "/p/a: 1\n/p/b: 2\n/p/c: 1"; got != want {
			t.Errorf("renders:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestBuildStores builds three paths through the batched writer and
// through one Put a page (a page store without store.BuildWriter), and
// checks both store the pages and a "build" event in each one's history.
func TestBuildStores(t *testing.T) {
	tests := []struct {
		name    string
		batched bool
	}{{"batched", true}, {"one put a page", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newRaceHarness(t, `
route "/p/:slug" {
  renderer = "page"
  paths    = ["/p/a", "/p/b", "/p/c"]
}`)
				if !tt.batched {
					h.pages = func(st store.Store) store.Pages { return struct{ store.Pages }{st} }
					h.closeEngine()
					h.open()
				}
				sum, err := h.eng.Build(context.Background(), BuildOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if sum.Pages != 3 || sum.Skipped != 0 || sum.Failed != 0 {
					t.Errorf("built %d, skipped %d, failed %d; want 3, 0, 0", sum.Pages, sum.Skipped, sum.Failed)
				}
				for _, p := range []string{"/p/a", "/p/b", "/p/c"} {
					if _, err := h.st.Get(p); err != nil {
						t.Errorf("%s: %v", p, err)
					}
					evs, err := h.st.History(p)
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) != 1 || evs[0].Reason != "build" || evs[0].Outcome != OutcomeRegenerated {
						t.Errorf("%s history %+v, want one build event", p, evs)
					}
				}
			})
		})
	}
}
