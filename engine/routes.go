package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
)

func runRoutes(args []string) error {
	fs := newFlagSet("routes", "[--config site.hcl]", "Print the route table with each route's mode.")
	var sf siteFlags
	sf.register(fs, false)
	cfg, err := sf.parseLoad(fs, args)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tRENDERER\tMODE\tREVALIDATE\tEXPIRE\tFALLBACK\tBUILD PATHS")
	for _, r := range cfg.Routes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Pattern, r.Renderer, mode(r),
			never(r.Revalidate), never(r.Expire), r.Fallback, buildPaths(r))
	}
	return tw.Flush()
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
