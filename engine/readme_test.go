package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs the curl steps of the README's ISR story
// against the real engine serving the example blog, and checks each
// command's output is what the README shows.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("serves the blog and waits out its revalidate")
	}
	for _, tool := range []string{"curl", "sed", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install %s)", tool, tool)
		}
	}
	repo, _ := filepath.Abs("..")
	steps := readmeSteps(t, filepath.Join(repo, "README.md"), "## The ISR story")
	if len(steps) < 8 {
		t.Fatalf("found %d walkthrough steps in README.md; the parser or the README changed", len(steps))
	}
	dir := blogCopy(t, repo)
	k := startKiln(t, kilnBinary(t), dir)
	host := strings.TrimPrefix(k.base, "http://")
	for _, s := range steps {
		cmd := exec.Command("sh", "-c", strings.ReplaceAll(s.cmd, "localhost:3000", host))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		got := strings.TrimRight(strings.ReplaceAll(string(out), "\r", ""), "\n")
		if got != s.want {
			t.Fatalf("README step\n  $ %s\ngot:\n%s\nwant:\n%s\n(err: %v)", s.cmd, got, s.want, err)
		}
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
