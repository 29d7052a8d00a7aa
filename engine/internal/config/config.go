// Package config loads site.hcl into plain Go structs.
//
// Load decodes the file once, fills defaults, validates everything and
// reports every problem at once (a *DiagError rendering each with
// file:line:col and the source line). Nothing below this package knows HCL
// exists.
//
// Conventions of the language:
//   - Unknown attributes and blocks are errors; expressions may not use
//     variables or functions, except on_change templates (below).
//   - Paths (store, source, wasm, watch, dir, and command when it contains
//     a '/') are relative to the directory of the config file. Inside a
//     data_source's config block only string attributes named "path" or
//     "dir" are resolved that way; everything else reaches the plugin as
//     written.
//   - Durations are Go durations ("10s", "1h30m") or a number of seconds;
//     sizes are "64MiB", "1GB", "512KB" (KB = 1000, KiB = 1024) or a number
//     of bytes. Negative values are errors.
//   - on_change revalidate and tags are lists of string templates seeing
//     item.key, item.deleted and item.value (the value decoded from JSON, a
//     string when it is not JSON, null when empty), with the functions
//     lower, upper, replace, format, join, trimprefix, trimsuffix, try, can.
//     They are checked at load time and evaluated per event by Template.Eval.
package config

import (
	"fmt"
	"time"
)

// Site is a loaded, validated site.hcl. Relative paths in it are already
// resolved against the directory holding the file.
type Site struct {
	File string // absolute path of the config file
	Dir  string // directory of the config file

	Listen           string        // default ":3000"
	MetricsListen    string        // "" serves /metrics on Listen (behind the admin secret when set); else its own listener
	StoreDir         string        // default "<dir>/.kiln"
	AdminSecretEnv   string        // env var holding the admin secret; default "KILN_ADMIN_SECRET"
	PreviewSecretEnv string        // env var holding the preview token; default "KILN_PREVIEW_SECRET"
	NotFound         string        // renderer name for 404 pages; "" means built-in page
	HotCacheBytes    int64         // default 64 MiB
	NegativeTTL      time.Duration // how long a 404 stays fresh; default 60s
	RetryBackoff     time.Duration // minimum wait before retrying a failed regeneration; default 10s

	// Request limits: the admin API's body cap over HTTP (default 1 MiB),
	// open connections (0: three quarters of the fd limit) and
	// connections from one address (0: no cap).
	MaxAdminBody        int
	MaxConnections      int
	MaxConnectionsPerIP int

	Renderers   []*Renderer
	DataSources []*DataSource
	Routes      []*Route
	OnChange    []*OnChange
	Static      []*Static
	Cluster     *Cluster // nil: a single node
}

// Renderer is a `renderer "name" { ... }` block.
type Renderer struct {
	Name string
	// Exactly one of Source and Wasm is set.
	Source      string        // Go package directory, built to wasm by Kiln
	Wasm        string        // prebuilt .wasm path (output of Build when set)
	Build       []string      // optional build command (argv) producing Wasm, run in Dir when Wasm is missing or older than Watch sources
	Watch       []string      // source globs for staleness and `kiln dev`; nil means all files under Source
	Data        string        // data source name; default: the only one, if exactly one
	Pool        int           // instances; default DefaultPool()
	Timeout     time.Duration // default 2s
	MaxMemory   uint64        // bytes; default 128 MiB
	MaxResponse int           // bytes; default 16 MiB
	// MemoryBudget bounds the linear memory of all the renderer's
	// instances together; 0 means Pool × MaxMemory.
	MemoryBudget uint64
	IdleTimeout  time.Duration // an idle instance beyond the first is closed after this; default 30s
	// Per-render budgets: log bytes (stdout, stderr and kiln.log
	// together), dependencies (keys and prefixes read) and tags.
	MaxLog          int // bytes; default 1 MiB
	MaxDependencies int // default 10,000
	MaxTags         int // default 128
	// Env is the renderer's environment (os.Getenv, getenv, std::env),
	// set in HCL as `env = { NAME = "value" }`. The engine's own
	// environment is never passed through.
	Env map[string]string
	Pos Pos
}

// DataSource is a `data_source "name" { ... }` block.
type DataSource struct {
	Name string
	// Plugin names a built-in plugin under plugins/ (e.g. "jsonfile"),
	// built by Kiln; Command is an explicit executable path instead.
	Plugin  string
	Command string
	Args    []string
	SHA256  string   // optional checksum of the executable, verified before every start
	Env     []string // names of environment variables passed through
	// Config is the plugin's `config { ... }` block, evaluated by the host
	// and passed to the plugin as JSON.
	Config       []byte
	ConfigPos    map[string]Pos // attribute name -> position, for plugin diagnostics
	StartTimeout time.Duration  // default 10s
	Pos          Pos
}

// Fallback is a route's behaviour for paths never generated.
type Fallback string

const (
	FallbackFalse    Fallback = "false"
	FallbackBlocking Fallback = "blocking"
	FallbackTrue     Fallback = "true"
)

// Policy says what a change event does to an affected page.
type Policy string

const (
	PolicyEager Policy = "eager" // regenerate now
	PolicyLazy  Policy = "lazy"  // mark stale; regenerate on next request
)

// Route is a `route "/pattern" { ... }` block.
type Route struct {
	Pattern          string // "/", "/posts/:slug", "/docs/*path"
	Renderer         string
	Revalidate       time.Duration // 0 means never (revalidate = false); default 0? see Load: default false
	Expire           time.Duration // 0 means no limit
	Fallback         Fallback      // default "blocking"
	FallbackRenderer string        // renderer for the fallback shell; "" uses the route renderer's fallback export or a built-in shell
	Paths            []string      // build-time paths from HCL; nil means ask the renderer's paths export
	HasPaths         bool          // true when `paths` was set in HCL (even to [])
	Timeout          time.Duration // render timeout; default: the renderer's
	Policy           Policy        // default eager
	// MaxFirstRenders bounds the renders of never-stored paths running at
	// once; past it a request gets 503 with Retry-After (default 64).
	MaxFirstRenders int
	Pos             Pos
}

// OnChange is an `on_change "name" { ... }` rule: the seed's data.on.
type OnChange struct {
	Name   string
	Source string // data source name; "" means any
	Match  string // key glob, `*` matches any run of characters
	// Revalidate and Tags are templates evaluated per event with
	// `item.key`, `item.value` (decoded JSON) and `item.deleted`.
	Revalidate []Template
	Tags       []Template
	Policy     Policy
	Pos        Pos
}

// Template is an HCL template kept for evaluation at event time. Eval is
// provided by this package so callers stay HCL-free.
type Template struct {
	Source string // the original expression text, for messages
	eval   func(item EventItem) (string, error)
}

// EventItem is what an on_change template sees.
type EventItem struct {
	Key     string
	Value   []byte // raw JSON; decoded for templates
	Deleted bool
}

// Eval renders the template for one changed item.
func (t Template) Eval(item EventItem) (string, error) { return t.eval(item) }

// Static is a `static "/prefix/" { dir = "..." }` block: files served with
// content-hashed, immutable URLs.
type Static struct {
	Prefix string
	Dir    string
	Pos    Pos
}

// Pos is a position in the config file, for messages from later stages.
type Pos struct {
	File         string
	Line, Column int
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }
