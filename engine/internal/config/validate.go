package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// validate checks references between blocks and fills defaults that
// depend on other blocks. Missing required attributes were reported while
// decoding, so empty references are skipped here to avoid repeats.
func (d *decoder) validate() {
	s := d.site
	renderers := unique(d, s.Renderers, "renderer", func(r *Renderer) (string, Pos) { return r.Name, r.Pos })
	sources := unique(d, s.DataSources, "data_source", func(x *DataSource) (string, Pos) { return x.Name, x.Pos })
	unique(d, s.OnChange, "on_change", func(o *OnChange) (string, Pos) { return o.Name, o.Pos })
	unique(d, s.Static, "static", func(x *Static) (string, Pos) { return x.Prefix, x.Pos })
	for _, r := range s.Renderers {
		d.checkRendererData(r, sources)
	}
	d.checkRoutes(renderers)
	for _, o := range s.OnChange {
		if o.Source != "" && sources[o.Source] == nil {
			d.errorf(d.onChangeRange[o], "Unknown data source", "on_change %q refers to data source %q, which is not defined%s.", o.Name, o.Source, known(sources))
		}
	}
	if s.NotFound != "" && renderers[s.NotFound] == nil {
		d.errorf(d.notFoundRange, "Unknown renderer", "not_found refers to renderer %q, which is not defined%s.", s.NotFound, known(renderers))
	}
}

// unique reports blocks whose name repeats an earlier one and returns the
// blocks by name (first wins).
func unique[T any](d *decoder, xs []T, kind string, key func(T) (string, Pos)) map[string]T {
	m := make(map[string]T, len(xs))
	first := map[string]Pos{}
	for _, x := range xs {
		name, pos := key(x)
		if p, dup := first[name]; dup {
			d.errorf(d.rangeAt(pos), "Duplicate "+kind, "%s %q is already defined at %s:%d:%d.", kind, name, p.File, p.Line, p.Column)
			continue
		}
		first[name] = pos
		m[name] = x
	}
	return m
}

func (d *decoder) checkRendererData(r *Renderer, sources map[string]*DataSource) {
	switch {
	case r.Data != "" && sources[r.Data] == nil:
		d.errorf(d.rendererData[r], "Unknown data source", "renderer %q refers to data source %q, which is not defined%s.", r.Name, r.Data, known(sources))
	case r.Data == "" && len(sources) == 1:
		r.Data = d.site.DataSources[0].Name
	case r.Data == "" && len(sources) > 1:
		d.errorf(d.rangeAt(r.Pos), "Missing data source", "renderer %q must say which data source it reads (data = \"...\"), because there are several%s.", r.Name, known(sources))
	}
}

func (d *decoder) checkRoutes(renderers map[string]*Renderer) {
	shapes := map[string]*Route{}
	for _, r := range d.site.Routes {
		rr := d.routeRanges[r]
		if segs, err := ParsePattern(r.Pattern); err == nil {
			shape := Shape(segs)
			if prev := shapes[shape]; prev != nil && prev.Pattern == r.Pattern {
				d.errorf(rr.label, "Duplicate route", "route %q is already defined at %s.", r.Pattern, prev.Pos)
			} else if prev != nil {
				d.errorf(rr.label, "Conflicting route", "route %q matches exactly the same paths as route %q at %s:%d:%d.", r.Pattern, prev.Pattern, prev.Pos.File, prev.Pos.Line, prev.Pos.Column)
			} else {
				shapes[shape] = r
			}
		}
		if rd := renderers[r.Renderer]; rd != nil && r.Timeout == 0 {
			r.Timeout = rd.Timeout
		}
		if r.Renderer != "" && renderers[r.Renderer] == nil {
			d.errorf(rr.renderer, "Unknown renderer", "route %q refers to renderer %q, which is not defined%s.", r.Pattern, r.Renderer, known(renderers))
		}
		if r.FallbackRenderer != "" && renderers[r.FallbackRenderer] == nil {
			d.errorf(rr.fallbackRenderer, "Unknown renderer", "route %q refers to fallback_renderer %q, which is not defined%s.", r.Pattern, r.FallbackRenderer, known(renderers))
		}
	}
}

// rangeAt turns a recorded block position back into a range for messages.
func (d *decoder) rangeAt(p Pos) hcl.Range { return d.ranges[p] }

// known lists the defined names for "did you mean" style messages.
func known[T any](m map[string]T) string {
	if len(m) == 0 {
		return " (none are defined)"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return "; defined: " + strings.Join(names, ", ")
}
