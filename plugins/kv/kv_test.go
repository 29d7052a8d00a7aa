package kv

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/sdk/plugin"
)

func memStore(t testing.TB) *Store {
	t.Helper()
	s, err := openFS("/db", vfs.NewMem())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustPut(t testing.TB, w plugin.Writer, key, value string) uint64 {
	t.Helper()
	rev, err := w.Put(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func mustDelete(t testing.TB, w plugin.Writer, key string) uint64 {
	t.Helper()
	rev, err := w.Delete(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestGetPutDelete(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		do      func() uint64
		key     string
		wantRev uint64
		want    string // "" means missing
	}{
		{"put", func() uint64 { return mustPut(t, s, "post:a", `{"t":1}`) }, "post:a", 1, `{"t":1}`},
		{"overwrite", func() uint64 { return mustPut(t, s, "post:a", `{"t":2}`) }, "post:a", 2, `{"t":2}`},
		{"other key", func() uint64 { return mustPut(t, s, "post:b", `{}`) }, "post:b", 3, `{}`},
		{"delete", func() uint64 { return mustDelete(t, s, "post:a") }, "post:a", 4, ""},
		{"delete missing is a no-op", func() uint64 { return mustDelete(t, s, "post:zz") }, "post:zz", 4, ""},
		{"put after delete", func() uint64 { return mustPut(t, s, "post:a", `"back"`) }, "post:a", 5, `"back"`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if got := st.do(); got != st.wantRev {
				t.Errorf("revision = %d, want %d", got, st.wantRev)
			}
			it, found, err := s.Get(ctx, st.key)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := found, st.want != ""; got != want {
				t.Fatalf("found = %v, want %v", got, want)
			}
			if got, want := string(it.Value), st.want; found && got != want {
				t.Errorf("value = %q, want %q", got, want)
			}
		})
	}
	if _, err := s.Put(ctx, "", nil); err == nil {
		t.Error("put of empty key succeeded")
	}
}

func TestList(t *testing.T) {
	s := memStore(t)
	for _, k := range []string{"a", "b/1", "b/2", "b/3", "b\xff", "c"} {
		mustPut(t, s, k, `1`)
	}
	tests := []struct {
		name    string
		prefix  string
		limit   int
		reverse bool
		want    [][]string // keys per page
	}{
		{"all", "", 10, false, [][]string{{"a", "b/1", "b/2", "b/3", "b\xff", "c"}}},
		{"prefix pages", "b/", 2, false, [][]string{{"b/1", "b/2"}, {"b/3"}}},
		{"prefix exact pages", "b/", 3, false, [][]string{{"b/1", "b/2", "b/3"}}},
		{"reverse pages", "b/", 2, true, [][]string{{"b/3", "b/2"}, {"b/1"}}},
		{"reverse all", "", 4, true, [][]string{{"c", "b\xff", "b/3", "b/2"}, {"b/1", "a"}}},
		{"high byte prefix", "b\xff", 5, false, [][]string{{"b\xff"}}},
		{"no match", "zz", 5, false, [][]string{nil}},
		{"one per page", "b", 1, false, [][]string{{"b/1"}, {"b/2"}, {"b/3"}, {"b\xff"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plugintest.ListPages(t, s, tt.prefix, tt.limit, tt.reverse); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pages = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestListBadCursor(t *testing.T) {
	s := memStore(t)
	if _, err := s.List(context.Background(), plugin.ListRequest{Cursor: "nope!"}); err == nil {
		t.Error("invalid cursor accepted")
	}
}

// next waits for n events.
func next(t testing.TB, w *plugintest.Watcher, n int) []plugin.Event {
	t.Helper()
	got := make([]plugin.Event, n)
	for i := range got {
		got[i] = w.Next(t)
	}
	return got
}

// until collects events until one has at least revision rev.
func until(t testing.TB, w *plugintest.Watcher, rev uint64) []plugin.Event {
	t.Helper()
	var got []plugin.Event
	for len(got) == 0 || got[len(got)-1].Revision < rev {
		got = append(got, w.Next(t))
	}
	return got
}

func put(rev uint64, key, value string) plugin.Event {
	return plugin.Event{Revision: rev, Key: key, Value: []byte(value)}
}

func del(rev uint64, key string) plugin.Event {
	return plugin.Event{Revision: rev, Key: key, Deleted: true}
}

func TestWatchFrom(t *testing.T) {
	s := memStore(t)
	mustPut(t, s, "a", `1`)    // 1
	mustPut(t, s, "b", `1`)    // 2
	mustPut(t, s, "a", `2`)    // 3, compacts 1
	mustDelete(t, s, "b")      // 4, compacts 2
	mustPut(t, s, "c", `1`)    // 5
	mustPut(t, s, "gone", `1`) // 6
	mustDelete(t, s, "gone")   // 7
	tests := []struct {
		name string
		from uint64
		want []plugin.Event
	}{
		{"from 1", 1, []plugin.Event{put(3, "a", `2`), del(4, "b"), put(5, "c", `1`), del(7, "gone")}},
		{"from 3", 3, []plugin.Event{del(4, "b"), put(5, "c", `1`), del(7, "gone")}},
		{"from 6", 6, []plugin.Event{del(7, "gone")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := plugintest.Watch(t, s, tt.from)
			if got := next(t, w, len(tt.want)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("live only", func(t *testing.T) {
		w := plugintest.Watch(t, s, 0)
		if got, want := next(t, w, 1)[0], (plugin.Event{Revision: 7, Bookmark: true}); !reflect.DeepEqual(got, want) {
			t.Fatalf("first event = %+v, want %+v", got, want)
		}
		rev := mustPut(t, s, "live", `1`)
		if got, want := next(t, w, 1)[0], put(rev, "live", `1`); !reflect.DeepEqual(got, want) {
			t.Errorf("event = %+v, want %+v", got, want)
		}
	})
	t.Run("host ahead replays everything", func(t *testing.T) {
		w := plugintest.Watch(t, s, 100)
		got := next(t, w, 4)
		if want := []plugin.Event{put(3, "a", `2`), del(4, "b"), put(5, "c", `1`), del(7, "gone")}; !reflect.DeepEqual(got, want) {
			t.Errorf("events = %+v, want %+v", got, want)
		}
	})
}

func TestWatchLive(t *testing.T) {
	s := memStore(t)
	mustPut(t, s, "old", `0`)
	w := plugintest.Watch(t, s, s.Revision())
	want := []plugin.Event{put(2, "k", `1`), put(3, "k", `2`), del(4, "k")}
	mustPut(t, s, "k", `1`)
	mustPut(t, s, "k", `2`)
	mustDelete(t, s, "k")
	got := until(t, w, 4)
	// A watcher that fell behind sees only the latest change of k; one
	// that kept up sees all three. Either way: a subsequence of want
	// ending on the delete.
	if !isSubsequence(got, want) || !reflect.DeepEqual(got[len(got)-1], want[2]) {
		t.Errorf("events = %+v, want a subsequence of %+v ending on the delete", got, want)
	}
}

func isSubsequence(got, want []plugin.Event) bool {
	i := 0
	for _, ev := range want {
		if i < len(got) && reflect.DeepEqual(got[i], ev) {
			i++
		}
	}
	return i == len(got)
}

func TestRestartResume(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "post:a", `"a1"`)
	mustPut(t, s, "post:b", `"b1"`)
	mustDelete(t, s, "post:a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), "post:b"); err != ErrClosed {
		t.Errorf("get after close: err = %v, want %v", err, ErrClosed)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.Revision(), uint64(3); got != want {
		t.Errorf("revision after reopen = %d, want %d", got, want)
	}
	if got, want := mustPut(t, s, "post:c", `"c1"`), uint64(4); got != want {
		t.Errorf("next revision = %d, want %d", got, want)
	}
	w := plugintest.Watch(t, s, 1)
	want := []plugin.Event{put(2, "post:b", `"b1"`), del(3, "post:a"), put(4, "post:c", `"c1"`)}
	if got := next(t, w, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v, want %+v", got, want)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir); err == nil {
		t.Error("second open of a locked store succeeded")
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		wantAttr string // "" means no error
	}{
		{"ok", fmt.Sprintf(`{"dir":%q}`, t.TempDir()), ""},
		{"missing dir", `{}`, "dir"},
		{"not json", `[`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New().(*Store)
			defer s.Close()
			diags := s.Configure(context.Background(), []byte(tt.config))
			if got, want := diags.HasErrors(), tt.name != "ok"; got != want {
				t.Fatalf("errors = %v (%v), want %v", got, diags, want)
			}
			if len(diags) > 0 && diags[0].Attribute != tt.wantAttr {
				t.Errorf("attribute = %q, want %q", diags[0].Attribute, tt.wantAttr)
			}
		})
	}
}

// TestHammer runs concurrent writers against a watcher: revisions must be
// strictly increasing and the watcher must end with every key's final value.
func TestHammer(t *testing.T) {
	s := memStore(t)
	w := plugintest.Watch(t, s, s.Revision())
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perWriter; j++ {
				mustPut(t, s, fmt.Sprintf("k%d", j%10), fmt.Sprintf(`"%d-%d"`, i, j))
			}
		}()
	}
	wg.Wait()
	final := s.Revision()
	state := map[string]string{}
	var last uint64
	for last < final {
		ev := next(t, w, 1)[0]
		if ev.Bookmark { // the store starts empty, so this watch started "now"
			continue
		}
		if ev.Revision <= last {
			t.Fatalf("revision %d after %d", ev.Revision, last)
		}
		last = ev.Revision
		state[ev.Key] = string(ev.Value)
	}
	for k, v := range state {
		it, _, _ := s.Get(context.Background(), k)
		if string(it.Value) != v {
			t.Errorf("watcher has %s=%s, store has %s", k, v, it.Value)
		}
	}
	if got, want := final, uint64(writers*perWriter); got != want {
		t.Errorf("final revision = %d, want %d", got, want)
	}
}

func TestPutMany(t *testing.T) {
	s := memStore(t)
	mustPut(t, s, "x", `0`)
	rev, err := s.PutMany(context.Background(), []plugin.Item{
		{Key: "a", Value: []byte(`1`)}, {Key: "b", Value: []byte(`1`)}, {Key: "a", Value: []byte(`2`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rev, uint64(4); got != want {
		t.Errorf("revision = %d, want %d", got, want)
	}
	w := plugintest.Watch(t, s, 1)
	if got, want := next(t, w, 2), []plugin.Event{put(3, "b", `1`), put(4, "a", `2`)}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %+v, want %+v", got, want)
	}
	if _, err := s.PutMany(context.Background(), []plugin.Item{{Key: "ok"}, {Key: ""}}); err == nil {
		t.Error("batch with an empty key succeeded")
	}
	if _, found, _ := s.Get(context.Background(), "ok"); found {
		t.Error("a failed batch wrote a key")
	}
}
