package isr

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// scriptedLeaser answers Lease with held for its first helds calls, and
// Await with ErrLeaseReleased: a holder that gave the lease back without
// a page.
type scriptedLeaser struct {
	mu               sync.Mutex
	helds            int
	leases, releases int
	awaits           int
}

func (l *scriptedLeaser) Lease(context.Context, string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leases++
	if l.leases <= l.helds {
		return nil, true, nil
	}
	return func() { l.mu.Lock(); l.releases++; l.mu.Unlock() }, false, nil
}

func (l *scriptedLeaser) Await(context.Context, string, uint64) (*store.Page, error) {
	l.mu.Lock()
	l.awaits++
	l.mu.Unlock()
	return nil, ErrLeaseReleased
}

// TestLeaseReleasedWithoutAPage: the lease holder releases the lease
// without storing a page. The flight asks for the lease again and renders
// under it, rather than render alone; after leaseRetries releases in a
// row it renders alone.
func TestLeaseReleasedWithoutAPage(t *testing.T) {
	for _, tt := range []struct {
		name          string
		helds         int
		leases, taken int
	}{
		{"taken at the second ask", 1, 2, 1},
		{"taken at the last ask", leaseRetries, leaseRetries + 1, 1},
		{"rendered alone past the retries", leaseRetries + 1, leaseRetries + 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := &scriptedLeaser{helds: tt.helds}
				h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
					async: map[string]chan func() string{}, etags: map[string]string{}, leaser: l}
				h.site(raceSite)
				t.Cleanup(h.close)
				if a := h.eng.Serve(context.Background(), Request{Path: "/p/a"}); a.Status != 200 {
					t.Fatalf("first request: %d %s", a.Status, a.Cache)
				}
				if got := h.r.counts(); !strings.Contains(got, "/p/a: 1") {
					t.Errorf("renders %q, want one of /p/a", got)
				}
				l.mu.Lock()
				defer l.mu.Unlock()
				if l.leases != tt.leases || l.releases != tt.taken || l.awaits != tt.leases-tt.taken {
					t.Errorf("leases asked %d, released %d, awaits %d; want %d, %d, %d",
						l.leases, l.releases, l.awaits, tt.leases, tt.taken, tt.leases-tt.taken)
				}
			})
		})
	}
}
