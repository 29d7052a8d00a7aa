package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the README's ISR story as a reader would:
// its start command (with the kiln binary for `go run ./engine`), then
// each console step, with `kiln` on the PATH, checking each output is what
// the README shows. It runs the story twice in the same folder: on a first
// start, then over the store the first run left, pausing longer than the
// pages' revalidate between steps, as a person reading would.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("serves the blog twice and waits out its revalidate")
	}
	for _, tool := range []string{"curl", "sed", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("needs %s", tool)
			}
			t.Skipf("needs %s (apt-get install %s)", tool, tool)
		}
	}
	repo, _ := filepath.Abs("..")
	readme := filepath.Join(repo, "README.md")
	start := readmeBlock(t, readme, "## The ISR story", "sh", "go run ./engine")
	steps := readmeSteps(t, readme, "## The ISR story")
	if len(steps) < 8 || !strings.Contains(start, "go run ./engine") {
		t.Fatalf("found %d walkthrough steps and start command %q in README.md; the parser or the README changed", len(steps), start)
	}
	bin := kilnBinary(t)
	dir := blogCopy(t, repo)
	for _, run := range []struct {
		name  string
		pause time.Duration
	}{
		{"first start", 0},
		{"second start over the store, with pauses", 11 * time.Second},
	} {
		t.Run(run.name, func(t *testing.T) {
			addr := freeAddr(t)
			cmd := exec.Command("sh", "-c", strings.Replace(start, "go run ./engine", "exec "+bin+" serve --listen "+addr, 1))
			k := runKiln(t, cmd, dir, addr)
			for i, s := range steps {
				if i > 0 {
					time.Sleep(run.pause) // a person reading; no step may depend on the pace
				}
				runStep(t, s, dir, filepath.Dir(bin), addr)
			}
			k.stop()
		})
	}
}

// runStep runs one console step in dir against the engine at addr, with
// kiln on the PATH.
func runStep(t *testing.T, s step, dir, binDir, addr string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(s.cmd, "localhost:3000", addr))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(filepath.ListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	got := strings.TrimRight(strings.ReplaceAll(string(out), "\r", ""), "\n")
	if got != s.want {
		b, _ := os.ReadFile(filepath.Join(dir, "kiln.log"))
		t.Fatalf("README step\n  $ %s\ngot:\n%s\nwant:\n%s\n(err: %v)\nlog:\n%s", s.cmd, got, s.want, err, b)
	}
}

// readmeBlock returns the first ```lang block of a README section that
// contains want.
func readmeBlock(t *testing.T, file, section, lang, want string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+section)
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	for ok {
		var block string
		if _, block, ok = strings.Cut(rest, "\n```"+lang+"\n"); ok {
			block, rest, _ = strings.Cut(block, "\n```")
			if strings.Contains(block, want) {
				return strings.TrimSpace(block)
			}
		}
	}
	t.Fatalf("no ```%s block with %q in %s of %s", lang, want, section, file)
	return ""
}

// TestReadmeInstall runs the README's command that puts kiln on the PATH,
// and the task that does the same, each into a GOPATH of its own, and
// runs the command they install.
func TestReadmeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kiln twice")
	}
	repo, _ := filepath.Abs("..")
	line := readmeBlock(t, filepath.Join(repo, "README.md"), "## Two commands", "sh", "/bin/kiln")
	for _, tc := range []struct{ name, cmd string }{
		{"README", line},
		{"task", "go tool task install"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gopath := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", tc.cmd)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE="+goEnv("GOMODCACHE"), "GOCACHE="+goEnv("GOCACHE"), "GOFLAGS=-buildvcs=false")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("$ %s: %v\n%s", tc.cmd, err, out)
			}
			out, err := exec.Command(filepath.Join(gopath, "bin", "kiln"), "--version").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "kiln ") {
				t.Fatalf("kiln --version after %q: %v\n%s", tc.cmd, err, out)
			}
		})
	}
}

type step struct{ cmd, want string }

// readmeSteps reads the ```console blocks of one README section: each
// "$ command" line and the output lines after it.
func readmeSteps(t *testing.T, file, section string) []step {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		steps       []step
		in, inBlock bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.HasPrefix(line, section)
		case !in:
		case line == "```console":
			inBlock = true
		case inBlock && line == "```":
			inBlock = false
		case inBlock && strings.HasPrefix(line, "$ "):
			steps = append(steps, step{cmd: strings.TrimPrefix(line, "$ ")})
		case inBlock && len(steps) > 0:
			s := &steps[len(steps)-1]
			if s.want != "" {
				s.want += "\n"
			}
			s.want += line
		}
	}
	return steps
}

// blogCopy lays out the example blog in a temp dir: the root site.hcl
// with the renderers and assets taken from the repository, and a copy of
// the data the walkthrough edits.
func blogCopy(t *testing.T, repo string) string {
	dir := t.TempDir()
	hcl, err := os.ReadFile(filepath.Join(repo, "site.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer(
		`"./sites/blog/renderers/`, `"`+filepath.Join(repo, "sites/blog/renderers")+`/`,
		`"./sites/blog/public"`, `"`+filepath.Join(repo, "sites/blog/public")+`"`,
	).Replace(string(hcl))
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(repo, "sites/blog/data.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "sites/blog"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "sites/blog/data.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
