package isr

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// TestQueuedFirstGenerationGivesUp: a first generation left in the
// durable queue (by a previous run) whose render keeps failing is
// rendered maxJobTries times, on the failure backoff, then dropped from
// the queue: a later run finds nothing to resume.
func TestQueuedFirstGenerationGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
			async: map[string]chan func() string{}, etags: map[string]string{}}
		h.r.outcomes["/t/x"] = []string{"fail"}
		h.site(raceSite)
		t.Cleanup(h.close)
		h.closeEngine()
		st, err := store.Open("store", store.Options{FS: h.fs})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(store.Job{Path: "/t/x", Reason: "change", Queued: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		h.open()
		time.Sleep(24 * time.Hour) // past every backoff, however many
		synctest.Wait()
		if got := h.renders("/t/x"); got != maxJobTries {
			t.Errorf("a failing queued first generation was rendered %d times in a day, want %d", got, maxJobTries)
		}
		jobs, err := h.st.Pending()
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 0 {
			t.Errorf("jobs left after giving up: %v", jobs)
		}
		h.closeEngine()
		h.open()
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := h.renders("/t/x"); got != maxJobTries {
			t.Errorf("after a restart: rendered %d times, want %d", got, maxJobTries)
		}
	})
}

// TestNegativeCacheBound: a flood of made-up URLs keeps negativeEntries
// 404 answers in memory, no more; the oldest are evicted (a request for
// one renders again) and the newest answered from memory.
func TestNegativeCacheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
			async: map[string]chan func() string{}, etags: map[string]string{}}
		h.r.outcomes["*"] = []string{"notfound"}
		h.site(raceSite)
		t.Cleanup(h.close)
		ctx := context.Background()
		const flood = negativeEntries + 1000
		path := func(i int) string { return fmt.Sprintf("/p/made-up-%d", i) }
		for i := range flood {
			if a := h.eng.Serve(ctx, Request{Path: path(i)}); a.Status != 404 {
				t.Fatalf("%s: %d, want 404", path(i), a.Status)
			}
			synctest.Wait()
		}
		h.eng.negative.mu.Lock()
		entries, lru := len(h.eng.negative.entries), h.eng.negative.lru.Len()
		h.eng.negative.mu.Unlock()
		if entries != negativeEntries || lru != negativeEntries {
			t.Errorf("after %d made-up URLs: %d entries, %d in the LRU; want %d", flood, entries, lru, negativeEntries)
		}
		for _, c := range []struct {
			i    int
			want int // renders after a second request
		}{
			// The kept first: a request for an evicted one stores it again
			// and evicts the oldest kept.
			{flood - 1, 1},                   // the newest
			{flood - negativeEntries, 1},     // the oldest kept
			{0, 2},                           // the oldest: evicted, rendered again
			{flood - negativeEntries - 1, 2}, // the last evicted
		} {
			if a := h.eng.Serve(ctx, Request{Path: path(c.i)}); a.Status != 404 {
				t.Errorf("%s again: %d, want 404", path(c.i), a.Status)
			}
			synctest.Wait()
			if got := h.renders(path(c.i)); got != c.want {
				t.Errorf("%s: %d renders after a second request, want %d", path(c.i), got, c.want)
			}
		}
	})
}

// renders is how many times path was rendered.
func (h *harness) renders(path string) int {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	return h.r.renders[path]
}
