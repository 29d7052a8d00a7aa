package datatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openKVBlog serves the blog of sites/blog/kv.hcl with the sample data
// imported through the admin API.
func openKVBlog(t testing.TB) *blog {
	t.Helper()
	dir := t.TempDir()
	// Imports go over HTTP here, 10,000 posts at once: past the 1 MiB
	// default admin body cap (`kiln data import` uses the admin socket).
	cfg := writeConfig(t, dir, "sites/blog/kv.hcl", rewrite{`dir\s*=\s*"\.kiln/kv-data"`, `dir = "kv-data"`},
		rewrite{`listen\s*=\s*":3000"`, "listen = \":3000\"\n  max_admin_body = \"64MiB\""})
	b := openBlog(t, cfg)
	sample, err := os.ReadFile(filepath.Join(repo, "sites", "blog", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	b.admin("POST", "/_kiln/data/blog/import", bytes.NewReader(sample))
	b.served("/", 200, "Hello World")
	b.idle()
	return b
}

// generatePosts writes n posts newer than the sample ones, with their
// index keys, as `kiln data import` input, using cmd/genposts.
func generatePosts(t testing.TB, n int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "posts.json")
	cmd := exec.Command(genpostsBinary(t), "-n", fmt.Sprint(n), "-format", "kv-import",
		"-newest", "2027-01-01T00:00:00Z", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genposts: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importResult is what one big import cost.
type importResult struct {
	took         time.Duration // the import request, until it answered
	fresh        time.Duration // until the home page showed the newest post
	homeRenders  int           // regenerations of / it caused
	postsRenders int           // regenerations of a post page it did not touch
	newRenders   int           // renders of an imported post nobody asked for
}

// importPosts imports data through the admin API, waits until the home
// page shows generated-000000, then until the engine has taken in every
// imported key's change event and is idle.
func importPosts(b *blog, data []byte) importResult {
	b.t.Helper()
	var items map[string]json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		b.t.Fatal(err)
	}
	before := b.changesTaken()
	mark := time.Now()
	b.admin("POST", "/_kiln/data/blog/import", bytes.NewReader(data))
	r := importResult{took: time.Since(mark)}
	b.served("/", 200, `href="/posts/generated-000000"`)
	r.fresh = time.Since(mark)
	b.eventually("every change event to be taken in", func() bool { return b.changesTaken() >= before+len(items) })
	b.idle()
	r.homeRenders = b.renders("/", mark)
	r.postsRenders = b.renders("/posts/hello-world", mark)
	r.newRenders = b.renders("/posts/generated-005000", mark)
	return r
}

var changesLine = regexp.MustCompile(`msg="data changed" changes=(\d+)`)

// changesTaken sums the changes of the engine's "data changed" log lines,
// one per batch of change events it has queued regenerations for.
func (b *blog) changesTaken() int {
	data, err := os.ReadFile(filepath.Join(b.dir, "kiln.log"))
	if err != nil {
		b.t.Fatal(err)
	}
	n := 0
	for _, m := range changesLine.FindAllSubmatch(data, -1) {
		c, _ := strconv.Atoi(string(m[1]))
		n += c
	}
	return n
}

// TestImport10000 imports 10,000 generated posts (20,000 keys with the
// date index) into the kv source through the running engine: the home
// page, which lists the index, regenerates at most twice.
func TestImport10000(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 10,000 posts")
	}
	data := generatePosts(t, 10000)
	b := openKVBlog(t)
	r := importPosts(b, data)
	t.Logf("import of 10,000 posts: %s, home fresh after %s, home regenerated %d time(s)", r.took, r.fresh, r.homeRenders)
	for _, line := range strings.Split(b.logTail(), "\n") {
		if strings.Contains(line, "data changed") || strings.Contains(line, "path=/ ") {
			t.Log(line)
		}
	}
	// While a stream goes on, a deferred page still regenerates about once
	// per 10 s (the engine's maxDefer): an import slowed past that by a
	// loaded machine earns one more.
	limit := 2 + int(r.took/(10*time.Second))
	if r.homeRenders < 1 || r.homeRenders > limit {
		t.Errorf("home regenerated %d times, want 1 to %d", r.homeRenders, limit)
	}
	if r.postsRenders != 0 {
		t.Errorf("an untouched post regenerated %d times", r.postsRenders)
	}
	if r.newRenders != 0 {
		t.Errorf("an imported post nobody requested rendered %d times", r.newRenders)
	}
	b.stored("/posts/generated-009999", "</html>")
}
