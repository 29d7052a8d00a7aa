package datasource

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kilnhq/kiln/plugins/jsonfile"
	"github.com/kilnhq/kiln/plugins/kv"
	"github.com/kilnhq/kiln/plugins/markdown"
	"github.com/kilnhq/kiln/plugins/postgres"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// builtins are the plugins compiled into the kiln binary.
var builtins = map[string]func() plugin.Source{
	"jsonfile": jsonfile.New,
	"kv":       kv.New,
	"markdown": markdown.New,
	"postgres": postgres.New,
}

// RunBuiltin serves the named built-in plugin on this process's stdio; it
// is what `kiln plugin <name>` runs. It returns when the engine stops the
// plugin, or at once with an error wrapping ErrUnknown for an unknown name.
func RunBuiltin(name string) error {
	newSource, ok := builtins[name]
	if !ok {
		return fmt.Errorf("%w built-in plugin %q (have: %s)", ErrUnknown, name, strings.Join(slices.Sorted(maps.Keys(builtins)), ", "))
	}
	plugin.Serve(newSource())
	return nil
}
