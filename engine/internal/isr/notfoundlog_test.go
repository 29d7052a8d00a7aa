package isr

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// lockedBuffer is a log sink the engine's goroutines may write together.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// TestNotFoundLogIsRateLimited: a flood of made-up URLs on a fallback
// route logs a burst of not-found lines, then one per interval on the
// engine's clock, and a summary line counts the ones not logged.
func TestNotFoundLogIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &lockedBuffer{}
		h := &harness{t: t, dir: t.TempDir(), fs: vfs.NewCrashableMem(), r: newFakeRenderer(),
			async: map[string]chan func() string{}, etags: map[string]string{}, logw: logs}
		h.r.outcomes["*"] = []string{"notfound"}
		h.site(raceSite)
		t.Cleanup(h.close)
		ctx := context.Background()
		const flood = 200
		for i := range flood {
			h.eng.Serve(ctx, Request{Path: fmt.Sprintf("/t/made-up-%d", i)})
			synctest.Wait()
		}
		notFound := "outcome=" + OutcomeNotFound
		if got := len(logs.lines(notFound)); got != failLogBurst {
			t.Errorf("%d made-up URLs at once logged %d not-found lines, want %d", flood, got, failLogBurst)
		}
		time.Sleep(5 * time.Second)
		h.eng.Serve(ctx, Request{Path: "/t/after"})
		synctest.Wait()
		if got := len(logs.lines(notFound)); got != failLogBurst+1 {
			t.Errorf("after 5s: %d not-found lines, want %d", got, failLogBurst+1)
		}
		sum := logs.lines("not-found first renders not logged")
		if len(sum) != 1 {
			t.Fatalf("summary lines: %q, want 1", sum)
		}
		if want := fmt.Sprintf("count=%d", flood-failLogBurst); !strings.Contains(sum[0], want) {
			t.Errorf("summary %q, want %s", sum[0], want)
		}
		if !strings.Contains(sum[0], "in_the_last=5s") {
			t.Errorf("summary %q, want in_the_last=5s", sum[0])
		}
		// A failure is not a not-found: it is logged on its own limit.
		if got := len(logs.lines("regeneration failed")); got != 0 {
			t.Errorf("%d failure lines, want 0", got)
		}
	})
}
