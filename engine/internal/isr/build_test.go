package isr

import (
	"context"
	"testing"
	"testing/synctest"
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
