package isr

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/store"
)

func TestClassify(t *testing.T) {
	gen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		revalidate time.Duration
		expire     time.Duration
		marked     bool
		at         time.Duration // after generation
		want       State
	}{
		{"never stale", 0, 0, false, 1000 * time.Hour, Fresh},
		{"fresh", 10 * time.Second, 0, false, 9 * time.Second, Fresh},
		{"stale at revalidate", 10 * time.Second, 0, false, 10 * time.Second, Stale},
		{"stale long after, no expire", 10 * time.Second, 0, false, 1000 * time.Hour, Stale},
		{"stale before expire", 10 * time.Second, time.Minute, false, 59 * time.Second, Stale},
		{"expired", 10 * time.Second, time.Minute, false, time.Minute, Expired},
		{"marked stale while fresh", 10 * time.Second, 0, true, time.Second, Stale},
		{"marked, never-stale page", 0, 0, true, time.Second, Stale},
		{"marked and expired", 10 * time.Second, time.Minute, true, 2 * time.Minute, Expired},
		{"generated in the future", 10 * time.Second, 0, false, -time.Hour, Fresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &store.Page{Generated: gen, Revalidate: tt.revalidate, Expire: tt.expire, StaleMarked: tt.marked}
			if got := Classify(p, gen.Add(tt.at)); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLifetime pins the Cache-Control numbers of every kind of page: the
// whole lifetime from generation, never what is left of it.
func TestLifetime(t *testing.T) {
	tests := []struct {
		name               string
		revalidate, expire time.Duration
		marked             bool
		wantMaxAge         int64
		wantSWR            int64
	}{
		{"never stale", 0, 0, false, year, -1},
		{"revalidate", 10 * time.Second, 0, false, 10, year},
		{"revalidate and expire", 10 * time.Second, time.Minute, false, 10, 50},
		{"expire only", 0, time.Minute, false, 60, -1},
		{"marked", 10 * time.Second, 0, true, 0, year},
		{"marked with expire", 10 * time.Second, time.Minute, true, 0, 60},
	}
	for _, tt := range tests {
		p := &store.Page{Revalidate: tt.revalidate, Expire: tt.expire, StaleMarked: tt.marked}
		if maxAge, swr := lifetime(p); maxAge != tt.wantMaxAge || swr != tt.wantSWR {
			t.Errorf("%s: lifetime = %d, %d; want %d, %d", tt.name, maxAge, swr, tt.wantMaxAge, tt.wantSWR)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"post:*", "post:hello", true},
		{"post:*", "post:", true},
		{"post:*", "page:hello", false},
		{"*:post:*", "blog:post:a", true},
		{"*", "", true},
		{"**", "x", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"ab*ba", "aba", false},
		{"ab*ba", "abba", true},
		{"*a*a*a*a*a*b", strings.Repeat("a", 80), false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.key); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

// globRef is a backtracking reference Glob is fuzzed against.
func globRef(pattern, key string) bool {
	if pattern == "" {
		return key == ""
	}
	if pattern[0] == '*' {
		for i := 0; i <= len(key); i++ {
			if globRef(pattern[1:], key[i:]) {
				return true
			}
		}
		return false
	}
	return key != "" && key[0] == pattern[0] && globRef(pattern[1:], key[1:])
}

func FuzzGlob(f *testing.F) {
	f.Add("post:*", "post:a")
	f.Add("*a*b", "xxaxxb")
	f.Add("ab*ba", "aba")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if strings.Count(pattern, "*") > 6 || len(key) > 40 {
			return // keep the reference's backtracking bounded
		}
		if got, want := Glob(pattern, key), globRef(pattern, key); got != want {
			t.Fatalf("Glob(%q, %q) = %v, reference %v", pattern, key, got, want)
		}
	})
}

// BenchmarkGlobWorstCase is the pattern that took over a second per
// event per rule with the backtracking Glob.
func BenchmarkGlobWorstCase(b *testing.B) {
	key := strings.Repeat("a", 80)
	for b.Loop() {
		Glob("*a*a*a*a*a*b", key)
	}
}

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

// TestNextBatch checks how a batch closes: a change with nothing behind
// it is a batch of one, and changes waiting behind it join it.
func TestNextBatch(t *testing.T) {
	change := func(k string) datasource.Change { return datasource.Change{Source: "s", Key: k} }
	tests := []struct {
		name       string
		queued     []datasource.Change // in the channel before nextBatch runs
		close      bool
		wantKeys   string
		wantOK     bool
		wantPaused bool
	}{
		{"lone edit", []datasource.Change{change("a")}, false, "a", true, true},
		{"changes waiting join", []datasource.Change{change("a"), change("b"), change("c")}, false, "a,b,c", true, true},
		{"closed after one", []datasource.Change{change("a")}, true, "a", false, true},
		{"closed", nil, true, "", false, true},
	}
	e := &Engine{clock: SystemClock()}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := make(chan datasource.Change, 8)
			for _, c := range tt.queued {
				ch <- c
			}
			if tt.close {
				close(ch)
			}
			batch, ok, paused := e.nextBatch(context.Background(), ch, false)
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

// TestSettles checks when a batch ends a burst: a pause closes the stream
// only behind a small batch, so a loaded machine's pauses inside an import
// do not end its burst (the home page of a 10,000-post import regenerated
// three times under -race when any pause settled it).
func TestSettles(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		ok     bool
		paused bool
		want   bool
	}{
		{"a lone edit", 1, true, true, true},
		{"a small batch closed by a pause", burstMin - 1, true, true, true},
		{"an empty wait in a burst", 0, true, true, true},
		{"a large batch closed by a pause", burstMin, true, true, false},
		{"a batch closed by maxBatchWait", 3, true, false, false},
		{"a batch closed by maxBatch", maxBatch, true, false, false},
		{"the channel closed", maxBatch, false, false, true},
	}
	for _, tt := range tests {
		if got := settles(tt.n, tt.ok, tt.paused); got != tt.want {
			t.Errorf("%s: settles(%d, %v, %v) = %v, want %v", tt.name, tt.n, tt.ok, tt.paused, got, tt.want)
		}
	}
}

func TestSafeRedirect(t *testing.T) {
	for loc, want := range map[string]bool{
		"/posts/a":               true,
		"https://example.com/x":  true,
		"http://example.com":     true,
		"//evil.example":         false,
		"javascript:alert(1)":    false,
		"JavaScript:alert(1)":    false,
		"data:text/html,hi":      false,
		"https:///nohost":        false,
		"/a\r\nSet-Cookie: x=1":  false,
		"mailto:someone@example": false,
	} {
		if got := safeRedirect(loc); got != want {
			t.Errorf("safeRedirect(%q) = %v, want %v", loc, got, want)
		}
	}
}

// TestFailLog: a burst of failures logs failLogBurst lines, then one per
// failLogEvery, and the next line says how many were dropped.
func TestFailLog(t *testing.T) {
	var l failLog
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logged := 0
	for i := 0; i < 1000; i++ {
		if ok, _ := l.allow(t0); ok {
			logged++
		}
	}
	if logged != failLogBurst {
		t.Errorf("a burst of 1000 at once logged %d lines, want %d", logged, failLogBurst)
	}
	ok, dropped := l.allow(t0.Add(failLogEvery))
	if !ok || dropped != 1000-failLogBurst {
		t.Errorf("a second later: logged %v, dropped %d; want true, %d", ok, dropped, 1000-failLogBurst)
	}
}
