package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/kilnhq/kiln/engine/internal/cluster"
)

func runCluster(args []string) error {
	fs := newFlagSet("cluster", "status [--config site.hcl] [--nats URLS]",
		"Print the cluster's live nodes, the revision each applied and its lag behind the\npages bucket.")
	var sf siteFlags
	sf.register(fs, false)
	sf.registerNATS(fs)
	cfg, err := sf.parseLoad(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "status" {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("usage: kiln cluster status")}
	}
	if cfg.Cluster == nil {
		return &exitError{code: 1, err: fmt.Errorf("%s has no cluster block and --nats is not set: this site runs alone", sf.config)}
	}
	st, err := cluster.Inspect(context.Background(), cfg.Cluster)
	if err != nil {
		return err
	}
	fmt.Printf("cluster %q on NATS %s: pages bucket at revision %d, %d live node(s)\n", cfg.Cluster.Prefix, st.Server, st.Last, len(st.Nodes))
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tAPPLIED\tBEHIND\tSTARTED")
	for _, n := range st.Nodes {
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", n.Name, n.Applied, st.Last-min(st.Last, n.Applied), n.Started.Format("2006-01-02 15:04:05"))
	}
	return w.Flush()
}
