package config

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// attrs wraps one block's attributes and collects diagnostics while
// values are read out of it, so decoders read like struct literals.
type attrs struct {
	m     hcl.Attributes
	diags hcl.Diagnostics
	bad   map[string]bool // attributes already reported
}

func (a *attrs) mark(name string) {
	if a.bad == nil {
		a.bad = map[string]bool{}
	}
	a.bad[name] = true
}

// fail reports a problem with the named attribute's value.
func (a *attrs) fail(name, summary, format string, args ...any) {
	a.mark(name)
	a.errorf(a.rng(name), summary, format, args...)
}

func (a *attrs) errorf(rng hcl.Range, summary, format string, args ...any) {
	a.diags = append(a.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// value evaluates an attribute without variables or functions; ok is
// false when it is absent, null or failed (failures are recorded).
func (a *attrs) value(name string) (cty.Value, bool) {
	attr, ok := a.m[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := attr.Expr.Value(nil)
	a.diags = append(a.diags, diags...)
	if diags.HasErrors() {
		a.mark(name)
	}
	if diags.HasErrors() || v.IsNull() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

func (a *attrs) has(name string) bool { _, ok := a.m[name]; return ok }

func (a *attrs) rng(name string) hcl.Range { return a.m[name].Expr.Range() }

// str reads a string attribute, or def when absent.
func (a *attrs) str(name, def string) string {
	v, ok := a.value(name)
	if !ok {
		return def
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		a.fail(name, "Incorrect attribute value type", "%s must be a string.", name)
		return def
	}
	return s.AsString()
}

// strs reads a list of strings, nil when absent.
func (a *attrs) strs(name string) []string {
	v, ok := a.value(name)
	if !ok {
		return nil
	}
	l, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || !l.IsWhollyKnown() {
		a.fail(name, "Incorrect attribute value type", "%s must be a list of strings.", name)
		return nil
	}
	out := []string{}
	for _, e := range l.AsValueSlice() {
		if e.IsNull() {
			a.fail(name, "Incorrect attribute value type", "%s must not contain null.", name)
			continue
		}
		out = append(out, e.AsString())
	}
	return out
}

// strMap reads a map of strings (an object or map expression), nil when
// absent.
func (a *attrs) strMap(name string) map[string]string {
	v, ok := a.value(name)
	if !ok {
		return nil
	}
	m, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil || !m.IsWhollyKnown() {
		a.fail(name, "Incorrect attribute value type", "%s must be a map of strings, like { NAME = \"value\" }.", name)
		return nil
	}
	out := map[string]string{}
	for k, e := range m.AsValueMap() {
		if e.IsNull() {
			a.fail(name, "Incorrect attribute value type", "%s must not contain null.", name)
			continue
		}
		out[k] = e.AsString()
	}
	return out
}

// integer reads a whole number, or def when absent.
func (a *attrs) integer(name string, def, min, max int64) int64 {
	v, ok := a.value(name)
	if !ok {
		return def
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		a.fail(name, "Incorrect attribute value type", "%s must be a whole number.", name)
		return def
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != big.Exact || i < min || i > max {
		a.fail(name, "Invalid value", "%s must be a whole number from %d to %d.", name, min, max)
		return def
	}
	return i
}

// duration reads a Go duration string ("10s", "1h30m") or a number of
// seconds; negative values are errors.
func (a *attrs) duration(name string, def time.Duration) time.Duration {
	v, ok := a.value(name)
	if !ok {
		return def
	}
	d, err := parseDuration(v)
	if err != nil {
		a.fail(name, "Invalid duration", "%s: %s.", name, err)
		return def
	}
	return d
}

func parseDuration(v cty.Value) (time.Duration, error) {
	if v.Type() == cty.Number {
		return secondsDuration(v.AsBigFloat())
	}
	if v.Type() != cty.String {
		return 0, fmt.Errorf("want a duration string like \"10s\" or a number of seconds, got %s", v.Type().FriendlyName())
	}
	s := strings.TrimSpace(v.AsString())
	if f, ok := new(big.Float).SetString(s); ok {
		return secondsDuration(f)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like \"10s\" or \"1h30m\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

func secondsDuration(f *big.Float) (time.Duration, error) {
	sec, _ := f.Float64()
	if sec < 0 {
		return 0, fmt.Errorf("%v seconds is negative", sec)
	}
	if sec > math.MaxInt64/float64(time.Second) {
		return 0, fmt.Errorf("%v seconds is too long", sec)
	}
	return time.Duration(sec * float64(time.Second)), nil
}

// size reads a byte size ("64MiB", "1GB", "512KB") or a number of bytes.
func (a *attrs) size(name string, def, max int64) int64 {
	v, ok := a.value(name)
	if !ok {
		return def
	}
	n, err := parseSize(v)
	if err == nil && n > max {
		err = fmt.Errorf("at most %d bytes", max)
	}
	if err != nil {
		a.fail(name, "Invalid size", "%s: %s.", name, err)
		return def
	}
	return n
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

func parseSize(v cty.Value) (int64, error) {
	var s string
	switch v.Type() {
	case cty.Number:
		s = v.AsBigFloat().Text('f', -1)
	case cty.String:
		s = strings.TrimSpace(v.AsString())
	default:
		return 0, fmt.Errorf("want a size like \"64MiB\" or a number of bytes, got %s", v.Type().FriendlyName())
	}
	i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || r == ' ' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	f, err := strconv.ParseFloat(num, 64)
	mult, ok := sizeUnits[unit]
	if err != nil || !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a size like \"64MiB\", \"1GB\" or \"512KB\"", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	n := f * mult
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(n), nil
}
