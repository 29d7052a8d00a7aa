package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
	"github.com/kilnhq/kiln/sdk/plugin"
)

const testDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDB is one test's private schema on the local server.
type testDB struct {
	admin  *pgx.Conn
	schema string
	dsn    string // for the plugin; its application_name is the schema name
}

// newTestDB creates a uniquely named schema with a posts table and drops it
// when the test ends. It skips when PostgreSQL is not reachable, unless CI
// is set.
func newTestDB(t testing.TB) *testDB {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testDSN+"&application_name=kiln_test_admin")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL not reachable: %v", err)
		}
		t.Skipf("PostgreSQL not reachable on 127.0.0.1:5432 (%v); start it (user postgres, trust auth, database test) to run this test", err)
	}
	db := &testDB{admin: admin, schema: fmt.Sprintf("kiln_test_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))}
	db.dsn = testDSN + "&application_name=" + db.schema
	db.exec(t, fmt.Sprintf(`CREATE SCHEMA %s; CREATE TABLE %[1]s.posts (slug text PRIMARY KEY, doc jsonb, title text)`, db.schema))
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+db.schema+" CASCADE")
		admin.Close(ctx)
	})
	return db
}

func (db *testDB) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.admin.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// config returns the plugin config for the posts table with extra JSON
// attributes appended.
func (db *testDB) config(extra string) string {
	return fmt.Sprintf(`{"dsn":%q,"table":"%s.posts","key_column":"slug"%s}`, db.dsn, db.schema, extra)
}

func configure(t testing.TB, config string) *source {
	t.Helper()
	return plugintest.Configure(t, New().(*source), config)
}

func (db *testDB) insert(t testing.TB, slugs ...string) {
	t.Helper()
	for _, slug := range slugs {
		db.exec(t, fmt.Sprintf(`INSERT INTO %s.posts VALUES ($1, $2, $3)`, db.schema), slug, fmt.Sprintf(`{"slug":%q}`, slug), "T "+slug)
	}
}

func TestGetList(t *testing.T) {
	db := newTestDB(t)
	s := configure(t, db.config(`,"value_column":"doc","key_prefix":"post:"`))
	db.insert(t, "b2", "a", "b1", "c", "b3")
	ctx := context.Background()

	it, found, err := s.Get(ctx, "post:a")
	if err != nil || !found {
		t.Fatalf("get = %v, %v", found, err)
	}
	if got, want := it, (plugin.Item{Key: "post:a", Value: []byte(`{"slug": "a"}`), Revision: 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("get = %+v (%s), want %+v", got, got.Value, want)
	}
	for _, key := range []string{"post:zz", "a", ""} {
		if _, found, err := s.Get(ctx, key); found || err != nil {
			t.Errorf("get %q = %v, %v; want missing", key, found, err)
		}
	}

	tests := []struct {
		name    string
		prefix  string
		limit   int
		reverse bool
		want    [][]string
	}{
		{"all", "", 10, false, [][]string{{"post:a", "post:b1", "post:b2", "post:b3", "post:c"}}},
		{"part of the key prefix", "po", 10, false, [][]string{{"post:a", "post:b1", "post:b2", "post:b3", "post:c"}}},
		{"prefix pages", "post:b", 2, false, [][]string{{"post:b1", "post:b2"}, {"post:b3"}}},
		{"exact pages", "post:b", 3, false, [][]string{{"post:b1", "post:b2", "post:b3"}}},
		{"reverse pages", "post:b", 2, true, [][]string{{"post:b3", "post:b2"}, {"post:b1"}}},
		{"reverse all", "", 3, true, [][]string{{"post:c", "post:b3", "post:b2"}, {"post:b1", "post:a"}}},
		{"other prefix", "page:", 10, false, [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plugintest.ListPages(t, s, tt.prefix, tt.limit, tt.reverse); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pages = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := s.List(ctx, plugin.ListRequest{Cursor: "bad!"}); err == nil {
		t.Error("invalid cursor accepted")
	}
}

func TestWholeRow(t *testing.T) {
	db := newTestDB(t)
	s := configure(t, db.config(""))
	db.insert(t, "a")
	it, _, err := s.Get(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	if err := json.Unmarshal(it.Value, &row); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"slug": "a", "doc": map[string]any{"slug": "a"}, "title": "T a"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
}

// change is an event with its value as a string, for comparisons.
type change struct {
	Rev     uint64
	Key     string
	Value   string
	Deleted bool
}

// nextChange waits for the next event.
func nextChange(t testing.TB, w *plugintest.Watcher) change {
	t.Helper()
	ev := w.Next(t)
	return change{ev.Revision, ev.Key, string(ev.Value), ev.Deleted}
}

func TestWatchChanges(t *testing.T) {
	db := newTestDB(t)
	s := configure(t, db.config(`,"value_column":"title","key_prefix":"post:"`))
	db.insert(t, "a", "b") // revs 1, 2
	w := plugintest.Watch(t, s, 0)
	if got, want := w.Next(t), (plugin.Event{Revision: 2, Bookmark: true}); !reflect.DeepEqual(got, want) {
		t.Fatalf("first event = %+v, want %+v", got, want)
	}
	posts := db.schema + ".posts"
	steps := []struct {
		name string
		sql  string
		want []change
	}{
		{"update", `UPDATE ` + posts + ` SET title = 'Hello ISR!' WHERE slug = 'a'`, []change{{3, "post:a", `Hello ISR!`, false}}},
		{"no-op update then insert", `UPDATE ` + posts + ` SET title = title; INSERT INTO ` + posts + ` VALUES ('c', NULL, 'C')`,
			[]change{{4, "post:c", `C`, false}}},
		{"delete", `DELETE FROM ` + posts + ` WHERE slug = 'b'`, []change{{5, "post:b", "", true}}},
		{"key change", `UPDATE ` + posts + ` SET slug = 'a2' WHERE slug = 'a'`,
			[]change{{6, "post:a", "", true}, {7, "post:a2", `Hello ISR!`, false}}},
		{"null value", `UPDATE ` + posts + ` SET title = NULL WHERE slug = 'c'`, []change{{8, "post:c", `null`, false}}},
	}
	for _, st := range steps {
		db.exec(t, st.sql)
		for _, want := range st.want {
			if got := nextChange(t, w); got != want {
				t.Fatalf("%s: event = %+v, want %+v", st.name, got, want)
			}
		}
	}
}

// TestWatchResume is a plugin restart: a new source resumes from a
// revision and gets the latest change of every key after it.
func TestWatchResume(t *testing.T) {
	db := newTestDB(t)
	cfg := db.config(`,"value_column":"title"`)
	s := configure(t, cfg)
	db.insert(t, "a", "b", "c") // 1, 2, 3
	s.Close()
	posts := db.schema + ".posts"
	db.exec(t, `UPDATE `+posts+` SET title = 'a1' WHERE slug = 'a'`) // 4
	db.exec(t, `UPDATE `+posts+` SET title = 'a2' WHERE slug = 'a'`) // 5
	db.exec(t, `DELETE FROM `+posts+` WHERE slug = 'c'`)             // 6

	s = configure(t, cfg)
	w := plugintest.Watch(t, s, 1)
	for _, want := range []change{{2, "b", "T b", false}, {5, "a", "a2", false}, {6, "c", "", true}} {
		if got := nextChange(t, w); got != want {
			t.Errorf("event = %+v, want %+v", got, want)
		}
	}
	it, _, _ := s.Get(context.Background(), "a")
	if got, want := it.Revision, uint64(5); got != want {
		t.Errorf("item revision = %d, want %d", got, want)
	}
	w2 := plugintest.Watch(t, s, 100) // the host saw a change log that is gone
	if got, want := nextChange(t, w2), (change{2, "b", "T b", false}); got != want {
		t.Errorf("host ahead: first event = %+v, want %+v", got, want)
	}
}

// TestReconnect ends the plugin's connections from the server side; the
// watch reconnects and delivers changes made meanwhile and after.
func TestReconnect(t *testing.T) {
	db := newTestDB(t)
	s := configure(t, db.config(`,"value_column":"title"`))
	db.insert(t, "a")
	w := plugintest.Watch(t, s, 0)
	if ev := w.Next(t); !ev.Bookmark {
		t.Fatalf("first event = %+v, want a bookmark", ev)
	}
	posts := db.schema + ".posts"
	for i := range 3 {
		var n int
		err := db.admin.QueryRow(context.Background(),
			`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, db.schema).Scan(&n)
		if err != nil || n == 0 {
			t.Fatalf("terminated %d backends: %v", n, err)
		}
		title := fmt.Sprintf("after drop %d", i)
		db.exec(t, `UPDATE `+posts+` SET title = $1 WHERE slug = 'a'`, title)
		if got, want := nextChange(t, w), (change{uint64(2 + i), "a", title, false}); got != want {
			t.Fatalf("round %d: event = %+v, want %+v", i, got, want)
		}
		if it, found, err := s.Get(context.Background(), "a"); err != nil || !found || string(it.Value) != title {
			t.Fatalf("round %d: get after drop = %s, %v, %v", i, it.Value, found, err)
		}
	}
}

// TestHammer runs concurrent writing transactions against a watcher:
// revisions must strictly increase and the watcher must end with the
// table's final state.
func TestHammer(t *testing.T) {
	if testing.Short() {
		t.Skip("hammer")
	}
	db := newTestDB(t)
	s := configure(t, db.config(`,"value_column":"title"`))
	w := plugintest.Watch(t, s, 0)
	w.Next(t) // bookmark
	const writers, perWriter = 4, 25
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(context.Background(), testDSN)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(context.Background())
			for j := range perWriter {
				_, err := conn.Exec(context.Background(), `INSERT INTO `+db.schema+`.posts VALUES ($1, NULL, $2)
					ON CONFLICT (slug) DO UPDATE SET title = excluded.title`, fmt.Sprintf("k%d", j%5), fmt.Sprintf("%d-%d", i, j))
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var final int64
	db.admin.QueryRow(context.Background(), `SELECT max(rev) FROM `+db.schema+`.kiln_changes`).Scan(&final)
	state := map[string]string{}
	for last := uint64(0); last < uint64(final); {
		c := nextChange(t, w)
		if c.Rev <= last {
			t.Fatalf("revision %d after %d", c.Rev, last)
		}
		last, state[c.Key] = c.Rev, c.Value
	}
	for k, v := range state {
		if it, _, _ := s.Get(context.Background(), k); string(it.Value) != v {
			t.Errorf("watcher has %s=%s, table has %s", k, v, it.Value)
		}
	}
}

func TestConfigure(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, fmt.Sprintf(`CREATE VIEW %s.recent AS SELECT * FROM %[1]s.posts`, db.schema))
	tests := []struct {
		name      string
		config    string
		wantAttrs []string
	}{
		{"missing everything", `{}`, []string{"dsn", "table", "key_column"}},
		{"bad dsn", `{"dsn":"postgres://nobody@127.0.0.1:1/x?connect_timeout=1","table":"t","key_column":"k"}`, []string{"dsn"}},
		{"no such table", fmt.Sprintf(`{"dsn":%q,"table":"%s.nope","key_column":"slug"}`, db.dsn, db.schema), []string{"table"}},
		{"bad columns", fmt.Sprintf(`{"dsn":%q,"table":"%s.posts","key_column":"id","value_column":"body"}`, db.dsn, db.schema), []string{"key_column", "value_column"}},
		{"view with triggers", fmt.Sprintf(`{"dsn":%q,"table":"%s.recent","key_column":"slug"}`, db.dsn, db.schema), []string{"install_triggers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New().(*source)
			defer s.Close()
			var attrs []string
			for _, d := range s.Configure(context.Background(), []byte(tt.config)) {
				if d.Severity == plugin.SeverityError {
					attrs = append(attrs, d.Attribute)
				}
			}
			if !reflect.DeepEqual(attrs, tt.wantAttrs) {
				t.Errorf("error attributes = %q, want %q", attrs, tt.wantAttrs)
			}
		})
	}
}

// TestView reads a view without triggers: readable, not watched.
func TestView(t *testing.T) {
	db := newTestDB(t)
	db.exec(t, fmt.Sprintf(`CREATE VIEW %s.recent AS SELECT slug, title FROM %[1]s.posts`, db.schema))
	db.exec(t, fmt.Sprintf(`INSERT INTO %s.posts VALUES ('a', NULL, 'A')`, db.schema))
	s := New().(*source)
	defer s.Close()
	ds := s.Configure(context.Background(), []byte(fmt.Sprintf(`{"dsn":%q,"table":"%s.recent","key_column":"slug","install_triggers":false}`, db.dsn, db.schema)))
	if ds.HasErrors() || len(ds) != 1 || ds[0].Summary != "changes are not watched" {
		t.Fatalf("diagnostics = %v, want one warning", ds)
	}
	it, found, err := s.Get(context.Background(), "a")
	if err != nil || !found || string(it.Value) != `{"slug":"a","title":"A"}` {
		t.Errorf("get = %s, %v, %v", it.Value, found, err)
	}
}

func TestInstallSQLQuoting(t *testing.T) {
	got := InstallSQL(`my"schema`, "posts", "it's")
	for _, want := range []string{`"my""schema".kiln_changes`, `"my""schema"."posts"`, `kiln_record_change('it''s')`} {
		if !strings.Contains(got, want) {
			t.Errorf("install SQL lacks %s", want)
		}
	}
}

func FuzzCursor(f *testing.F) {
	f.Add("post:a")
	f.Add("")
	f.Add("k!!")
	f.Fuzz(func(t *testing.T, key string) {
		if got, err := decodeCursor(encodeCursor(key)); err != nil || got != key {
			t.Errorf("decode(encode(%q)) = %q, %v", key, got, err)
		}
		_, _ = decodeCursor(key)
	})
}

// TestInstallSQLGolden keeps the install SQL and the README's copy of it
// in step with the code.
func TestInstallSQLGolden(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "install.golden.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := InstallSQL("public", "posts", "slug"), string(golden); got != want {
		t.Errorf("InstallSQL =\n%s\nwant\n%s", got, want)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimSpace(string(golden))) {
		t.Error("README.md's install SQL differs from testdata/install.golden.sql")
	}
}
