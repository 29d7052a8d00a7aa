package store

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// testEnv is a store location that can be reopened: a directory on the
// real disk or a path on one in-memory file system.
type testEnv struct {
	dir string
	fs  vfs.FS
}

// eachFS runs fn against real Pebble on t.TempDir() and on vfs.NewMem().
func eachFS(t *testing.T, fn func(t *testing.T, env testEnv)) {
	t.Run("disk", func(t *testing.T) { fn(t, testEnv{dir: filepath.Join(t.TempDir(), "db")}) })
	t.Run("mem", func(t *testing.T) { fn(t, testEnv{dir: "db", fs: vfs.NewMem()}) })
}

func (e testEnv) open(t testing.TB, opts Options) *pebbleStore {
	t.Helper()
	opts.FS = e.fs
	s, err := Open(e.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*pebbleStore)
}

// page is a test page whose content is determined by path and version.
func page(path string, v int) *Page {
	return &Page{
		Path: path, Route: "/r", Kind: KindPage, Status: 200,
		Headers:   []Header{{"Content-Type", "text/html"}, {"X-Version", fmt.Sprint(v)}},
		Body:      []byte(fmt.Sprintf("<p>%s v%d</p>", path, v)),
		ETag:      fmt.Sprintf(`"%d"`, v),
		Generated: t0.Add(time.Duration(v) * time.Second), Revalidate: time.Minute,
	}
}

func withIndex(p *Page, keys, prefixes, tags []string) *Page {
	p.Keys, p.Prefixes, p.Tags = keys, prefixes, tags
	return p
}

func mustPut(t testing.TB, s Store, pages ...*Page) {
	t.Helper()
	for _, p := range pages {
		if err := s.Put(p, PutOptions{Build: true}); err != nil {
			t.Fatalf("put %s: %v", p.Path, err)
		}
	}
}

// samePage compares pages by their encodings, which normalize times,
// leaving out the version the store assigns.
func samePage(a, b *Page) bool {
	a2, b2 := *a, *b
	a2.Version, b2.Version = 0, 0
	return a.Path == b.Path && bytes.Equal(encodePage(nil, &a2), encodePage(nil, &b2))
}

func TestPutGet(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		for _, p := range samplePages() {
			mustPut(t, s, p)
		}
		for _, want := range samplePages() {
			got, err := s.Get(want.Path)
			if err != nil || !samePage(got, want) {
				t.Errorf("Get(%s) = %+v, %v; want %+v", want.Path, got, err, want)
			}
		}
		if _, err := s.Get("/nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(/nope) err = %v, want ErrNotFound", err)
		}
		if got, want := s.Stats().Pages, int64(3); got != want {
			t.Errorf("Pages = %d, want %d", got, want)
		}
		checkConsistent(t, s)
	})
}

func TestPutRejectsBadStrings(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
	for _, p := range []*Page{
		{Path: ""},
		{Path: "/a\x00b"},
		withIndex(page("/a", 1), []string{"k\x00"}, nil, nil),
		withIndex(page("/a", 1), nil, []string{"\x00"}, nil),
		withIndex(page("/a", 1), nil, nil, []string{"t\x00"}),
	} {
		if err := s.Put(p, PutOptions{Build: true}); err == nil {
			t.Errorf("Put(%q keys %q) succeeded, want error", p.Path, p.Keys)
		}
	}
}

func indexFixture() []*Page {
	return []*Page{
		withIndex(page("/a", 1), []string{"posts/1", "site"}, nil, []string{"post"}),
		withIndex(page("/b", 1), []string{"posts/2", "site"}, nil, []string{"post"}),
		withIndex(page("/", 1), []string{"site"}, []string{"posts/"}, []string{"home"}),
		withIndex(page("/all", 1), nil, []string{""}, nil),
		withIndex(page("/p1", 1), nil, []string{"posts/1", "posts/1"}, []string{"post", "post"}),
	}
}

func TestIndexes(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		mustPut(t, s, indexFixture()...)
		testIndexQueries(t, s)
		checkConsistent(t, s)
	})
}

func testIndexQueries(t *testing.T, s *pebbleStore) {
	t.Helper()
	keys := []struct {
		key  string
		want []string
	}{
		{"posts/1", []string{"/", "/a", "/all", "/p1"}},
		{"posts/10", []string{"/", "/all", "/p1"}},
		{"posts/2", []string{"/", "/all", "/b"}},
		{"site", []string{"/", "/a", "/all", "/b"}},
		{"post", []string{"/all"}},
		{"", []string{"/all"}},
	}
	for _, tt := range keys {
		if got, err := s.PathsForKey(tt.key); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("PathsForKey(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
	tags := []struct {
		tag  string
		want []string
	}{
		{"post", []string{"/a", "/b", "/p1"}},
		{"home", []string{"/"}},
		{"po", nil},
	}
	for _, tt := range tags {
		if got, err := s.PathsForTag(tt.tag); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("PathsForTag(%q) = %q, %v; want %q", tt.tag, got, err, tt.want)
		}
	}
}

func TestPutReplacesIndexEntries(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		mustPut(t, s, withIndex(page("/a", 1), []string{"old", "both"}, []string{"old/"}, []string{"old"}))
		mustPut(t, s, withIndex(page("/a", 2), []string{"new", "both"}, []string{"new/"}, []string{"new"}))
		tests := []struct {
			name string
			got  func() ([]string, error)
			want []string
		}{
			{"key old", func() ([]string, error) { return s.PathsForKey("old") }, nil},
			{"key old/x", func() ([]string, error) { return s.PathsForKey("old/x") }, nil},
			{"tag old", func() ([]string, error) { return s.PathsForTag("old") }, nil},
			{"key new", func() ([]string, error) { return s.PathsForKey("new") }, []string{"/a"}},
			{"key both", func() ([]string, error) { return s.PathsForKey("both") }, []string{"/a"}},
			{"key new/x", func() ([]string, error) { return s.PathsForKey("new/x") }, []string{"/a"}},
			{"tag new", func() ([]string, error) { return s.PathsForTag("new") }, []string{"/a"}},
		}
		for _, tt := range tests {
			if got, err := tt.got(); err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
			}
		}
		if got, want := s.Stats().Pages, int64(1); got != want {
			t.Errorf("Pages = %d, want %d", got, want)
		}
		checkConsistent(t, s)
	})
}

func TestPutNewer(t *testing.T) {
	tests := []struct {
		name           string
		stored, put    int // versions; the Generated time grows with the version
		wantErr        error
		wantStoredBody int
	}{
		{"older refused", 5, 4, ErrNewer, 5},
		{"equal overwrites", 5, 5, nil, 5},
		{"newer overwrites", 5, 6, nil, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
			mustPut(t, s, page("/a", tt.stored))
			put := page("/a", tt.put)
			put.ETag = "put"
			if err := s.Put(put, PutOptions{Build: true}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put err = %v, want %v", err, tt.wantErr)
			}
			got, _ := s.Get("/a")
			if want := page("/a", tt.wantStoredBody); !bytes.Equal(got.Body, want.Body) {
				t.Errorf("stored body %q, want %q", got.Body, want.Body)
			}
			if got, want := got.ETag == "put", tt.wantErr == nil; got != want {
				t.Errorf("put page stored = %v, want %v", got, want)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		mustPut(t, s, indexFixture()...)
		for _, path := range []string{"/", "/all", "/nope"} {
			if err := s.Delete(path, false); err != nil {
				t.Fatalf("Delete(%s): %v", path, err)
			}
		}
		if _, err := s.Get("/"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete err = %v, want ErrNotFound", err)
		}
		if got, want := mustPaths(t, s), []string{"/a", "/b", "/p1"}; !slices.Equal(got, want) {
			t.Errorf("Paths = %q, want %q", got, want)
		}
		if got, want := s.Stats().Pages, int64(3); got != want {
			t.Errorf("Pages = %d, want %d", got, want)
		}
		if got, _ := s.PathsForKey("posts/2"); !slices.Equal(got, []string{"/b"}) {
			t.Errorf("PathsForKey(posts/2) = %q, want [/b]", got)
		}
		checkConsistent(t, s)
	})
}

func mustPaths(t *testing.T, s Store) []string {
	t.Helper()
	var paths []string
	if err := s.Paths(func(p string) bool { paths = append(paths, p); return true }); err != nil {
		t.Fatal(err)
	}
	return paths
}

func TestPathsStops(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
	mustPut(t, s, page("/a", 1), page("/b", 1), page("/c", 1))
	var got []string
	s.Paths(func(p string) bool { got = append(got, p); return len(got) < 2 })
	if want := []string{"/a", "/b"}; !slices.Equal(got, want) {
		t.Errorf("Paths = %q, want %q", got, want)
	}
}

func TestMarkStale(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		mustPut(t, s, withIndex(page("/a", 1), []string{"k"}, nil, nil))
		before, _ := s.Get("/a")
		if err := s.MarkStale("/a"); err != nil {
			t.Fatal(err)
		}
		if before.StaleMarked {
			t.Error("MarkStale mutated the shared cached page")
		}
		after, _ := s.Get("/a")
		if !after.StaleMarked || !bytes.Equal(after.Body, before.Body) {
			t.Errorf("after MarkStale: %+v", after)
		}
		if err := s.MarkStale("/nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkStale(/nope) err = %v, want ErrNotFound", err)
		}
		s.Close()
		s = env.open(t, Options{})
		if got, _ := s.Get("/a"); !got.StaleMarked {
			t.Error("StaleMarked lost on reopen")
		}
		if got, _ := s.PathsForKey("k"); !slices.Equal(got, []string{"/a"}) {
			t.Errorf("PathsForKey(k) = %q after MarkStale", got)
		}
		checkConsistent(t, s)
	})
}

func TestHistoryBounds(t *testing.T) {
	tests := []struct {
		name      string
		keep, add int
		wantFirst int
	}{
		{"under", 5, 3, 0},
		{"exact", 3, 3, 0},
		{"over", 3, 7, 4},
		{"one", 1, 4, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HistoryLen: tt.keep})
			for i := range tt.add {
				e := Event{At: t0.Add(time.Duration(i)), Reason: fmt.Sprint(i), Outcome: "regenerated"}
				if err := s.AddHistory("/a", e); err != nil {
					t.Fatal(err)
				}
				s.AddHistory("/a/b", Event{Reason: "other"}) // a neighbouring path
			}
			got, err := s.History("/a")
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, e := range got {
				reasons = append(reasons, e.Reason)
			}
			var want []string
			for i := tt.wantFirst; i < tt.add; i++ {
				want = append(want, fmt.Sprint(i))
			}
			if !slices.Equal(reasons, want) {
				t.Errorf("History reasons = %q, want %q", reasons, want)
			}
		})
	}
}

func TestQueue(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		steps := []struct {
			name string
			do   func() error
			want []Job
		}{
			{"empty", func() error { return nil }, nil},
			{"enqueue", func() error {
				return s.Enqueue(Job{"/a", "stale", t0.Add(2)}, Job{"/b", "event", t0.Add(1)})
			}, []Job{{"/b", "event", t0.Add(1)}, {"/a", "stale", t0.Add(2)}}},
			{"idempotent", func() error {
				return s.Enqueue(Job{"/a", "event", t0.Add(9)}, Job{"/c", "build", t0})
			}, []Job{{"/c", "build", t0}, {"/b", "event", t0.Add(1)}, {"/a", "stale", t0.Add(2)}}},
			{"dequeue", func() error { return s.Dequeue("/b") },
				[]Job{{"/c", "build", t0}, {"/a", "stale", t0.Add(2)}}},
			{"dequeue absent", func() error { return s.Dequeue("/zz") },
				[]Job{{"/c", "build", t0}, {"/a", "stale", t0.Add(2)}}},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			got, err := s.Pending()
			if err != nil || !sameJobs(got, st.want) {
				t.Errorf("%s: Pending = %+v, %v; want %+v", st.name, got, err, st.want)
			}
		}
		s.Close()
		s = env.open(t, Options{})
		if got, want := mustPending(t, s), []Job{{"/c", "build", t0}, {"/a", "stale", t0.Add(2)}}; !sameJobs(got, want) {
			t.Errorf("after reopen: Pending = %+v, want %+v", got, want)
		}
	})
}

func mustPending(t *testing.T, s Store) []Job {
	t.Helper()
	jobs, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func sameJobs(a, b []Job) bool {
	return slices.EqualFunc(a, b, func(x, y Job) bool {
		return x.Path == y.Path && x.Reason == y.Reason && x.Queued.Equal(y.Queued)
	})
}

func TestMeta(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		if _, err := s.GetMeta("rev/pg"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetMeta absent err = %v, want ErrNotFound", err)
		}
		for _, v := range []string{"1", "42", ""} {
			if err := s.SetMeta("rev/pg", []byte(v)); err != nil {
				t.Fatal(err)
			}
			if got, err := s.GetMeta("rev/pg"); err != nil || string(got) != v {
				t.Errorf("GetMeta = %q, %v; want %q", got, err, v)
			}
		}
		s.SetMeta("rev/pg", []byte("7"))
		s.Close()
		s = env.open(t, Options{})
		if got, _ := s.GetMeta("rev/pg"); string(got) != "7" {
			t.Errorf("GetMeta after reopen = %q, want 7", got)
		}
	})
}

func TestRestart(t *testing.T) {
	eachFS(t, func(t *testing.T, env testEnv) {
		s := env.open(t, Options{})
		want := append(indexFixture(), samplePages()[1:]...) // [0] lists every key
		mustPut(t, s, want...)
		s.AddHistory("/a", Event{At: t0, Reason: "build", Outcome: "regenerated"})
		s.Close()

		s = env.open(t, Options{})
		for _, w := range want {
			got, err := s.Get(w.Path)
			if err != nil || !samePage(got, w) || !got.Generated.Equal(w.Generated) {
				t.Errorf("Get(%s) after reopen = %+v, %v; want %+v", w.Path, got, err, w)
			}
		}
		if got, want := s.Stats().Pages, int64(len(want)); got != want {
			t.Errorf("Pages = %d, want %d", got, want)
		}
		if h, _ := s.History("/a"); len(h) != 1 || !h[0].At.Equal(t0) {
			t.Errorf("History after reopen = %+v", h)
		}
		testIndexQueries(t, s)
		checkConsistent(t, s)
	})
}

func TestHotCacheEviction(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 16 * 10_000})
	body := bytes.Repeat([]byte("x"), 4000)
	for i := range 100 {
		p := page(fmt.Sprintf("/p%03d", i), 1)
		p.Body = body
		mustPut(t, s, p)
	}
	st := s.Stats()
	if st.HotBytes > 16*10_000 || st.HotEntries == 0 || st.HotEntries >= 100 {
		t.Errorf("after 100 puts of ~4KB into 160KB: HotBytes %d, HotEntries %d", st.HotBytes, st.HotEntries)
	}
	for i := range 100 { // every page still readable; evicted ones come from disk
		if p, err := s.Get(fmt.Sprintf("/p%03d", i)); err != nil || len(p.Body) != 4000 {
			t.Fatalf("Get /p%03d: %v", i, err)
		}
	}
	st2 := s.Stats()
	if hits, misses := st2.HotHits-st.HotHits, st2.HotMisses-st.HotMisses; hits+misses != 100 || misses == 0 {
		t.Errorf("100 Gets counted %d hits, %d misses", hits, misses)
	}
	if st2.HotBytes > 16*10_000 {
		t.Errorf("HotBytes %d over budget", st2.HotBytes)
	}
}

func TestHotCacheLRU(t *testing.T) {
	c := newHotCache(3*(hotOverhead+10), 1)
	for _, path := range []string{"/aaaaaaaaa", "/bbbbbbbbb", "/ccccccccc"} {
		c.set(&Page{Path: path})
	}
	c.get("/aaaaaaaaa") // now most recent; /bbbbbbbbb is the oldest
	c.set(&Page{Path: "/ddddddddd"})
	for path, want := range map[string]bool{"/aaaaaaaaa": true, "/bbbbbbbbb": false, "/ccccccccc": true, "/ddddddddd": true} {
		if got := c.peek(path) != nil; got != want {
			t.Errorf("cached %s = %v, want %v", path, got, want)
		}
	}
	c.set(&Page{Path: "/big", Body: make([]byte, 4*hotOverhead)})
	if c.peek("/big") != nil {
		t.Error("page larger than the cache was cached")
	}
}

func TestClosed(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
	mustPut(t, s, page("/a", 1))
	s.Close()
	calls := map[string]error{
		"Get":   func() error { _, err := s.Get("/a"); return err }(),
		"Put":   s.Put(page("/a", 2), PutOptions{Build: true}),
		"Keys":  func() error { _, err := s.PathsForKey("k"); return err }(),
		"Meta":  s.SetMeta("a", nil),
		"Queue": s.Enqueue(Job{Path: "/a"}),
		"Close": s.Close(),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

// checkConsistent verifies that the side indexes, the prefix set, the
// page counter and the hot cache all agree exactly with the page records.
func checkConsistent(t testing.TB, s *pebbleStore) {
	t.Helper()
	want := map[string]bool{}
	refs := map[string]int{}
	var pages int64
	err := s.scan(nsPage, func(k, v []byte) bool {
		p, err := decodePage(string(k[len(nsPage):]), v)
		if err != nil {
			t.Errorf("record %q: %v", k, err)
			return true
		}
		pages++
		want[string(key(nsList, p.Path))] = true
		indexEntries(p, func(k []byte) { want[string(k)] = true })
		for _, x := range uniq(p.Prefixes) {
			refs[x]++
		}
		if c := s.hot.peek(p.Path); c != nil && !samePage(c, p) {
			t.Errorf("hot cache has a different %s than disk", p.Path)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, ns := range []string{nsList, nsKey, nsPrefix, nsTag} {
		s.scan(ns, func(k, _ []byte) bool { got[string(k)] = true; return true })
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("index entries:\n got %q\nwant %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if !reflect.DeepEqual(s.prefixRefs, refs) {
		t.Errorf("prefix set %v, want %v", s.prefixRefs, refs)
	}
	if got := s.pages.Load(); got != pages {
		t.Errorf("page counter %d, records %d", got, pages)
	}
}

// TestCloseDuringPaths: Close waits for a running Paths, and calls made
// from its callback meanwhile fail with ErrClosed instead of deadlocking.
func TestCloseDuringPaths(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
	mustPut(t, s, page("/a", 1), page("/b", 1))
	closed := make(chan error)
	var putErr error
	err := s.Paths(func(string) bool {
		go func() { closed <- s.Close() }()
		for !s.closed.Load() {
			runtime.Gosched()
		}
		putErr = s.Put(page("/c", 1), PutOptions{Build: true})
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(putErr, ErrClosed) {
		t.Errorf("Put from the callback during Close: err = %v, want ErrClosed", putErr)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestPutUnsynced checks an unsynced page is served, indexed and kept
// across a reopen once Sync (or Close) returned.
func TestPutUnsynced(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Page{Path: "/a", Route: "/:x", Kind: KindPage, Status: 200, Body: []byte("a"), Generated: t0,
		Keys: []string{"k"}, Tags: []string{"t"}}
	if err := s.Put(p, PutOptions{Build: true, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != ErrClosed {
		t.Errorf("Sync after Close = %v, want ErrClosed", err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get("/a")
	if err != nil || string(got.Body) != "a" {
		t.Fatalf("Get after reopen = %v, %v; want the page", got, err)
	}
	for _, q := range []struct {
		name string
		f    func() ([]string, error)
	}{
		{"key", func() ([]string, error) { return s.PathsForKey("k") }},
		{"tag", func() ([]string, error) { return s.PathsForTag("t") }},
	} {
		if paths, err := q.f(); err != nil || len(paths) != 1 || paths[0] != "/a" {
			t.Errorf("paths for %s = %v, %v; want [/a]", q.name, paths, err)
		}
	}
}

// TestUnsyncedSyncedWithinASecond checks, on a file system that forgets
// what was not synced (a power loss), that a NoSync page is made durable
// by the store's own sync within syncEvery, and that one written just
// before the loss is lost whole, not torn. It runs on synctest's clock.
func TestUnsyncedSyncedWithinASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := vfs.NewCrashableMem()
		s, err := Open("", Options{FS: fs}) // "": a subdirectory's creation would itself need a sync
		if err != nil {
			t.Fatal(err)
		}
		page := func(path string) *Page {
			return &Page{Path: path, Route: "/:x", Kind: KindPage, Status: 200, Body: []byte(path), Generated: t0}
		}
		if err := s.Put(page("/a"), PutOptions{Build: true, NoSync: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(syncEvery + syncEvery/2)
		synctest.Wait()
		if err := s.Put(page("/b"), PutOptions{Build: true, NoSync: true}); err != nil {
			t.Fatal(err)
		}
		lost := fs.CrashClone(vfs.CrashCloneCfg{}) // the power goes: only what was synced is left
		s.Close()
		s, err = Open("", Options{FS: lost})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, tt := range []struct {
			path string
			want bool
		}{{"/a", true}, {"/b", false}} {
			p, err := s.Get(tt.path)
			if got := err == nil && string(p.Body) == tt.path; got != tt.want {
				t.Errorf("%s after the loss: present %v (err %v), want %v", tt.path, got, err, tt.want)
			}
		}
	})
}

// TestPutVersions checks Put's conditions: a page replaces only the
// version it was rendered from, a build only an older page, and the store
// counts versions.
func TestPutVersions(t *testing.T) {
	s := memStore(t)
	page := func(gen time.Duration) *Page {
		return &Page{Path: "/a", Kind: KindPage, Status: 200, Body: []byte("x"), Generated: t0.Add(gen)}
	}
	steps := []struct {
		name        string
		page        *Page
		opts        PutOptions
		wantErr     error
		wantVersion uint64
	}{
		{"first page replaces nothing", page(0), PutOptions{Replaces: 0}, nil, 1},
		{"a page rendered from nothing conflicts", page(time.Second), PutOptions{Replaces: 0}, ErrConflict, 1},
		{"a page rendered from v1 replaces it", page(2 * time.Second), PutOptions{Replaces: 1}, nil, 2},
		{"a stale base conflicts", page(3 * time.Second), PutOptions{Replaces: 1}, ErrConflict, 2},
		{"an older generation time still replaces its base", page(-time.Hour), PutOptions{Replaces: 2}, nil, 3},
		{"a build does not overwrite a newer page", page(-2 * time.Hour), PutOptions{Build: true}, ErrNewer, 3},
		{"a build overwrites an older page", page(time.Hour), PutOptions{Build: true}, nil, 4},
	}
	for _, st := range steps {
		if err := s.Put(st.page, st.opts); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		got, err := s.Get("/a")
		if err != nil || got.Version != st.wantVersion {
			t.Fatalf("%s: version %d, %v; want %d", st.name, got.Version, err, st.wantVersion)
		}
	}
}

// TestPutAndDeleteDequeue checks a page and the removal of its job are
// one batch.
func TestPutAndDeleteDequeue(t *testing.T) {
	s := memStore(t)
	for _, p := range []string{"/a", "/b", "/c"} {
		if err := s.Enqueue(Job{Path: p, Reason: "event", Queued: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(&Page{Path: "/a", Kind: KindPage, Status: 200, Generated: t0}, PutOptions{Dequeue: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(&Page{Path: "/b", Kind: KindPage, Status: 200, Generated: t0}, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("/c", true); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Path != "/b" {
		t.Errorf("pending %+v, want only /b's", jobs)
	}
}

func memStore(t *testing.T) Store {
	t.Helper()
	s, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestOpenRemovesV1Store checks that the files of an older Kiln's page
// store (Pebble v1, in the store directory itself) are removed and a new
// store opens, leaving the directory's other files alone.
func TestOpenRemovesV1Store(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("store/build", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CURRENT", "LOCK", "MANIFEST-000001", "OPTIONS-000003", "000002.log", "000004.sst", "marker.format-version.000001.013", "build/post.wasm"} {
		f, err := fs.Create("store/"+name, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("v1"))
		f.Close()
	}
	s, err := Open("store", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, _ := fs.List("store")
	slices.Sort(names)
	if got, want := strings.Join(names, " "), "build pages"; got != want {
		t.Errorf("store holds %q, want %q", got, want)
	}
}

// TestSetVariants checks that variants land only on the version they were
// computed from, keep the version and the page's other state, get their
// ETags, and reach the disk as well as the hot cache.
func TestSetVariants(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open("", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	p := &Page{Path: "/a", Kind: KindPage, Status: 200, Body: []byte("x"), ETag: `"e"`, Generated: t0}
	if err := s.Put(p, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkStale("/a"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		path    string
		version uint64
		wantErr error
	}{
		{"another version conflicts", "/a", 2, ErrConflict},
		{"an absent page is not found", "/b", 1, ErrNotFound},
		{"the stored version takes them", "/a", 1, nil},
	}
	for _, st := range steps {
		if err := s.SetVariants(st.path, st.version, []byte("gz"), []byte("br")); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
	}
	check := func(when string) {
		got, err := s.Get("/a")
		if err != nil {
			t.Fatal(err)
		}
		_, gzTag, _ := got.Variant(Gzip)
		_, brTag, _ := got.Variant(Brotli)
		if got.Version != 1 || !got.StaleMarked || string(got.Gzip) != "gz" || string(got.Brotli) != "br" ||
			gzTag != `"e-gzip"` || brTag != `"e-br"` {
			t.Errorf("%s: version %d, stale %v, gzip %q %s, brotli %q %s", when, got.Version, got.StaleMarked,
				got.Gzip, gzTag, got.Brotli, brTag)
		}
	}
	check("cached")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open("", Options{FS: fs}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("reopened")
}

// TestPutReplica stores another node's page with its own Version, and
// never over a higher one.
func TestPutReplica(t *testing.T) {
	tests := []struct {
		name        string
		stored, put uint64 // versions
		wantErr     error
		wantVersion uint64
	}{
		{"none stored", 0, 7, nil, 7},
		{"lower refused", 5, 4, ErrNewer, 5},
		{"equal overwrites", 5, 5, nil, 5},
		{"higher jumps", 5, 9, nil, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{})
			for range tt.stored {
				cur, _ := s.Get("/a")
				var v uint64
				if cur != nil {
					v = cur.Version
				}
				if err := s.Put(page("/a", 1), PutOptions{Replaces: v}); err != nil {
					t.Fatal(err)
				}
			}
			put := page("/a", 2)
			put.Version, put.Node = tt.put, "b"
			if err := s.Put(put, PutOptions{Replica: true}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put err = %v, want %v", err, tt.wantErr)
			}
			got, _ := s.Get("/a")
			if got.Version != tt.wantVersion {
				t.Errorf("stored Version %d, want %d", got.Version, tt.wantVersion)
			}
			if got, want := got.Node == "b", tt.wantErr == nil; got != want {
				t.Errorf("replica stored = %v, want %v", got, want)
			}
		})
	}
}
