package config

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var routeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "renderer", Required: true}, {Name: "revalidate"}, {Name: "expire"}, {Name: "fallback"},
	{Name: "fallback_renderer"}, {Name: "paths"}, {Name: "timeout"}, {Name: "policy"},
	{Name: "max_first_renders"},
}}

// DefaultMaxFirstRenders bounds a route's first renders running at once.
const DefaultMaxFirstRenders = 64

func (d *decoder) decodeRoute(b *hcl.Block) *Route {
	_, a := d.content(b.Body, routeSchema)
	r := &Route{
		Pattern:          b.Labels[0],
		Renderer:         a.str("renderer", ""),
		Revalidate:       d.revalidate(a),
		Expire:           a.duration("expire", 0),
		Fallback:         d.fallback(a),
		FallbackRenderer: a.str("fallback_renderer", ""),
		Paths:            a.strs("paths"),
		HasPaths:         a.has("paths"),
		Timeout:          a.duration("timeout", 0),
		Policy:           policy(a),
		MaxFirstRenders:  int(a.integer("max_first_renders", DefaultMaxFirstRenders, 1, 1<<20)),
		Pos:              d.pos(b.DefRange),
	}
	rr := routeRanges{label: b.LabelRanges[0]}
	if a.has("renderer") {
		rr.renderer = a.rng("renderer")
	}
	if a.has("fallback_renderer") {
		rr.fallbackRenderer = a.rng("fallback_renderer")
	}
	d.routeRanges[r] = rr
	d.positive(a, "expire", r.Expire)
	d.positive(a, "timeout", r.Timeout)
	if r.Expire > 0 && r.Revalidate > 0 && r.Expire <= r.Revalidate {
		a.errorf(a.rng("expire"), "Invalid expire", "expire (%s) must be longer than revalidate (%s).", r.Expire, r.Revalidate)
	}
	if segs, err := ParsePattern(r.Pattern); err != nil {
		d.errorf(b.LabelRanges[0], "Invalid route pattern", "%q: %s.", r.Pattern, err)
	} else {
		checkPaths(a, r, segs)
	}
	d.collect(a)
	return r
}

// revalidate reads `revalidate`: false (never, the default) or a positive
// duration.
func (d *decoder) revalidate(a *attrs) time.Duration {
	v, ok := a.value("revalidate")
	if !ok {
		return 0
	}
	if v.Type() == cty.Bool {
		if v.True() {
			a.fail("revalidate", "Invalid revalidate", "revalidate is a duration like \"10s\", or false to never revalidate; true has no meaning.")
		}
		return 0
	}
	dur, err := parseDuration(v)
	switch {
	case err != nil:
		a.fail("revalidate", "Invalid duration", "revalidate: %s; use a duration like \"10s\", or false to never revalidate.", err)
	case dur == 0:
		a.fail("revalidate", "Invalid revalidate", "revalidate must be greater than zero; use false to never revalidate.")
	}
	return dur
}

func (d *decoder) fallback(a *attrs) Fallback {
	v, ok := a.value("fallback")
	if !ok {
		return FallbackBlocking
	}
	switch {
	case v.Type() == cty.Bool && v.True():
		return FallbackTrue
	case v.Type() == cty.Bool:
		return FallbackFalse
	case v.Type() == cty.String:
		switch f := Fallback(v.AsString()); f {
		case FallbackTrue, FallbackFalse, FallbackBlocking:
			return f
		}
	}
	a.fail("fallback", "Invalid fallback", "fallback must be \"blocking\", \"true\" or \"false\" (or true/false).")
	return FallbackBlocking
}

func policy(a *attrs) Policy {
	p := Policy(a.str("policy", string(PolicyEager)))
	if p != PolicyEager && p != PolicyLazy && a.has("policy") {
		a.errorf(a.rng("policy"), "Invalid policy", "policy must be \"eager\" or \"lazy\", not %q.", p)
	}
	return p
}

// checkPaths reports paths entries that are not normalized paths matching
// the route's pattern.
func checkPaths(a *attrs, r *Route, segs []Segment) {
	if len(r.Paths) == 0 {
		return
	}
	elems, diags := hcl.ExprList(a.m["paths"].Expr)
	for i, p := range r.Paths {
		rng := a.rng("paths")
		if !diags.HasErrors() && len(elems) == len(r.Paths) {
			rng = elems[i].Range()
		}
		if !MatchSegments(segs, p) || !cleanPath(p) {
			a.errorf(rng, "Invalid path", "%q does not match the route pattern %q (paths must be normalized: no trailing slash, no \"//\", no dot segments, no '%%', '?', '#' or '\\').", p, r.Pattern)
		}
	}
}

func cleanPath(p string) bool {
	if p == "/" {
		return true
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if checkStatic(seg) != nil {
			return false
		}
	}
	return true
}

var onChangeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "source"}, {Name: "match", Required: true}, {Name: "revalidate"}, {Name: "tags"}, {Name: "policy"},
}}

func (d *decoder) decodeOnChange(b *hcl.Block) *OnChange {
	_, a := d.content(b.Body, onChangeSchema)
	o := &OnChange{
		Name:   b.Labels[0],
		Source: a.str("source", ""),
		Match:  a.str("match", ""),
		Policy: policy(a),
		Pos:    d.pos(b.DefRange),
	}
	d.checkName(b, "on_change")
	if a.has("match") && o.Match == "" {
		a.errorf(a.rng("match"), "Invalid match", "match must not be empty; use \"*\" to match every key.")
	}
	if a.has("source") {
		d.onChangeRange[o] = a.rng("source")
	}
	o.Revalidate = d.templates(a, o, "revalidate")
	o.Tags = d.templates(a, o, "tags")
	if !a.has("revalidate") && !a.has("tags") {
		d.errorf(b.DefRange, "Invalid on_change", "on_change %q needs revalidate (paths) or tags, or both.", o.Name)
	}
	d.collect(a)
	return o
}
