package config

import (
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Cluster defaults.
const (
	DefaultClusterPrefix   = "kiln"
	DefaultClusterReplicas = 1
	DefaultLeaseTTL        = 10 * time.Second
	DefaultNodeTTL         = 10 * time.Second
)

// Cluster is the `cluster { ... }` block: several nodes sharing one page
// cache and one regeneration queue on NATS JetStream. A Site without one
// runs alone.
type Cluster struct {
	URLs []string // NATS server URLs, e.g. nats://10.0.0.1:4222
	// CredsFile is a NATS credentials file; CredsEnv names an environment
	// variable holding the path of one. Credentials themselves are never
	// written in site.hcl.
	CredsFile string
	CredsEnv  string
	Node      string // this node's name; default the hostname
	// Prefix names the streams and buckets (PREFIX_pages, ...), so that
	// several sites share one NATS.
	Prefix   string
	Replicas int // JetStream replicas: 1, 3 or 5
	// LeaseTTL is how long a render lease outlives a node that stopped
	// renewing it; NodeTTL how long a node that stopped heartbeating
	// stays live.
	LeaseTTL time.Duration
	NodeTTL  time.Duration
	Pos      Pos
}

var clusterSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "urls", Required: true}, {Name: "creds_file"}, {Name: "creds_env"}, {Name: "node"},
	{Name: "prefix"}, {Name: "replicas"}, {Name: "lease_ttl"}, {Name: "node_ttl"}, {Name: "creds"},
}}

func (d *decoder) decodeCluster(blocks hcl.Blocks) {
	if len(blocks) == 0 {
		return
	}
	for _, b := range blocks[1:] {
		d.errorf(b.DefRange, "Duplicate cluster block", "Only one cluster block is allowed; the first is at %s.", at(blocks[0].DefRange))
	}
	_, a := d.content(blocks[0].Body, clusterSchema)
	c := &Cluster{
		URLs:      a.strs("urls"),
		CredsFile: d.resolve(a.str("creds_file", "")),
		CredsEnv:  a.str("creds_env", ""),
		Node:      a.str("node", ""),
		Prefix:    a.str("prefix", DefaultClusterPrefix),
		Replicas:  int(a.integer("replicas", DefaultClusterReplicas, 1, 5)),
		LeaseTTL:  a.duration("lease_ttl", DefaultLeaseTTL),
		NodeTTL:   a.duration("node_ttl", DefaultNodeTTL),
		Pos:       d.pos(blocks[0].DefRange),
	}
	if a.has("creds") {
		a.errorf(a.m["creds"].NameRange, "Secret in config file",
			"NATS credentials must not be written into the config file. Set creds_file to a credentials file, or creds_env to an environment variable holding its path.")
	}
	if a.has("urls") && len(c.URLs) == 0 {
		a.fail("urls", "Invalid NATS URLs", "urls must list at least one NATS server, like [\"nats://127.0.0.1:4222\"].")
	}
	for _, u := range c.URLs {
		if err := CheckNATSURL(u); err != "" {
			a.fail("urls", "Invalid NATS URL", "%s", err)
		}
	}
	if a.has("creds_file") && a.has("creds_env") {
		a.fail("creds_env", "Invalid credentials", "Set one of creds_file and creds_env, not both.")
	}
	d.checkEnvName(a, "creds_env", c.CredsEnv)
	d.mustExist(a, "creds_file", c.CredsFile, false)
	if a.has("replicas") && c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 && !a.bad["replicas"] {
		a.fail("replicas", "Invalid replica count", "replicas must be 1, 3 or 5 (JetStream needs a majority of an odd number of servers), not %d.", c.Replicas)
	}
	if a.has("prefix") && !isBucketName(c.Prefix) {
		a.fail("prefix", "Invalid prefix", "%q must be letters, digits, '_' and '-' (it names JetStream streams and buckets).", c.Prefix)
	}
	if a.has("node") && !isBucketName(c.Node) {
		a.fail("node", "Invalid node name", "%q must be letters, digits, '_' and '-'.", c.Node)
	}
	d.positive(a, "lease_ttl", c.LeaseTTL)
	d.positive(a, "node_ttl", c.NodeTTL)
	if c.LeaseTTL > 0 && c.LeaseTTL < time.Second && !a.bad["lease_ttl"] && a.has("lease_ttl") {
		a.fail("lease_ttl", "Invalid value", "lease_ttl must be at least 1s.")
	}
	d.collect(a)
	d.site.Cluster = c
}

// DefaultCluster is the cluster block `--nats URL` makes when site.hcl
// has none: every value at its default.
func DefaultCluster(urls []string) *Cluster {
	return &Cluster{URLs: urls, Prefix: DefaultClusterPrefix, Replicas: DefaultClusterReplicas, LeaseTTL: DefaultLeaseTTL, NodeTTL: DefaultNodeTTL}
}

// NodeName is the node's name: Node, or the hostname made a valid name.
func (c *Cluster) NodeName() string {
	if c.Node != "" {
		return c.Node
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "kiln"
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, h)
}

// CheckNATSURL returns why u is not a NATS URL, or "".
func CheckNATSURL(u string) string {
	for _, scheme := range []string{"nats://", "tls://", "ws://", "wss://"} {
		if rest, ok := strings.CutPrefix(u, scheme); ok {
			if rest == "" || strings.ContainsAny(rest, " \t/") {
				return u + " has no host:port."
			}
			return ""
		}
	}
	return u + " must start with nats://, tls://, ws:// or wss://."
}

func isBucketName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
