package isr

import (
	"time"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// State is a stored page's freshness.
type State int

const (
	Fresh   State = iota // serve as is
	Stale                // serve, and regenerate in the background
	Expired              // past expire: a request waits for a new render
)

func (s State) String() string {
	switch s {
	case Fresh:
		return "fresh"
	case Stale:
		return "stale"
	}
	return "expired"
}

// Classify tells a stored page's state at now. A page goes stale
// Revalidate after it was generated (or as soon as it is marked stale), and
// expires Expire after it was generated, as Next.js's cacheLife expire
// does.
func Classify(p *store.Page, now time.Time) State {
	if p.Expire > 0 && !now.Before(p.Generated.Add(p.Expire)) {
		return Expired
	}
	if p.StaleMarked {
		return Stale
	}
	if fu := p.FreshUntil(); fu.IsZero() || now.Before(fu) {
		return Fresh
	}
	return Stale
}

// Age is how long ago a page was generated, in whole seconds (0 for a page
// generated in the future, after the clock was stepped back).
func Age(p *store.Page, now time.Time) int64 {
	d := now.Sub(p.Generated)
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}

// year is the freshness lifetime of a page that never goes stale, and the
// stale-while-revalidate window of one without expire.
const year = 365 * 24 * 60 * 60

// maxDelta caps the seconds Kiln sends: RFC 9111 (1.2.2) has caches treat
// larger delta-seconds as 2^31.
const maxDelta = 1 << 31

// lifetime is what a shared cache may do with a stored page, as RFC 9111
// and 5861 count it: fresh for maxAge seconds after generation, then
// served stale for swr more seconds while it revalidates (swr < 0: no
// window). Both count from generation, and the answer carries Age, so a
// cache that adds Age to its own resident time agrees with Kiln about
// when the page goes stale. A page marked stale has no freshness left.
func lifetime(p *store.Page) (maxAge, swr int64) {
	maxAge, swr = lifetimeSeconds(p)
	return min(maxAge, maxDelta), min(swr, maxDelta)
}

func lifetimeSeconds(p *store.Page) (maxAge, swr int64) {
	expire := int64(p.Expire / time.Second)
	switch {
	case p.StaleMarked:
		if expire > 0 {
			return 0, expire
		}
		return 0, year
	case p.Revalidate > 0:
		maxAge = int64(p.Revalidate / time.Second)
		if expire > 0 {
			return maxAge, max(expire-maxAge, 0)
		}
		return maxAge, year
	case expire > 0:
		return expire, -1
	}
	return year, -1
}
