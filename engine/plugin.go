package main

import (
	"fmt"

	"github.com/kilnhq/kiln/engine/internal/builtin"
)

// runPlugin is how the engine starts a built-in data-source plugin: it
// re-runs its own binary as `kiln plugin NAME`, a separate process.
func runPlugin(args []string) error {
	if len(args) != 1 {
		return &exitError{code: 2, err: fmt.Errorf("usage: kiln plugin NAME")}
	}
	return builtin.Run(args[0])
}
