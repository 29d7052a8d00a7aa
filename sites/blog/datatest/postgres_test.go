package datatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgDSN is the local test server (trust auth), as in postgres.hcl.
const pgDSN = "postgres://postgres@127.0.0.1:5432/test"

// pgSchema creates a schema of its own for the test, loads the sample
// data into blog_items there with sites/blog/postgres.sql, and returns
// the schema's name and a connection whose search_path is it.
func pgSchema(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, pgDSN)
	if err != nil {
		skipOrFail(t, "PostgreSQL at 127.0.0.1:5432 (user postgres, db test) is not reachable: %v", err)
	}
	schema := fmt.Sprintf("kiln_datatest_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(context.Background())
	})
	conn, err := pgx.Connect(ctx, pgDSN+"?search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	loadSQL(t, conn)
	return schema, conn
}

var sqlComment = regexp.MustCompile(`--[^\n]*`)

// loadSQL runs sites/blog/postgres.sql with the sample data.json bound to
// its psql variable :'data'.
func loadSQL(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(repo, "sites", "blog", "postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(repo, "sites", "blog", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(sqlComment.ReplaceAllString(string(script), ""), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		var args []any
		if strings.Contains(stmt, ":'data'") {
			stmt, args = strings.ReplaceAll(stmt, ":'data'", "$1"), []any{string(data)}
		}
		if _, err := conn.Exec(context.Background(), stmt, args...); err != nil {
			t.Fatalf("postgres.sql: %v\n%s", err, stmt)
		}
	}
}

// TestPostgresUpdate serves the blog of sites/blog/postgres.hcl and
// updates a post's row: the post page and the home page are served fresh,
// and nothing else regenerates.
func TestPostgresUpdate(t *testing.T) {
	schema, conn := pgSchema(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "sites/blog/postgres.hcl", rewrite{`table\s*=\s*"blog_items"`, fmt.Sprintf("table = %q", schema+".blog_items")})
	b := openBlog(t, cfg)
	b.warm()
	mark := time.Now()
	_, err := conn.Exec(context.Background(),
		`UPDATE blog_items SET value = jsonb_set(value, '{title}', '"Hello ISR!"') WHERE key = 'post:hello-world'`)
	if err != nil {
		t.Fatal(err)
	}
	b.served("/posts/hello-world", 200, "Hello ISR!")
	b.served("/", 200, "Hello ISR!")
	b.idle()
	b.regenerated(mark, map[string]int{"/": 1, "/posts/hello-world": 1})
}
