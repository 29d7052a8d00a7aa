package isr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/engine/internal/datasource"
)

// The tests in this file force the interleavings where single flight and
// change tracking used to fail, and hammer the engine with many
// goroutines. `go tool task stress` runs them thousands of times with
// -race.

// newRaceHarness opens an engine on site (HCL) inside the current bubble.
func newRaceHarness(t *testing.T, site string) *harness {
	h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
		async: map[string]chan func() string{}, etags: map[string]string{}}
	h.site(site)
	t.Cleanup(h.close)
	return h
}

const raceSite = `
route "/p/:slug" {
  renderer   = "page"
  revalidate = "10s"
}
route "/e/:slug" {
  renderer = "page"
}
route "/t/:slug" {
  renderer = "page"
  fallback = "true"
}
`

// TestRaceMissThenLanded: a request misses the store, and before it joins
// a flight another request's render lands. It must not render again: the
// flight it starts looks at the store first.
func TestRaceMissThenLanded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRaceHarness(t, raceSite)
		paused, resume := make(chan struct{}), make(chan struct{})
		var once sync.Once
		h.eng.afterLookup = func(string) {
			once.Do(func() {
				close(paused)
				<-resume
			})
		}
		slow := make(chan Answer, 1)
		go func() { slow <- h.eng.Serve(context.Background(), Request{Path: "/p/a"}) }()
		<-paused
		h.eng.afterLookup = nil
		if a := h.eng.Serve(context.Background(), Request{Path: "/p/a"}); a.Cache != "MISS" {
			t.Fatalf("second request: %s", a.Cache)
		}
		close(resume)
		a := <-slow
		if a.Status != 200 || a.Cache != "HIT" {
			t.Errorf("first request after the page landed: %d %s, want 200 HIT", a.Status, a.Cache)
		}
		if got := h.r.counts(); got != "/p/a: 1" {
			t.Errorf("renders %q, want one", got)
		}
	})
}

// TestRaceStaleThenRegenerated: a request sees a stale page, and before it
// triggers the regeneration another one has landed. The page is fresh now:
// nothing renders.
func TestRaceStaleThenRegenerated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRaceHarness(t, raceSite)
		h.eng.Serve(context.Background(), Request{Path: "/p/a"})
		time.Sleep(11 * time.Second)
		paused, resume := make(chan struct{}), make(chan struct{})
		var once sync.Once
		h.eng.afterLookup = func(string) {
			once.Do(func() {
				close(paused)
				<-resume
			})
		}
		slow := make(chan Answer, 1)
		go func() { slow <- h.eng.Serve(context.Background(), Request{Path: "/p/a"}) }()
		<-paused
		h.eng.afterLookup = nil
		h.eng.Serve(context.Background(), Request{Path: "/p/a"}) // stale: triggers
		synctest.Wait()                                          // the regeneration lands
		close(resume)
		if a := <-slow; a.Cache != "STALE" {
			t.Errorf("slow request: %s, want STALE (what it looked up)", a.Cache)
		}
		synctest.Wait()
		if got := h.r.counts(); got != "/p/a: 2" {
			t.Errorf("renders %q, want the first and one regeneration", got)
		}
	})
}

// TestHammer runs many goroutines against a few paths of routes that
// never go stale by age: requests, data changes, on-demand calls, lazy
// invalidations, while time moves. It checks that a path never renders
// twice at once and that no change is lost: once everything settles, every
// stored page shows the latest data it reads, or is marked stale (the need
// to render it again is recorded). It runs hammerRounds seeds; `go tool
// task stress` runs it a thousand times more.
func TestHammer(t *testing.T) {
	for seed := range hammerRounds {
		synctest.Test(t, func(t *testing.T) { hammer(t, uint64(seed)) })
	}
}

const hammerRounds = 5

func hammer(t *testing.T, seed uint64) {
	h := newRaceHarness(t, raceSite+`
route "/lazy/:slug" {
  renderer = "page"
  policy   = "lazy"
}`)
	paths := []string{"/e/a", "/e/b", "/e/c", "/t/a", "/t/b", "/lazy/a", "/lazy/b"}
	keys := []string{"k1", "k2", "k3"}
	for i, p := range paths {
		h.r.reads[p] = []string{keys[i%len(keys)], keys[(i+1)%len(keys)]}
		h.r.tags[p] = []string{"all"}
		h.r.outcomes[p] = []string{fmt.Sprintf("slow=%dms", 50+i*40)}
	}
	var wg sync.WaitGroup
	var revMu sync.Mutex
	rev := uint64(0)
	for g := range 16 {
		rnd := rand.New(rand.NewPCG(uint64(g), seed))
		wg.Go(func() {
			for range 60 {
				time.Sleep(time.Duration(rnd.IntN(100)) * time.Millisecond)
				p := paths[rnd.IntN(len(paths))]
				switch rnd.IntN(10) {
				case 0, 1:
					k := keys[rnd.IntN(len(keys))]
					h.r.mu.Lock()
					revMu.Lock()
					rev++
					v := fmt.Sprintf("v%d", rev)
					h.r.data[k] = v
					h.changes <- datasource.Change{Source: "data", Key: k, Value: []byte(v), Revision: rev}
					revMu.Unlock()
					h.r.mu.Unlock()
				case 2:
					h.eng.Revalidate(context.Background(), Revalidation{Paths: []string{p}})
				case 3:
					h.eng.Revalidate(context.Background(), Revalidation{Tags: []string{"all"}, Mode: ModeStale})
				default:
					h.eng.Serve(context.Background(), Request{Path: p, Wait: rnd.IntN(2) == 0})
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Minute)
	synctest.Wait()
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if len(h.r.overlap) > 0 {
		t.Errorf("paths rendered twice at once: %v", h.r.overlap)
	}
	for _, p := range paths {
		page, err := h.st.Get(p)
		if err != nil || page.StaleMarked {
			continue // never requested, or due for a render
		}
		for _, k := range h.r.reads[p] {
			if want := k + "=" + h.r.data[k]; !strings.Contains(string(page.Body), want) {
				t.Errorf("%s lost a change: body %.40q, want %s", p, page.Body, want)
			}
		}
	}
}
