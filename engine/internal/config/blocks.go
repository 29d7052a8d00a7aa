package config

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// DefaultPool is a renderer's most instances when site.hcl does not say:
// twice the CPUs. A render holds its instance while it waits for its
// data source (a plugin round trip), so with one instance per CPU a core
// sits idle through every read; a 10,000-post build took 5.9 s with 2
// instances and 4.9 s with 4 on two cores (RATIONALE.md, "Why are there
// twice as many renderer instances as CPUs?"). Instances beyond the
// first are created only when renders wait for one and closed after
// idle_timeout, so the extra ones cost memory only under load.
func DefaultPool() int { return 2 * runtime.NumCPU() }

// Defaults for values site.hcl leaves out.
const (
	DefaultListen           = ":3000"
	DefaultStore            = ".kiln"
	DefaultAdminSecretEnv   = "KILN_ADMIN_SECRET"
	DefaultPreviewSecretEnv = "KILN_PREVIEW_SECRET"
	DefaultHotCache         = 64 << 20
	DefaultNegativeTTL      = 60 * time.Second
	DefaultRetryBackoff     = 10 * time.Second
	DefaultRenderTimeout    = 2 * time.Second
	DefaultMaxMemory        = 128 << 20
	DefaultMaxResponse      = 16 << 20
	DefaultIdleTimeout      = 30 * time.Second
	DefaultMaxLog           = 1 << 20
	DefaultMaxDependencies  = 10000
	DefaultMaxTags          = 128
	DefaultStartTimeout     = 10 * time.Second
	DefaultMaxAdminBody     = 1 << 20
)

// BuiltinPlugins are the data-source plugins shipped under plugins/.
var BuiltinPlugins = []string{"jsonfile", "kv", "markdown", "postgres"}

var siteSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "listen"}, {Name: "store"}, {Name: "admin_secret_env"}, {Name: "preview_secret_env"},
	{Name: "not_found"}, {Name: "hot_cache"}, {Name: "negative_ttl"}, {Name: "retry_backoff"},
	{Name: "admin_secret"}, {Name: "preview_secret"},
	{Name: "max_admin_body"}, {Name: "max_connections"}, {Name: "max_connections_per_ip"},
	{Name: "metrics_listen"},
}}

func (d *decoder) decodeSite(blocks hcl.Blocks) {
	for _, b := range blocks[min(1, len(blocks)):] {
		d.errorf(b.DefRange, "Duplicate site block", "Only one site block is allowed; the first is at %s.", at(blocks[0].DefRange))
	}
	s := d.site
	a := &attrs{}
	if len(blocks) > 0 {
		_, a = d.content(blocks[0].Body, siteSchema)
	}
	s.Listen = a.str("listen", DefaultListen)
	s.MetricsListen = a.str("metrics_listen", "")
	s.StoreDir = d.resolve(a.str("store", DefaultStore))
	s.AdminSecretEnv = a.str("admin_secret_env", DefaultAdminSecretEnv)
	s.PreviewSecretEnv = a.str("preview_secret_env", DefaultPreviewSecretEnv)
	s.NotFound = a.str("not_found", "")
	s.HotCacheBytes = a.size("hot_cache", DefaultHotCache, math.MaxInt64)
	s.NegativeTTL = a.duration("negative_ttl", DefaultNegativeTTL)
	s.RetryBackoff = a.duration("retry_backoff", DefaultRetryBackoff)
	s.MaxAdminBody = int(a.size("max_admin_body", DefaultMaxAdminBody, 1<<30))
	s.MaxConnections = int(a.integer("max_connections", 0, 0, 1<<20))
	s.MaxConnectionsPerIP = int(a.integer("max_connections_per_ip", 0, 0, 1<<20))
	for _, name := range []string{"admin_secret", "preview_secret"} {
		if a.has(name) {
			a.errorf(a.m[name].NameRange, "Secret in config file",
				"Secrets must not be written into the config file. Set %s_env to the name of an environment variable holding the secret instead.", name)
		}
	}
	if a.has("not_found") {
		d.notFoundRange = a.rng("not_found")
	}
	d.checkListen(a)
	d.checkEnvName(a, "admin_secret_env", s.AdminSecretEnv)
	d.checkEnvName(a, "preview_secret_env", s.PreviewSecretEnv)
	d.collect(a)
}

func (d *decoder) checkListen(a *attrs) {
	for _, attr := range []struct{ name, l string }{{"listen", d.site.Listen}, {"metrics_listen", d.site.MetricsListen}} {
		l := attr.l
		i := strings.LastIndexByte(l, ':')
		if a.has(attr.name) && (i < 0 || l[i+1:] == "" || strings.Trim(l[i+1:], "0123456789") != "") {
			a.errorf(a.rng(attr.name), "Invalid listen address", "%q must be host:port or :port.", l)
		}
	}
	if a.has("metrics_listen") && d.site.MetricsListen == d.site.Listen {
		a.errorf(a.rng("metrics_listen"), "Invalid listen address", "metrics_listen %q must differ from listen.", d.site.MetricsListen)
	}
}

func (d *decoder) checkEnvName(a *attrs, attr, name string) {
	if a.has(attr) && !isEnvName(name) {
		a.errorf(a.rng(attr), "Invalid environment variable name", "%q must be letters, digits and '_', not starting with a digit.", name)
	}
}

func isEnvName(s string) bool { return s != "" && checkParamName(s) == nil }

var rendererSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "source"}, {Name: "wasm"}, {Name: "build"}, {Name: "watch"}, {Name: "data"},
	{Name: "pool"}, {Name: "timeout"}, {Name: "max_memory"}, {Name: "max_response"}, {Name: "env"},
	{Name: "memory_budget"}, {Name: "idle_timeout"}, {Name: "max_log"}, {Name: "max_dependencies"},
	{Name: "max_tags"},
}}

func (d *decoder) decodeRenderer(b *hcl.Block) *Renderer {
	_, a := d.content(b.Body, rendererSchema)
	r := &Renderer{
		Name:        b.Labels[0],
		Source:      d.resolve(a.str("source", "")),
		Wasm:        d.resolve(a.str("wasm", "")),
		Build:       a.strs("build"),
		Data:        a.str("data", ""),
		Pool:        int(a.integer("pool", int64(DefaultPool()), 1, 1024)),
		Timeout:     a.duration("timeout", DefaultRenderTimeout),
		MaxMemory:   uint64(a.size("max_memory", DefaultMaxMemory, 4<<30)),
		MaxResponse: int(a.size("max_response", DefaultMaxResponse, math.MaxInt32)),
		Env:         a.strMap("env"),
		Pos:         d.pos(b.DefRange),
	}
	d.decodeRendererBudgets(a, r)
	d.checkName(b, "renderer")
	d.checkRendererModule(b, a, r)
	r.Watch = d.globs(a, "watch")
	d.positive(a, "timeout", r.Timeout)
	d.positive(a, "max_memory", time.Duration(r.MaxMemory))
	d.positive(a, "max_response", time.Duration(r.MaxResponse))
	for _, name := range slices.Sorted(maps.Keys(r.Env)) {
		if !isEnvName(name) || strings.HasPrefix(name, "KILN_") {
			a.fail("env", "Invalid environment variable name", "%q is not a valid environment variable name for a renderer (letters, digits and _, not starting with a digit; KILN_ is reserved).", name)
		}
	}
	if a.has("data") {
		d.rendererData[r] = a.rng("data")
	}
	d.collect(a)
	return r
}

// decodeRendererBudgets reads what bounds a renderer's memory and what one
// render may ask of the host.
func (d *decoder) decodeRendererBudgets(a *attrs, r *Renderer) {
	r.MemoryBudget = uint64(a.size("memory_budget", 0, math.MaxInt64))
	r.IdleTimeout = a.duration("idle_timeout", DefaultIdleTimeout)
	r.MaxLog = int(a.size("max_log", DefaultMaxLog, math.MaxInt32))
	r.MaxDependencies = int(a.integer("max_dependencies", DefaultMaxDependencies, 1, 1_000_000))
	r.MaxTags = int(a.integer("max_tags", DefaultMaxTags, 1, 100_000))
	d.positive(a, "memory_budget", time.Duration(r.MemoryBudget))
	d.positive(a, "idle_timeout", r.IdleTimeout)
	d.positive(a, "max_log", time.Duration(r.MaxLog))
	if a.has("memory_budget") && !a.bad["memory_budget"] && !a.bad["max_memory"] && r.MemoryBudget > 0 && r.MemoryBudget < r.MaxMemory {
		a.fail("memory_budget", "Invalid memory budget",
			"memory_budget (%s) is smaller than max_memory (%s): one instance alone could pass it. Raise memory_budget or lower max_memory.",
			bytesText(r.MemoryBudget), bytesText(r.MaxMemory))
	}
}

// bytesText writes n as the largest binary unit that divides it.
func bytesText(n uint64) string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

func (d *decoder) checkRendererModule(b *hcl.Block, a *attrs, r *Renderer) {
	switch {
	case a.has("source") == a.has("wasm"):
		d.errorf(b.DefRange, "Invalid renderer", "Renderer %q needs exactly one of source (a Go package Kiln builds) or wasm (a prebuilt module).", r.Name)
	case a.has("source"):
		d.mustExist(a, "source", r.Source, true)
		if a.has("build") {
			a.errorf(a.rng("build"), "Invalid renderer", "build is only used with wasm; Kiln builds source packages itself.")
		}
	case !a.has("build"):
		d.mustExist(a, "wasm", r.Wasm, false)
	case len(r.Build) == 0 || r.Build[0] == "":
		a.errorf(a.rng("build"), "Invalid build command", "build must be a non-empty argv list, like [\"make\", \"post.wasm\"].")
	}
}

// mustExist checks that a resolved path from attribute name exists and is
// a directory (dir) or a regular file (!dir).
func (d *decoder) mustExist(a *attrs, name, path string, dir bool) {
	if !a.has(name) || path == "" {
		return
	}
	want := "file"
	if dir {
		want = "directory"
	}
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() == dir {
		return
	}
	rel, ok := a.value(name)
	shown := ""
	if ok && rel.Type() == cty.String {
		shown = rel.AsString()
	}
	a.errorf(a.rng(name), "Missing "+want, "%s %q is not an existing %s (relative paths are resolved against the directory of the config file, %s).",
		name, shown, want, d.shownDir())
}

func (d *decoder) shownDir() string {
	if d.shown == "" {
		return "."
	}
	return filepath.ToSlash(d.shown)
}

func (d *decoder) globs(a *attrs, name string) []string {
	gs := a.strs(name)
	for i, g := range gs {
		if _, err := filepath.Match(g, ""); err != nil {
			a.errorf(a.rng(name), "Invalid glob", "%s entry %q: %s.", name, g, err)
		}
		gs[i] = d.resolve(g)
	}
	return gs
}

func (d *decoder) positive(a *attrs, name string, v time.Duration) {
	if a.has(name) && v == 0 && !a.bad[name] {
		a.errorf(a.rng(name), "Invalid value", "%s must be greater than zero.", name)
	}
}

// checkName validates a block's name label.
func (d *decoder) checkName(b *hcl.Block, kind string) {
	n := b.Labels[0]
	ok := n != ""
	for _, r := range n {
		ok = ok && (r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}
	if !ok {
		d.errorf(b.LabelRanges[0], "Invalid "+kind+" name", "%q must be letters, digits, '_' and '-'.", n)
	}
}

var staticSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "dir", Required: true}}}

func (d *decoder) decodeStatic(b *hcl.Block) *Static {
	_, a := d.content(b.Body, staticSchema)
	s := &Static{Prefix: b.Labels[0], Dir: d.resolve(a.str("dir", "")), Pos: d.pos(b.DefRange)}
	if !strings.HasPrefix(s.Prefix, "/") || !strings.HasSuffix(s.Prefix, "/") {
		d.errorf(b.LabelRanges[0], "Invalid static prefix", "%q must start and end with '/', like \"/assets/\".", s.Prefix)
	}
	d.mustExist(a, "dir", s.Dir, true)
	d.collect(a)
	return s
}
