package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kilnhq/kiln/engine/internal/freeport"
	"github.com/kilnhq/kiln/engine/internal/render"
)

// The command-line tests are txtar scripts in testdata/script: each holds
// a site.hcl, its data and the kiln commands with their expected output.
// The test binary doubles as the kiln binary.
func TestMain(m *testing.M) {
	testscript.Main(cleanupM{m}, map[string]func(){"kiln": kilnMain})
}

// cleanupM removes the kiln binary built for the process tests.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	code := c.m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	return code
}

func kilnMain() { os.Exit(exitCode(run(os.Args[1:]))) }

func TestScripts(t *testing.T) {
	repo, _ := filepath.Abs("..")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("PAGE_WASM", pageWasm(t, repo))
			env.Setenv("GOCACHE", goEnv("GOCACHE"))
			env.Setenv("GOMODCACHE", goEnv("GOMODCACHE"))
			env.Setenv("HOME", os.Getenv("HOME"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"httpget":  cmdHTTPGet,
			"waitfor":  cmdWaitFor,
			"envsubst": cmdEnvSubst,
			"freeport": cmdFreePort,
			"httpwait": cmdHTTPWait,
			"socket":   cmdSocket,
		},
	})
}

// pageWasm builds the server tests' renderer once per run.
func pageWasm(t *testing.T, repo string) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = t.TempDir()
	}
	out := filepath.Join(cache, "kiln-test", "server-page.wasm")
	os.MkdirAll(filepath.Dir(out), 0o755)
	if _, err := render.BuildGo(context.Background(), filepath.Join(repo, "engine/internal/server/testdata/page"), out); err != nil {
		t.Fatalf("build page renderer: %v", err)
	}
	return out
}

// goEnv is a go env variable of the go command the tests run.
func goEnv(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		panic(fmt.Sprintf("go env %s: %v", name, err))
	}
	return strings.TrimSpace(string(out))
}

// httpget URL [Name:Value]... prints the status line, the Kiln-relevant
// headers in order, a blank line, and the body.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: httpget URL [Header:Value]...")
	}
	req, err := http.NewRequest("GET", args[0], nil)
	ts.Check(err)
	req.Header.Set("User-Agent", "Mozilla/5.0 testscript")
	for _, h := range args[1:] {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	resp, err := client.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	var names []string
	for k := range resp.Header {
		switch k {
		case "X-Kiln-Cache", "Cache-Control", "Location", "Content-Type", "Retry-After":
			names = append(names, k)
		}
	}
	sort.Strings(names)
	fmt.Fprintf(ts.Stdout(), "%s\n", resp.Status)
	for _, k := range names {
		fmt.Fprintf(ts.Stdout(), "%s: %s\n", k, resp.Header.Get(k))
	}
	fmt.Fprintf(ts.Stdout(), "\n%s\n", body)
	if neg != (resp.StatusCode >= 400) {
		if neg {
			ts.Fatalf("want an error status, got %s", resp.Status)
		}
		ts.Fatalf("%s", resp.Status)
	}
}

// waitfor URL waits up to 2 minutes for a server to answer at URL.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(args[0])
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no answer at %s: %v", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// envsubst FILE expands $VARS in FILE in place.
func cmdEnvSubst(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		p := ts.MkAbs(f)
		b, err := os.ReadFile(p)
		ts.Check(err)
		ts.Check(os.WriteFile(p, []byte(os.Expand(string(b), ts.Getenv)), 0o644))
	}
}

// freeport NAME sets $NAME to a free TCP port on 127.0.0.1.
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: freeport NAME")
	}
	ts.Setenv(args[0], strconv.Itoa(freeport.Port(ts)))
}

// socket FILE MODE checks that FILE is a unix socket with permissions
// MODE (octal); ! socket FILE checks that there is no file there.
func cmdSocket(ts *testscript.TestScript, neg bool, args []string) {
	fi, err := os.Lstat(ts.MkAbs(args[0]))
	if neg {
		if err == nil {
			ts.Fatalf("%s exists (%s)", args[0], fi.Mode())
		}
		return
	}
	if len(args) != 2 {
		ts.Fatalf("usage: socket FILE MODE")
	}
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != fs.FileMode(want) {
		ts.Fatalf("%s is %s, want a socket with mode %s", args[0], fi.Mode(), fs.FileMode(want))
	}
}

// httpwait URL REGEXP polls URL for up to 3 minutes until its body
// matches REGEXP, then prints the answer as httpget does.
func cmdHTTPWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: httpwait URL REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(3 * time.Minute)
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(args[0])
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if re.Match(body) {
				cmdHTTPGet(ts, resp.StatusCode >= 400, args[:1])
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s never matched %s; last body:\n%s", args[0], args[1], body)
}

// TestCLIReference checks the README's CLI reference against the
// commands: each row names a command, each command has a row, and each
// command is run by a script in testdata/script.
func TestCLIReference(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, ref, _ := strings.Cut(string(b), "\n## CLI reference")
	ref, _, _ = strings.Cut(ref, "\n## ")
	rows := regexp.MustCompile("(?m)^\\| `kiln ([a-z]+)").FindAllStringSubmatch(ref, -1)
	var documented, want []string
	for _, r := range rows {
		if len(documented) == 0 || documented[len(documented)-1] != r[1] { // a command may have several rows
			documented = append(documented, r[1])
		}
	}
	for _, c := range commands {
		if !c.hidden {
			want = append(want, c.name)
		}
	}
	if !slices.Equal(documented, want) {
		t.Errorf("README CLI reference rows = %q, want one per command, in order: %q", documented, want)
	}
	scripts, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range scripts {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, name := range want {
		if !regexp.MustCompile(`(?m)^!? *exec kiln ` + name + `\b`).MatchString(all.String()) {
			t.Errorf("no script in testdata/script runs `kiln %s`", name)
		}
	}
}
