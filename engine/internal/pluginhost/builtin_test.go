package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kilnhq/kiln/plugins/kv"
	"github.com/kilnhq/kiln/plugins/markdown"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// The built-in plugins as real processes, through the host client.

// importDoc is a JSON object of n posts.
func importDoc(n int) string {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range n {
		if i > 0 {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, `"post:%05d": {"slug":"%05d","title":"Post %d","content":"%s"}`, i, i, i, strings.Repeat("lorem ", 40))
	}
	sb.WriteString("}")
	return sb.String()
}

// TestKVProcess: Put through the Writer, the event arrives through Watch,
// and Import works over gRPC.
func TestKVProcess(t *testing.T) {
	c := start(t, "kv", fmt.Sprintf(`{"dir":%q}`, t.TempDir()))
	ctx := context.Background()
	from, err := c.Put(ctx, "seed", []byte(`1`))
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, c, from)
	rev, err := c.Put(ctx, "post:hello-world", []byte(`{"title":"Hello ISR!"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(w.next(t)), fmt.Sprintf(`post:hello-world={"title":"Hello ISR!"}@%d`, rev); got != want {
		t.Errorf("event = %s, want %s", got, want)
	}
	drev, err := c.Delete(ctx, "post:hello-world")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(w.next(t)), fmt.Sprintf("post:hello-world-@%d", drev); got != want {
		t.Errorf("event = %s, want %s", got, want)
	}
	n, err := kv.Import(ctx, c, strings.NewReader(importDoc(100)))
	if err != nil || n != 100 {
		t.Fatalf("import over gRPC: n = %d, err = %v", n, err)
	}
	if got := listPages(t, c, "post:", 30, true); len(got) != 4 || len(got[3]) != 10 {
		t.Errorf("reverse pages over gRPC: %d pages", len(got))
	}
	if it, found, err := c.Get(ctx, "post:00042"); err != nil || !found || it.Revision == 0 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
}

// blogDir copies the markdown plugin's testdata/blog into a temp folder.
func blogDir(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "..", "plugins", "markdown", "testdata", "blog")
	dir := t.TempDir()
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, de.Name(), string(b))
	}
	return dir
}

// writeFile replaces a file the way editors do: temp file, then rename.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, ".edit.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// TestMarkdownProcess edits a file under a real plugin process and
// receives the change through Watch.
func TestMarkdownProcess(t *testing.T) {
	dir := blogDir(t)
	c := start(t, "markdown", fmt.Sprintf(`{"dir":%q}`, dir))
	if got, want := c.Capabilities(), (plugin.Capabilities{Watch: true}); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	w := watch(t, c, 0)
	if got, want := describe(w.next(t)), "bookmark@3"; got != want {
		t.Fatalf("first event = %s, want %s", got, want)
	}
	writeFile(t, dir, "hello-world.md", "---\ntitle: Hello ISR!\n---\n")
	ev := w.next(t)
	var p markdown.Post
	if err := json.Unmarshal(ev.Value, &p); err != nil || ev.Key != "post:hello-world" || ev.Revision != 4 || p.Title != "Hello ISR!" {
		t.Errorf("event = %s (%v), want post:hello-world at 4 titled Hello ISR!", describe(ev), err)
	}
	if got := listPages(t, c, "post:", 2, true); len(got) != 2 || got[0][0] != "post:preview" {
		t.Errorf("reverse pages over gRPC = %q", got)
	}
	if it, found, err := c.Get(context.Background(), "post:hello-world"); err != nil || !found || it.Revision != 4 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
}

const testDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testSchema creates a private schema with a posts table and drops it when
// the test ends. It skips when PostgreSQL is not reachable, unless CI is
// set. It returns the admin connection and the schema's name.
func testSchema(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testDSN+"&application_name=kiln_test_admin")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL not reachable: %v", err)
		}
		t.Skipf("PostgreSQL not reachable on 127.0.0.1:5432: %v", err)
	}
	schema := fmt.Sprintf("kiln_test_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE SCHEMA %s; CREATE TABLE %[1]s.posts (slug text PRIMARY KEY, doc jsonb, title text)`, schema)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	return admin, schema
}

// TestPostgresProcess: an UPDATE in the database arrives as an event
// through Watch, and a config error crosses the process boundary as a
// diagnostic.
func TestPostgresProcess(t *testing.T) {
	admin, schema := testSchema(t)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	c := start(t, "postgres", fmt.Sprintf(`{"dsn":%q,"table":"%s.posts","key_column":"slug","value_column":"title","key_prefix":"post:"}`, testDSN, schema))
	exec(`INSERT INTO ` + schema + `.posts VALUES ('hello-world', '{}', 'T')`)
	w := watch(t, c, 0)
	if got, want := describe(w.next(t)), "bookmark@1"; got != want {
		t.Fatalf("first event = %s, want %s", got, want)
	}
	exec(`UPDATE ` + schema + `.posts SET title = 'Hello ISR!' WHERE slug = 'hello-world'`)
	if got, want := describe(w.next(t)), "post:hello-world=Hello ISR!@2"; got != want {
		t.Errorf("event = %s, want %s", got, want)
	}
	if it, found, err := c.Get(ctx, "post:hello-world"); err != nil || !found || string(it.Value) != "Hello ISR!" || it.Revision != 2 {
		t.Errorf("get over gRPC = %+v, %v, %v", it, found, err)
	}
	bad, err := dial(t, "postgres", VersionedPlugins())
	if err != nil {
		t.Fatal(err)
	}
	cfg := `{"dsn":"` + testDSN + `","table":"no_such_table_kiln","key_column":"k"}`
	if ds := bad.Configure(ctx, []byte(cfg)); !ds.HasErrors() || ds[0].Attribute != "table" {
		t.Errorf("diagnostics over gRPC = %v, want an error on table", ds)
	}
}

// BenchmarkKVImport10kProcess imports 10,000 keys through a real plugin
// process over gRPC, as `kiln data import` does while the engine runs.
func BenchmarkKVImport10kProcess(b *testing.B) {
	doc := importDoc(10000)
	for range b.N {
		c := start(b, "kv", fmt.Sprintf(`{"dir":%q}`, b.TempDir()))
		if _, err := kv.Import(context.Background(), c, strings.NewReader(doc)); err != nil {
			b.Fatal(err)
		}
	}
}
