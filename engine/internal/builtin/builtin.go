// Package builtin is the registry of the data-source plugins compiled into
// the kiln binary. The engine runs one as a separate process by re-running
// itself as `kiln plugin NAME`, which calls Run; the data-source host only
// gets the list of names (Names), so it can reject an unknown one in
// site.hcl before starting anything.
package builtin

import (
	"errors"
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

// ErrUnknown is returned by Run for a name that is not a built-in plugin.
var ErrUnknown = errors.New("builtin: unknown plugin")

var registry = map[string]func() plugin.Source{
	"jsonfile": jsonfile.New,
	"kv":       kv.New,
	"markdown": markdown.New,
	"postgres": postgres.New,
}

// Names lists the built-in plugins, sorted.
func Names() []string { return slices.Sorted(maps.Keys(registry)) }

// Run serves the named built-in plugin on this process's stdio; it is what
// `kiln plugin NAME` runs. It returns when the engine stops the plugin, or
// at once with an error wrapping ErrUnknown for an unknown name.
func Run(name string) error {
	newSource, ok := registry[name]
	if !ok {
		return fmt.Errorf("%w %q (have: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	plugin.Serve(newSource())
	return nil
}
