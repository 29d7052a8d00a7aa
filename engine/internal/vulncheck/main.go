// Command vulncheck is the vulnerability step of `task check`: govulncheck
// against a database built from the golang.org/x/vulndb module, which the
// Go module proxy serves, so it works where only the proxy is reachable.
//
// It fails on a vulnerability that the code reaches (govulncheck's symbol
// level) in a required module: bumping that module fixes it. Reached
// vulnerabilities of the standard library are listed without failing:
// they are fixed by a newer Go toolchain, which is the machine's, not the
// module's (see RATIONALE.md, "Tooling").
//
//	go run ./engine/internal/vulncheck [-vulndb VERSION] [packages]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// The pinned tools; the database is the newest vulndb unless -vulndb says.
const (
	govulncheck = "golang.org/x/vuln/cmd/govulncheck@v1.9.0"
	indexdb     = "golang.org/x/vulndb/cmd/indexdb@v0.0.0-20261105234957-e22db6528018"
)

func main() {
	version := flag.String("vulndb", "latest", "the golang.org/x/vulndb `version` to take the database from")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	if err := run(*version, pkgs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(1)
	}
}

func run(version string, pkgs []string, out io.Writer) error {
	db, err := database(version)
	if err != nil {
		return err
	}
	var stdout bytes.Buffer
	cmd := exec.Command("go", append([]string{"run", govulncheck, "-db", "file://" + db, "-format", "json"}, pkgs...)...)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("govulncheck: %w", err)
	}
	r, err := readReport(&stdout)
	if err != nil {
		return err
	}
	return r.print(out)
}

// database builds (once per vulndb version) a govulncheck database from
// the vulndb module's OSV files, in the user cache.
func database(version string) (string, error) {
	var mod struct{ Version, Dir, Error string }
	b, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+version).Output()
	if json.Unmarshal(b, &mod); mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("download golang.org/x/vulndb@%s: %v %s", version, err, mod.Error)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	db := filepath.Join(cache, "kiln-vulndb", mod.Version)
	if _, err := os.Stat(filepath.Join(db, "index", "modules.json")); err == nil {
		return db, nil
	}
	tmp := db + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.Command("go", "run", indexdb, "-vulns", filepath.Join(mod.Dir, "data", "osv"), "-out", tmp)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("index golang.org/x/vulndb@%s: %w", mod.Version, err)
	}
	fmt.Fprintf(os.Stderr, "vulncheck: database from golang.org/x/vulndb@%s\n", mod.Version)
	return db, os.Rename(tmp, db)
}

// report is what the gate needs from govulncheck's JSON stream.
type report struct {
	summaries map[string]string // OSV id -> summary
	modules   map[string]*finding
	stdlib    map[string]*finding
}

type finding struct {
	id, module, version, fixed string
}

// message is one object of govulncheck's -format json stream.
type message struct {
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV   string `json:"osv"`
		Fixed string `json:"fixed_version"`
		Trace []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

// readReport keeps the findings the code reaches: those whose trace
// starts at a function.
func readReport(r io.Reader) (*report, error) {
	rep := &report{summaries: map[string]string{}, modules: map[string]*finding{}, stdlib: map[string]*finding{}}
	dec := json.NewDecoder(r)
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return rep, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read govulncheck output: %w", err)
		}
		if m.OSV != nil {
			rep.summaries[m.OSV.ID] = m.OSV.Summary
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			t := f.Trace[0]
			into := rep.modules
			if t.Module == "stdlib" {
				into = rep.stdlib
			}
			into[f.OSV] = &finding{id: f.OSV, module: t.Module, version: t.Version, fixed: f.Fixed}
		}
	}
}

// print lists the findings and fails on those in required modules.
func (r *report) print(w io.Writer) error {
	for _, f := range sorted(r.stdlib) {
		fmt.Fprintf(w, "vulncheck: warning: %s in the Go standard library %s, fixed in Go %s: %s\n",
			f.id, f.version, strings.TrimPrefix(f.fixed, "v"), r.summaries[f.id])
	}
	for _, f := range sorted(r.modules) {
		fmt.Fprintf(w, "vulncheck: %s in %s@%s, fixed in %s: %s\n", f.id, f.module, f.version, fixedIn(f.fixed), r.summaries[f.id])
	}
	if n := len(r.modules); n > 0 {
		return fmt.Errorf("%d reachable vulnerabilities in required modules: bump them (go get MODULE@VERSION)", n)
	}
	fmt.Fprintf(w, "vulncheck: no reachable vulnerability in a required module (%d in the standard library, listed above)\n", len(r.stdlib))
	return nil
}

func fixedIn(v string) string {
	if v == "" {
		return "no version yet"
	}
	return v
}

func sorted(m map[string]*finding) []*finding {
	out := make([]*finding, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
