// Package router normalizes request paths and matches them against the
// site's route patterns.
//
// Patterns are "/", static segments, ":name" parameters (one non-empty
// segment) and a final "*name" catch-all (the rest of the path, possibly
// empty: "/docs/*path" matches "/docs" too). When several routes match, a
// static segment beats a parameter, which beats a catch-all, segment by
// segment from the left, backtracking when a more specific branch leads
// nowhere (as in Next.js and httprouter).
package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
)

// ErrConflict means two routes have the same shape ("/posts/:slug" and
// "/posts/:id") and could never be told apart.
var ErrConflict = errors.New("router: conflicting routes")

// Table is an immutable route table, safe for concurrent use.
type Table struct {
	root   node
	routes []*config.Route
}

// node is one segment position in the route trie. Every route through a
// node has consumed the same number of segments, so a match visits each
// node at most once.
type node struct {
	label    string           // static segment text (children of statics)
	statics  []*node          // static children, scanned linearly when few
	index    map[string]*node // static children by label, when many
	param    *node            // ":name" child
	pidx     int              // for a param node: its index in the params
	end      *entry           // route ending at this node
	catchAll *entry           // route ending in "*name" below this node
}

// entry is one route at its terminal node.
type entry struct {
	route *config.Route
	names []string // parameter names in pattern order
}

const indexThreshold = 8

// New builds the table. Patterns must parse and no two routes may have the
// same shape; config.Load already reports both with positions.
func New(routes []*config.Route) (*Table, error) {
	t := &Table{routes: append([]*config.Route(nil), routes...)}
	for _, r := range routes {
		segs, err := config.ParsePattern(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Pattern, err)
		}
		if err := t.insert(r, segs); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Table) insert(r *config.Route, segs []config.Segment) error {
	n, e := &t.root, &entry{route: r}
	for _, s := range segs {
		switch s.Kind {
		case config.SegmentStatic:
			n = n.staticChild(s.Value)
		case config.SegmentParam:
			if n.param == nil {
				n.param = &node{pidx: len(e.names)}
			}
			n = n.param
		case config.SegmentCatchAll:
			e.names = append(e.names, s.Value)
			return setEntry(&n.catchAll, e)
		}
		if s.Kind == config.SegmentParam {
			e.names = append(e.names, s.Value)
		}
	}
	return setEntry(&n.end, e)
}

func setEntry(slot **entry, e *entry) error {
	if *slot != nil {
		return fmt.Errorf("%w: %q and %q", ErrConflict, (*slot).route.Pattern, e.route.Pattern)
	}
	*slot = e
	return nil
}

func (n *node) staticChild(label string) *node {
	if c := n.child(label); c != nil {
		return c
	}
	c := &node{label: label}
	n.statics = append(n.statics, c)
	if len(n.statics) > indexThreshold {
		n.index = make(map[string]*node, len(n.statics))
		for _, s := range n.statics {
			n.index[s.label] = s
		}
	}
	return c
}

func (n *node) child(label string) *node {
	if n.index != nil {
		return n.index[label]
	}
	for _, c := range n.statics {
		if c.label == label {
			return c
		}
	}
	return nil
}

// Match finds the route for a normalized path (see Normalize) and its
// parameters in pattern order. It allocates only the params slice, and
// nothing for routes without parameters.
func (t *Table) Match(path string) (route *config.Route, params []render.Param, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, nil, false
	}
	if path == "/" {
		path = ""
	}
	e, params := t.root.match(path)
	if e == nil {
		return nil, nil, false
	}
	return e.route, params, true
}

// match matches rest, which is "" or starts with '/', below n.
func (n *node) match(rest string) (*entry, []render.Param) {
	if rest == "" {
		if n.end != nil {
			return n.end, n.end.params()
		}
		return n.catchAll, n.catchAll.params() // value "" or no match
	}
	seg, tail := rest[1:], ""
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg, tail = seg[:i], seg[i:]
	}
	if c := n.child(seg); c != nil {
		if e, p := c.match(tail); e != nil {
			return e, p
		}
	}
	if n.param != nil && seg != "" {
		if e, p := n.param.match(tail); e != nil {
			p[n.param.pidx].Value = seg
			return e, p
		}
	}
	if n.catchAll == nil {
		return nil, nil
	}
	p := n.catchAll.params()
	p[len(p)-1].Value = rest[1:]
	return n.catchAll, p
}

// params allocates the parameter slice with names filled in.
func (e *entry) params() []render.Param {
	if e == nil || len(e.names) == 0 {
		return nil
	}
	p := make([]render.Param, len(e.names))
	for i, name := range e.names {
		p[i].Name = name
	}
	return p
}

// Routes returns the routes in configuration order.
func (t *Table) Routes() []*config.Route {
	return append([]*config.Route(nil), t.routes...)
}

// Expand fills a pattern's parameters by name: the inverse of Match.
// A missing parameter expands to "". An empty catch-all drops its slash
// ("/docs/*path" with path "" is "/docs").
func Expand(pattern string, params []render.Param) string {
	segs, err := config.ParsePattern(pattern)
	if err != nil || len(segs) == 0 {
		return pattern
	}
	var b strings.Builder
	for _, s := range segs {
		v := s.Value
		if s.Kind != config.SegmentStatic {
			v = lookup(params, s.Value)
		}
		if s.Kind == config.SegmentCatchAll && v == "" {
			break
		}
		b.WriteByte('/')
		b.WriteString(v)
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func lookup(params []render.Param, name string) string {
	for _, p := range params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
