package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runRevalidate(args []string) error {
	fs := newFlagSet("revalidate", "[--config site.hcl] [--store DIR] [--url URL] [--mode now|stale] [--wait all] [--tag TAG]... PATH...",
		"Regenerate paths (and every page carrying a tag) on the running engine, and wait\nuntil they are stored; with --mode stale, mark them stale instead, so the next\nrequest regenerates them. On the engine's machine it goes through the admin\nsocket in the store folder, with no secret; with --url, it needs the admin secret.")
	var sf siteFlags
	sf.register(fs, false)
	base := fs.String("url", "", "the engine's `URL`, over HTTP with the admin secret (default: the admin socket, then site.hcl's listen)")
	var tags stringList
	fs.Var(&tags, "tag", "revalidate every page carrying `TAG` (repeatable)")
	mode := fs.String("mode", "now", "`now`: regenerate and answer when stored; stale: mark stale")
	wait := fs.String("wait", "", "`all`: in cluster mode, answer only once every live node applied the pages")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 && len(tags) == 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("give at least one path or --tag")}
	}
	cfg, err := sf.load()
	if err != nil {
		return err
	}
	req := map[string]any{"paths": fs.Args(), "tags": tags, "mode": *mode}
	if *wait != "" {
		req["wait"] = *wait
	}
	body, _ := json.Marshal(req)
	var out struct {
		Results []struct{ Path, Status, Error string }
	}
	if err := newAdminClient(cfg, *base).do("POST", "/_kiln/revalidate", body, &out); err != nil {
		return err
	}
	failed := 0
	for _, r := range out.Results {
		if r.Error != "" {
			failed++
			fmt.Fprintf(os.Stdout, "%-12s %s: %s\n", r.Status, r.Path, r.Error)
			continue
		}
		fmt.Fprintf(os.Stdout, "%-12s %s\n", r.Status, r.Path)
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d path(s) failed", failed)}
	}
	return nil
}
