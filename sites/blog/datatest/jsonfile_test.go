package datatest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jsonBlog is the blog of the root site.hcl, on a copy of data.json.
type jsonBlog struct {
	*blog
	dataPath string
	data     map[string]json.RawMessage
}

// stored pages of the sample blog once warmed up: every post, the home
// page and a post that does not exist (a stored 404).
var samplePaths = []string{
	"/", "/posts/hello-world", "/posts/preview", "/posts/dynamic-routing",
	"/posts/background-regeneration", "/posts/on-demand-revalidation", "/posts/no-such-post",
}

func openJSONBlog(t *testing.T) *jsonBlog {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repo, "sites", "blog", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	jb := &jsonBlog{dataPath: filepath.Join(dir, "data.json")}
	if err := json.Unmarshal(b, &jb.data); err != nil {
		t.Fatal(err)
	}
	jb.save(t)
	cfg := writeConfig(t, dir, "site.hcl", jsonfileData)
	jb.blog = openBlog(t, cfg)
	return jb
}

// warm stores every sample path and waits for the engine to settle.
func (b *blog) warm() {
	b.t.Helper()
	for _, p := range samplePaths {
		b.stored(p, "</html>")
	}
	b.idle()
}

// save writes data.json atomically (write a temp file, rename), as an
// editor does.
func (jb *jsonBlog) save(t testing.TB) {
	t.Helper()
	b, err := json.MarshalIndent(jb.data, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tmp := jb.dataPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, jb.dataPath); err != nil {
		t.Fatal(err)
	}
}

// setTitle changes a post's title in memory.
func (jb *jsonBlog) setTitle(slug, title string) {
	jb.t.Helper()
	var p map[string]any
	if err := json.Unmarshal(jb.data["post:"+slug], &p); err != nil {
		jb.t.Fatal(err)
	}
	p["title"] = title
	v, err := json.Marshal(p)
	if err != nil {
		jb.t.Fatal(err)
	}
	jb.data["post:"+slug] = v
}

// regenerated checks how often each sample path rendered since mark.
func (b *blog) regenerated(since time.Time, want map[string]int) {
	b.t.Helper()
	got := b.counts(samplePaths, since)
	for _, p := range samplePaths {
		if got[p] != want[p] {
			b.t.Errorf("%s rendered %d times, want %d (all: %v)", p, got[p], want[p], got)
		}
	}
}

// TestEditRegeneratesPostAndHome edits one post's title in data.json: its
// page and the home page are regenerated, once each, and nothing else.
func TestEditRegeneratesPostAndHome(t *testing.T) {
	jb := openJSONBlog(t)
	jb.warm()
	mark := time.Now()
	jb.setTitle("dynamic-routing", "Routing, Edited")
	jb.save(t)
	jb.served("/posts/dynamic-routing", 200, "Routing, Edited")
	jb.served("/", 200, "Routing, Edited")
	jb.idle()
	jb.regenerated(mark, map[string]int{"/": 1, "/posts/dynamic-routing": 1})
}

// TestNewPostOnHome adds a post and its date-index key: it becomes the
// home page's hero and its page is served.
func TestNewPostOnHome(t *testing.T) {
	jb := openJSONBlog(t)
	jb.warm()
	mark := time.Now()
	const slug, date = "brand-new", "2026-03-20T08:00:00Z"
	jb.data["post:"+slug] = json.RawMessage(`{"slug": "brand-new", "title": "A Brand New Post", "date": "` + date + `",
		"author": {"name": "Theo Park", "picture": "authors/theo.svg"}, "excerpt": "Fresh.",
		"coverImage": "covers/preview.svg", "content": "New *content*."}`)
	jb.data["bydate:"+date+":"+slug] = json.RawMessage(strconv.Quote(slug))
	jb.save(t)
	jb.served("/", 200, `href="/posts/brand-new"`)
	if hero := heroOf(jb.get("/").body); !strings.Contains(hero, "A Brand New Post") {
		t.Errorf("hero is not the new post: %q", hero)
	}
	jb.stored("/posts/brand-new", "A Brand New Post")
	jb.idle()
	jb.regenerated(mark, map[string]int{"/": 1})
}

// TestDeletedPostIs404 deletes a post and its index key: its page turns
// into the site's 404 page and the home page drops it.
func TestDeletedPostIs404(t *testing.T) {
	jb := openJSONBlog(t)
	jb.warm()
	if body := jb.get("/").body; !strings.Contains(body, `href="/posts/preview"`) {
		t.Fatal("home does not link the post to delete")
	}
	mark := time.Now()
	delete(jb.data, "post:preview")
	delete(jb.data, "bydate:2026-03-17T14:30:00Z:preview")
	jb.save(t)
	jb.served("/posts/preview", 404, "</html>")
	jb.eventually("home to drop the post", func() bool {
		return !strings.Contains(jb.get("/").body, `href="/posts/preview"`)
	})
	jb.idle()
	jb.regenerated(mark, map[string]int{"/": 1, "/posts/preview": 1})
	if got, want := jb.get("/posts/preview").body, jb.get("/posts/no-such-post").body; got != want {
		t.Errorf("deleted post's page is not the 404 page:\n%s", got)
	}
}

// TestPluginKilled kills the jsonfile plugin process with SIGKILL, edits
// data.json while it is down, and checks that the supervisor restarts it,
// the pages are served meanwhile, and every edit reaches the pages.
func TestPluginKilled(t *testing.T) {
	jb := openJSONBlog(t)
	jb.warm()
	jb.setTitle("hello-world", "Before The Kill")
	jb.save(t)
	jb.served("/posts/hello-world", 200, "Before The Kill")
	pid := jb.pluginPID("jsonfile")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	jb.setTitle("hello-world", "Edited While Down")
	jb.setTitle("preview", "Also Edited While Down")
	jb.save(t)
	if r := jb.get("/"); r.status != 200 {
		t.Errorf("home answered %d while the plugin was down", r.status)
	}
	jb.served("/posts/hello-world", 200, "Edited While Down")
	jb.served("/posts/preview", 200, "Also Edited While Down")
	jb.served("/", 200, "Also Edited While Down")
	if again := jb.pluginPID("jsonfile"); again == pid {
		t.Errorf("plugin pid %d after the kill, want a new process", again)
	}
}

// heroOf returns the home page's hero section.
func heroOf(body string) string {
	i := strings.Index(body, `id="hero-title"`)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+300)]
}

// pluginPID finds the engine's child process that runs
// `kiln plugin NAME`, waiting for it to be (re)started.
func (b *blog) pluginPID(name string) int {
	b.t.Helper()
	var pid int
	b.eventually("the "+name+" plugin process", func() bool {
		pid = findChild(b.t, b.cmd.Process.Pid, "plugin\x00"+name+"\x00")
		return pid != 0
	})
	return pid
}

// findChild returns a live child of process parent whose NUL-separated
// command line contains want, or 0.
func findChild(t testing.TB, parent int, want string) int {
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(parent) + "/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		for _, field := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(field)
			if pid > 0 && running(pid) && strings.Contains(cmdline(pid), want) {
				return pid
			}
		}
	}
	return 0
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return string(b) + "\x00"
}

// running reports whether pid is alive (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return false
}
