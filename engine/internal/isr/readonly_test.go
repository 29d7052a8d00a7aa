package isr

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// fullPages refuses page writes with store.ErrReadOnly while full is set,
// as the store does on a full disk.
type fullPages struct {
	store.Pages
	full *atomic.Bool
	puts *atomic.Int64
}

func (p fullPages) Put(pg *store.Page, o store.PutOptions) error {
	if p.full.Load() {
		p.puts.Add(1)
		return store.ErrReadOnly
	}
	return p.Pages.Put(pg, o)
}

func (p fullPages) MarkStale(path string) error {
	if p.full.Load() {
		return store.ErrReadOnly
	}
	return p.Pages.MarkStale(path)
}

// TestReadOnlyStoreServesStale: a regeneration the read-only store refuses
// leaves the stored page served, stale, and is retried after the failure
// backoff rather than on every request; a first generation is shown.
func TestReadOnlyStoreServesStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var full atomic.Bool
		var puts atomic.Int64
		h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
			async: map[string]chan func() string{}, etags: map[string]string{},
			pages: func(st store.Store) store.Pages { return fullPages{st, &full, &puts} }}
		h.site(raceSite)
		t.Cleanup(h.close)
		ctx := context.Background()
		h.eng.Serve(ctx, Request{Path: "/p/a"})
		full.Store(true)
		time.Sleep(11 * time.Second)
		for range 5 {
			a := h.eng.Serve(ctx, Request{Path: "/p/a"})
			if a.Status != 200 || a.Cache != "STALE" {
				t.Fatalf("read-only store: %d %s, want 200 STALE", a.Status, a.Cache)
			}
			synctest.Wait()
		}
		if n := puts.Load(); n != 1 {
			t.Errorf("%d refused writes for 5 stale requests, want 1 (then the backoff)", n)
		}
		if a := h.eng.Serve(ctx, Request{Path: "/p/new"}); a.Status != 200 {
			t.Errorf("first generation on a read-only store: %d %s, want the rendered page", a.Status, a.Cache)
		}
		if _, err := h.st.Get("/p/new"); err == nil {
			t.Error("a first generation was stored by a read-only store")
		}
	})
}
