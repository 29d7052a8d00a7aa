package isr

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBurstSchedule walks batches of a change stream: a path runs at its
// first change, later changes in a burst wait for it to settle or for
// maxDefer, and revisions are committed only when nothing waits.
func TestBurstSchedule(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name       string
		at         time.Duration
		paths      string // space-separated eager paths of the batch
		settled    bool
		wantRun    string
		wantCommit bool
	}{
		{"first batch runs everything", 0, "/ /a", false, "/ /a", true},
		{"a path seen in the burst waits", 2 * time.Second, "/ /b", false, "/b", false},
		{"new paths still run", 4 * time.Second, "/c", false, "/c", false},
		{"maxDefer lets waiting paths through", maxDefer, "/a", false, "/ /a", true},
		{"then they wait again", maxDefer + time.Second, "/", false, "", false},
		{"the burst settles", maxDefer + 2*time.Second, "", true, "/", true},
		{"a burst right after waits for a path that just ran", maxDefer + 3*time.Second, "/ /d", false, "/d", false},
		{"a settled batch runs at once", maxDefer + 4*time.Second, "/", true, "/", true},
	}
	var b burst
	for i, s := range steps {
		eager := map[string]string{}
		for _, p := range strings.Fields(s.paths) {
			eager[p] = "event"
		}
		run, commit := b.schedule(eager, map[string]uint64{"src": uint64(i + 1)}, s.settled, t0.Add(s.at))
		if got := strings.Join(slices.Sorted(maps.Keys(run)), " "); got != s.wantRun || commit != s.wantCommit {
			t.Errorf("%s: run %q, commit %v; want %q, %v", s.name, got, commit, s.wantRun, s.wantCommit)
		}
	}
	if got, want := b.revs["src"], uint64(len(steps)); got != want {
		t.Errorf("revision to commit = %d, want %d", got, want)
	}
}

// TestLoneEdit checks a settled batch outside a burst runs at once.
func TestLoneEdit(t *testing.T) {
	var b burst
	run, commit := b.schedule(map[string]string{"/": "event"}, nil, true, time.Now())
	if len(run) != 1 || !commit {
		t.Errorf("run %v, commit %v; want / and true", run, commit)
	}
}

// TestNextBatch checks how a batch closes: a change with nothing behind
// it is a batch of one, and changes waiting behind it join it.
func TestNextBatch(t *testing.T) {
	change := func(k string) Change { return Change{Source: "s", Key: k} }
	tests := []struct {
		name       string
		queued     []Change // in the channel before nextBatch runs
		close      bool
		wantKeys   string
		wantOK     bool
		wantPaused bool
	}{
		{"lone edit", []Change{change("a")}, false, "a", true, true},
		{"changes waiting join", []Change{change("a"), change("b"), change("c")}, false, "a,b,c", true, true},
		{"closed after one", []Change{change("a")}, true, "a", false, true},
		{"closed", nil, true, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := make(chan Change, 8)
			for _, c := range tt.queued {
				ch <- c
			}
			if tt.close {
				close(ch)
			}
			batch, ok, paused := nextBatch(context.Background(), ch, false)
			var keys []string
			for _, c := range batch {
				keys = append(keys, c.Key)
			}
			if got := strings.Join(keys, ","); got != tt.wantKeys || ok != tt.wantOK || paused != tt.wantPaused {
				t.Errorf("nextBatch = %q, ok %v, paused %v; want %q, %v, %v", got, ok, paused, tt.wantKeys, tt.wantOK, tt.wantPaused)
			}
		})
	}
}
