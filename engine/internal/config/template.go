package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// templateFuncs are the functions on_change templates may call.
var templateFuncs = map[string]function.Function{
	"lower":      stdlib.LowerFunc,
	"upper":      stdlib.UpperFunc,
	"replace":    stdlib.ReplaceFunc,
	"format":     stdlib.FormatFunc,
	"join":       stdlib.JoinFunc,
	"trimprefix": stdlib.TrimPrefixFunc,
	"trimsuffix": stdlib.TrimSuffixFunc,
	"try":        tryfunc.TryFunc,
	"can":        tryfunc.CanFunc,
}

// templates compiles a list attribute of string templates. Each element is
// checked against an unknown item so typos in `item.x` fail at load time.
func (d *decoder) templates(a *attrs, o *OnChange, name string) []Template {
	attr, ok := a.m[name]
	if !ok {
		return nil
	}
	exprs, diags := hcl.ExprList(attr.Expr)
	a.diags = append(a.diags, diags...)
	out := make([]Template, 0, len(exprs))
	for _, e := range exprs {
		v, diags := e.Value(evalContext(unknownItem))
		a.diags = append(a.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if _, err := convert.Convert(v, cty.String); err != nil {
			a.errorf(e.Range(), "Invalid template", "Each %s entry must produce a string, not %s.", name, v.Type().FriendlyName())
			continue
		}
		out = append(out, d.template(o, e))
	}
	return out
}

var unknownItem = cty.ObjectVal(map[string]cty.Value{
	"key":     cty.UnknownVal(cty.String),
	"deleted": cty.UnknownVal(cty.Bool),
	"value":   cty.DynamicVal,
})

func evalContext(item cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"item": item},
		Functions: templateFuncs,
	}
}

func (d *decoder) template(o *OnChange, e hcl.Expression) Template {
	rng := e.Range()
	where := fmt.Sprintf("on_change %q at %s:%d:%d", o.Name, rng.Filename, rng.Start.Line, rng.Start.Column)
	src := string(rng.SliceBytes(d.src))
	return Template{Source: src, eval: func(item EventItem) (string, error) {
		s, err := evalTemplate(e, item)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", where, src, err)
		}
		return s, nil
	}}
}

func evalTemplate(e hcl.Expression, item EventItem) (string, error) {
	v, diags := e.Value(evalContext(itemValue(item)))
	if diags.HasErrors() {
		return "", diagsError(diags)
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() || !s.IsKnown() {
		return "", fmt.Errorf("result is %s, not a string", v.Type().FriendlyName())
	}
	return s.AsString(), nil
}

// itemValue exposes an event item to templates: value is the JSON decoded,
// a plain string when it is not JSON, and null when empty.
func itemValue(item EventItem) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"key":     cty.StringVal(item.Key),
		"deleted": cty.BoolVal(item.Deleted),
		"value":   jsonValue(item.Value),
	})
}

func jsonValue(b []byte) cty.Value {
	if len(b) == 0 {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if t, err := ctyjson.ImpliedType(b); err == nil {
		if v, err := ctyjson.Unmarshal(b, t); err == nil {
			return v
		}
	}
	return cty.StringVal(strings.ToValidUTF8(string(b), "\uFFFD"))
}

func diagsError(diags hcl.Diagnostics) error {
	msgs := make([]string, 0, len(diags))
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			msgs = append(msgs, strings.TrimSuffix(d.Summary+": "+d.Detail, ": "))
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}
