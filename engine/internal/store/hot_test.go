package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// zipfHitRatio replays a Zipf (s = 1) mix of requests over n pages of
// equal size through a hot cache holding about held of them, filling it
// from "disk" on each miss, and returns the hit ratio of the second half
// and the best any cache of that size could do (the held most popular
// pages' share).
func zipfHitRatio(n, held, requests int) (got, best float64) {
	pages := make([]*Page, n)
	for i := range pages {
		pages[i] = &Page{Path: fmt.Sprintf("/posts/%06d", i), Body: make([]byte, 1000)}
	}
	c := newHotCache(int64(held)*hotSize(pages[0]), 1)
	cdf := make([]float64, n)
	sum := 0.0
	for r := range n {
		sum += 1 / float64(r+1)
		cdf[r] = sum
	}
	r := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for i := range requests {
		rank := min(n-1, sortSearch(cdf, r.Float64()*sum))
		p := pages[(rank*7919)%n] // popular pages scattered over the paths
		if q, gen := c.get(p.Path); q == nil {
			c.fill(p, gen)
		} else if i >= requests/2 {
			hits++
		}
	}
	return float64(hits) / float64(requests-requests/2), cdf[held-1] / sum
}

func sortSearch(cdf []float64, u float64) int {
	lo, hi := 0, len(cdf)-1
	for lo < hi {
		if mid := (lo + hi) / 2; cdf[mid] < u {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// TestHotCacheZipf: under a Zipf mix over fifty times the pages the hot
// cache holds, it keeps close to the popular set (plain LRU stays about
// ten points below it).
func TestHotCacheZipf(t *testing.T) {
	got, best := zipfHitRatio(25_000, 500, 400_000)
	t.Logf("hit ratio %.3f, best possible %.3f", got, best)
	if got < best-0.05 {
		t.Errorf("hit ratio %.3f, want at least %.3f (best possible %.3f less 5 points)", got, best-0.05, best)
	}
}

// TestHotCacheAdmission: a full cache of pages asked for often does not
// give way to a page read once, but does to one asked for more often.
func TestHotCacheAdmission(t *testing.T) {
	size := hotSize(&Page{Path: "/p/0"})
	c := newHotCache(4*size, 1)
	for i := range 4 {
		p := &Page{Path: fmt.Sprintf("/p/%d", i)}
		for range 3 {
			if q, gen := c.get(p.Path); q == nil {
				c.fill(p, gen)
			}
		}
	}
	once := &Page{Path: "/p/once"}
	_, gen := c.get(once.Path)
	c.fill(once, gen)
	if c.peek(once.Path) != nil {
		t.Error("a page asked for once evicted one asked for three times")
	}
	often := &Page{Path: "/p/often"}
	for range 5 {
		if q, gen := c.get(often.Path); q == nil {
			c.fill(often, gen)
		}
	}
	if c.peek(often.Path) == nil {
		t.Error("a page asked for five times was never admitted")
	}
}

func TestSketch(t *testing.T) {
	k := newSketch(1 << 10)
	a, b := uint64(0x1234_5678_9abc_def1), uint64(0x0fed_cba9_8765_4321)
	for range 7 {
		k.add(a)
	}
	k.add(b)
	if got, want := k.estimate(a), uint8(7); got != want {
		t.Errorf("estimate(a) = %d, want %d", got, want)
	}
	if got, want := k.estimate(b), uint8(1); got != want {
		t.Errorf("estimate(b) = %d, want %d", got, want)
	}
	for range k.reset - 8 { // saturates a; the last add halves every counter
		k.add(a)
	}
	if got, want := k.estimate(a), uint8(127); got != want {
		t.Errorf("estimate(a) after a halving = %d, want %d", got, want)
	}
	if got, want := k.estimate(b), uint8(0); got != want {
		t.Errorf("estimate(b) after a halving = %d, want %d", got, want)
	}
}
