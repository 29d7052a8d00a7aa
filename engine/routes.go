package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
)

func runRoutes(args []string) error {
	fs := newFlagSet("routes", "[--config site.hcl] [--store DIR] [--url URL]",
		"Print the route table with each route's mode: the running engine's, through\nthe admin socket (or --url), else site.hcl's.")
	var sf siteFlags
	sf.register(fs, false)
	base := fs.String("url", "", "ask the engine at `URL` (needs the admin secret)")
	cfg, err := sf.parseLoad(fs, args)
	if err != nil {
		return err
	}
	c := newAdminClient(cfg, *base)
	if *base == "" {
		c.base = "" // the socket or site.hcl: something else may listen on :3000
	}
	var rows []routeRow
	if err := c.do("GET", "/_kiln/routes", nil, &rows); errors.Is(err, errNotRunning) {
		rows = routeTable(cfg)
	} else if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tRENDERER\tMODE\tREVALIDATE\tEXPIRE\tFALLBACK\tBUILD PATHS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Route, r.Renderer, r.Mode, r.Revalidate, r.Expire, r.Fallback, r.BuildPaths)
	}
	return tw.Flush()
}

// routeRow is one line of `kiln routes`, and of GET /_kiln/routes.
type routeRow struct {
	Route      string `json:"route"`
	Renderer   string `json:"renderer"`
	Mode       string `json:"mode"`
	Revalidate string `json:"revalidate"`
	Expire     string `json:"expire"`
	Fallback   string `json:"fallback"`
	BuildPaths string `json:"build_paths"`
}

func routeTable(cfg *config.Site) []routeRow {
	rows := make([]routeRow, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		rows = append(rows, routeRow{
			Route: r.Pattern, Renderer: r.Renderer, Mode: mode(r), Revalidate: never(r.Revalidate),
			Expire: never(r.Expire), Fallback: string(r.Fallback), BuildPaths: buildPaths(r),
		})
	}
	return rows
}

// mode names a route's rendering mode as Next.js users know it.
func mode(r *config.Route) string {
	switch {
	case r.Revalidate > 0:
		return "ISR"
	case !strings.ContainsAny(r.Pattern, ":*"):
		return "static"
	}
	return "SSG"
}

func never(d time.Duration) string {
	if d <= 0 {
		return "never"
	}
	return d.String()
}

func buildPaths(r *config.Route) string {
	if r.HasPaths {
		return fmt.Sprintf("%d listed", len(r.Paths))
	}
	if !strings.ContainsAny(r.Pattern, ":*") {
		return r.Pattern
	}
	return "from renderer"
}
