package main

import (
	"fmt"

	"github.com/kilnhq/kiln/engine/internal/config"
)

func runValidate(args []string) error {
	fs := newFlagSet("validate", "[--config site.hcl]",
		"Check the config and print every problem as file:line:col with the source\nline. Starts nothing; exits 1 when there is a problem.")
	var sf siteFlags
	sf.register(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(sf.config)
	if err != nil {
		fmt.Print(err.Error())
		return &exitError{code: 1, err: fmt.Errorf("%s is not valid", sf.config)}
	}
	fmt.Printf("%s is valid: %d route(s), %d renderer(s), %d data source(s)\n",
		sf.config, len(cfg.Routes), len(cfg.Renderers), len(cfg.DataSources))
	return nil
}
