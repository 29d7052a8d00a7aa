package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/store"
)

func runInspect(args []string) error {
	fs := newFlagSet("inspect", "[--config site.hcl] [--store DIR] [--url URL] [--json] PATH",
		"Show a stored page's status, age, freshness, dependencies and regeneration\nhistory. Asks the running engine (through the admin socket in the store folder,\nwith no secret), or reads the store when none runs.")
	var sf siteFlags
	sf.register(fs, false)
	base := fs.String("url", "", "the engine's `URL`, over HTTP with the admin secret (default: the admin socket, then site.hcl's listen)")
	asJSON := fs.Bool("json", false, "print JSON")
	prof := profileFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("give one path")}
	}
	cfg, err := sf.load()
	if err != nil {
		return err
	}
	path, err := router.Normalize([]byte(fs.Arg(0)))
	if err != nil {
		return err
	}
	if prof.on {
		return prof.run(context.Background(), cfg, path)
	}
	info, err := fetchInfo(newAdminClient(cfg, *base), cfg.StoreDir, path)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	printInfo(info)
	return nil
}

// fetchInfo asks the running engine, or opens the store when none runs.
func fetchInfo(c *adminClient, storeDir, path string) (*isr.PageInfo, error) {
	var info isr.PageInfo
	err := c.do("GET", "/_kiln/inspect?path="+path, nil, &info)
	if err == nil {
		return &info, nil
	}
	if !errors.Is(err, errNotRunning) {
		return nil, err
	}
	st, err := store.Open(storeDir, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return isr.Describe(st, st, path, time.Now())
}

func printInfo(i *isr.PageInfo) {
	fmt.Printf("%s  (route %s)\n", i.Path, i.Route)
	fmt.Printf("  status      %d, %s\n", i.Status, i.State)
	fmt.Printf("  generated   %s (%ds ago)\n", i.Generated.Format(time.RFC3339), i.AgeSeconds)
	fmt.Printf("  revalidate  %s, expire %s\n", i.Revalidate, i.Expire)
	fmt.Printf("  body        %d bytes (gzip %d, br %d), etag %s\n", i.Bytes, i.GzipBytes, i.BrotliBytes, i.ETag)
	fmt.Printf("  tags        %s\n", list(i.Tags))
	fmt.Printf("  reads keys  %s\n", list(i.Keys))
	fmt.Printf("  lists       %s\n", list(i.Prefixes))
	fmt.Printf("  history     (%d, newest last)\n", len(i.History))
	for _, e := range i.History {
		line := fmt.Sprintf("    %s  %-13s %-12s %s", e.At.Format(time.RFC3339), e.Reason, e.Outcome, e.Duration.Round(time.Microsecond))
		if e.Error != "" {
			line += "  " + e.Error
		}
		fmt.Println(line)
	}
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
