package config

import (
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

var dataSourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "plugin"}, {Name: "command"}, {Name: "args"}, {Name: "sha256"},
		{Name: "env"}, {Name: "start_timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "config"}},
}

func (d *decoder) decodeDataSource(b *hcl.Block) *DataSource {
	c, a := d.content(b.Body, dataSourceSchema)
	s := &DataSource{
		Name:         b.Labels[0],
		Plugin:       a.str("plugin", ""),
		Command:      d.resolveCommand(a.str("command", "")),
		Args:         a.strs("args"),
		SHA256:       strings.ToLower(a.str("sha256", "")),
		Env:          a.strs("env"),
		StartTimeout: a.duration("start_timeout", DefaultStartTimeout),
		Pos:          d.pos(b.DefRange),
	}
	d.checkName(b, "data source")
	d.checkExecutable(b, a, s)
	d.positive(a, "start_timeout", s.StartTimeout)
	for _, e := range s.Env {
		if !isEnvName(e) {
			a.errorf(a.rng("env"), "Invalid environment variable name", "env entry %q must be letters, digits and '_', not starting with a digit.", e)
		}
	}
	s.Config, s.ConfigPos = d.pluginConfig(c.Blocks.OfType("config"))
	d.collect(a)
	return s
}

// resolveCommand resolves a command with a path separator against the
// config dir; a bare name is left for a PATH lookup.
func (d *decoder) resolveCommand(cmd string) string {
	if !strings.ContainsRune(cmd, '/') && !strings.ContainsRune(cmd, filepath.Separator) {
		return cmd
	}
	return d.resolve(cmd)
}

func (d *decoder) checkExecutable(b *hcl.Block, a *attrs, s *DataSource) {
	switch {
	case a.has("plugin") == a.has("command"):
		d.errorf(b.DefRange, "Invalid data source", "Data source %q needs exactly one of plugin (built in: %s) or command (an external plugin executable).",
			s.Name, strings.Join(BuiltinPlugins, ", "))
	case a.has("plugin") && !slices.Contains(BuiltinPlugins, s.Plugin):
		a.errorf(a.rng("plugin"), "Unknown plugin", "%q is not a built-in plugin; choose one of %s, or use command for an external plugin.",
			s.Plugin, strings.Join(BuiltinPlugins, ", "))
	case a.has("plugin") && a.has("args"):
		a.errorf(a.rng("args"), "Invalid data source", "args is only used with command.")
	case a.has("command") && s.Command == "":
		a.errorf(a.rng("command"), "Invalid data source", "command must not be empty.")
	}
	if _, err := hex.DecodeString(s.SHA256); a.has("sha256") && (err != nil || len(s.SHA256) != 64) {
		a.errorf(a.rng("sha256"), "Invalid checksum", "sha256 must be 64 hexadecimal characters.")
	}
}

// pluginConfig evaluates the config block into JSON. String attributes
// named path or dir are resolved against the config dir, so plugins never
// need to know where the config file lives.
func (d *decoder) pluginConfig(blocks hcl.Blocks) ([]byte, map[string]Pos) {
	pos := map[string]Pos{}
	if len(blocks) == 0 {
		return []byte("{}"), pos
	}
	for _, b := range blocks[1:] {
		d.errorf(b.DefRange, "Duplicate config block", "Only one config block is allowed; the first is at %s.", at(blocks[0].DefRange))
	}
	as, diags := blocks[0].Body.JustAttributes()
	d.diags = append(d.diags, diags...)
	vals := map[string]cty.Value{}
	for name, attr := range as {
		v, diags := attr.Expr.Value(nil)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if (name == "path" || name == "dir") && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			v = cty.StringVal(d.resolve(v.AsString()))
		}
		vals[name] = v
		pos[name] = d.pos(attr.NameRange)
	}
	obj := cty.ObjectVal(vals)
	js, err := ctyjson.Marshal(obj, obj.Type())
	if err != nil {
		d.errorf(blocks[0].DefRange, "Invalid plugin config", "The config block cannot be encoded as JSON: %s.", err)
		return []byte("{}"), pos
	}
	return js, pos
}
