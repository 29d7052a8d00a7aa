package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Values are compared by a hash of their canonical JSON: object members
// sorted by key, no insignificant whitespace, strings with the fewest
// escapes, numbers in one form. Reordering members (`jq -S`), reindenting
// a file or writing `\u003e` for `>` is then no change. A value that is not
// JSON is hashed as it is.

// hashValue returns the hash of v's canonical form.
func hashValue(v []byte) string {
	if c, ok := Canonical(v); ok {
		v = c
	}
	return shortHash(v)
}

// legacyHash is the hash state files written before canonical hashing
// hold: of the value's bytes as they were.
func legacyHash(v []byte) string { return shortHash(v) }

func shortHash(v []byte) string {
	sum := sha256.Sum256(v)
	return hex.EncodeToString(sum[:16])
}

// Canonical returns the canonical form of the JSON value v; ok is false
// when v is not one JSON value.
func Canonical(v []byte) (_ []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	var buf bytes.Buffer
	writeCanonical(&buf, x)
	return buf.Bytes(), true
}

func writeCanonical(buf *bytes.Buffer, x any) {
	switch x := x.(type) {
	case map[string]any:
		buf.WriteByte('{')
		for i, k := range slices.Sorted(mapKeys(x)) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeCanonical(buf, x[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, e)
		}
		buf.WriteByte(']')
	case string:
		writeString(buf, x)
	case json.Number:
		buf.WriteString(canonicalNumber(string(x)))
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	default: // nil
		buf.WriteString("null")
	}
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string cannot fail
	buf.Truncate(buf.Len() - 1)
}

// canonicalNumber rewrites a JSON number literal exactly (no rounding):
// integers as plain digits, others as d.ddde±n with no trailing zeros.
// 1, 1.0, 10e-1 and 0.1e1 are all "1"; -0 is "0".
func canonicalNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, _ := strings.Cut(strings.ToLower(s), "e")
	exp, err := strconv.ParseInt(expText, 10, 32)
	if expText == "" {
		exp, err = 0, nil
	}
	if err != nil {
		return s // an exponent beyond int32: keep the literal
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	e := exp - int64(len(frac)) // value = digits × 10^e
	trimmed := strings.TrimRight(digits, "0")
	e += int64(len(digits) - len(trimmed))
	digits = trimmed
	if digits == "" {
		return "0"
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if e >= 0 && int64(len(digits))+e <= 40 {
		return sign + digits + strings.Repeat("0", int(e))
	}
	sci := e + int64(len(digits)) - 1
	out := sign + digits[:1]
	if len(digits) > 1 {
		out += "." + digits[1:]
	}
	return out + "e" + strconv.FormatInt(sci, 10)
}
