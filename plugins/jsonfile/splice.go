package jsonfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A write changes one member of the file's top-level object in place:
// every other byte of the file stays as it was (order, indentation,
// escapes, the final newline). The new value is written compact when the
// value it replaces (or, for a new key, the file) is on one line, and
// indented like its neighbours otherwise.

// member is the byte spans of one top-level member.
type member struct {
	key        string
	start      int // the key's opening quote
	keyEnd     int // after the key's closing quote
	valueStart int
	end        int // after the value
}

// object is the top-level object's spans.
type object struct {
	open, close int // the braces
	members     []member
}

// scanObject finds the spans of b's top-level members. b must hold one JSON
// object.
func scanObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return object{}, errors.New("top level must be a JSON object")
	}
	obj := object{open: int(dec.InputOffset()) - 1}
	for dec.More() {
		m, err := scanMember(dec, b)
		if err != nil {
			return object{}, err
		}
		obj.members = append(obj.members, m)
	}
	if _, err := dec.Token(); err != nil {
		return object{}, err
	}
	obj.close = int(dec.InputOffset()) - 1
	return obj, nil
}

func scanMember(dec *json.Decoder, b []byte) (member, error) {
	from := int(dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return member{}, err
	}
	m := member{key: tok.(string), keyEnd: int(dec.InputOffset())}
	m.start = from + bytes.IndexByte(b[from:], '"')
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return member{}, err
	}
	m.end = int(dec.InputOffset())
	m.valueStart = m.end - len(raw)
	return m, nil
}

// splice returns b with key set to value (compact JSON), or removed when
// value is nil.
func splice(b []byte, key string, value []byte) ([]byte, error) {
	if value != nil && !utf8.ValidString(key) {
		return nil, fmt.Errorf("key %q is not valid UTF-8, which JSON cannot hold", key)
	}
	for {
		obj, err := scanObject(b)
		if err != nil {
			return nil, err
		}
		idx := obj.indexes(key)
		switch {
		case value == nil && len(idx) == 0:
			return b, nil
		case value == nil || len(idx) > 1: // duplicates go first; the last one counts
			b = obj.remove(b, idx[0])
		case len(idx) == 1:
			return obj.replace(b, idx[0], value), nil
		default:
			return obj.insert(b, key, value), nil
		}
	}
}

func (o object) indexes(key string) []int {
	var idx []int
	for i, m := range o.members {
		if m.key == key {
			idx = append(idx, i)
		}
	}
	return idx
}

// remove cuts member i with the separator before it (or after it, for the
// first member).
func (o object) remove(b []byte, i int) []byte {
	from, to := o.open+1, o.close
	switch {
	case i > 0:
		from, to = o.members[i-1].end, o.members[i].end
	case len(o.members) > 1:
		from, to = o.members[0].start, o.members[1].start
	}
	return slices.Concat(b[:from], b[to:])
}

func (o object) replace(b []byte, i int, value []byte) []byte {
	m := o.members[i]
	old := b[m.valueStart:m.end]
	if !bytes.Contains(old, []byte("\n")) {
		return slices.Concat(b[:m.valueStart], value, b[m.end:])
	}
	return slices.Concat(b[:m.valueStart], indent(value, lineIndent(b, m.start)), b[m.end:])
}

// insert adds key at its place in key order when the keys are sorted, at
// the end otherwise, separated and indented like the other members.
func (o object) insert(b []byte, key string, value []byte) []byte {
	if len(o.members) == 0 {
		return slices.Concat(b[:o.open+1], []byte("\n  "), encodeKey(key), []byte(": "), indent(value, "  "), []byte("\n"), b[o.close:])
	}
	first, last := o.members[0], o.members[len(o.members)-1]
	sep := append([]byte(","), b[o.open+1:first.start]...) // "," + what comes before the first member
	if len(o.members) > 1 {
		sep = b[o.members[len(o.members)-2].end:last.start]
	}
	colon := b[first.keyEnd:first.valueStart]
	if bytes.Contains(b[o.open:o.close], []byte("\n")) {
		value = indent(value, lineIndent(b, first.start))
	}
	kv := slices.Concat(encodeKey(key), colon, value)
	if at, ok := o.sortedPlace(key); ok {
		return slices.Concat(b[:at], kv, sep, b[at:])
	}
	return slices.Concat(b[:last.end], sep, kv, b[last.end:])
}

// sortedPlace is where key goes when the members are in key order and key
// is not last.
func (o object) sortedPlace(key string) (int, bool) {
	if !slices.IsSortedFunc(o.members, func(a, b member) int { return strings.Compare(a.key, b.key) }) {
		return 0, false
	}
	for _, m := range o.members {
		if m.key > key {
			return m.start, true
		}
	}
	return 0, false
}

// lineIndent is the whitespace that starts the line holding offset i.
func lineIndent(b []byte, i int) string {
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	end := start
	for end < i && (b[end] == ' ' || b[end] == '\t') {
		end++
	}
	return string(b[start:end])
}

// indent lays out a compact value over lines, nested one level per depth
// with the file's unit (a member's own indentation).
func indent(value []byte, unit string) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, value, unit, unit); err != nil {
		return value
	}
	return buf.Bytes()
}

// encodeKey writes a key as a JSON string, without HTML escaping.
func encodeKey(key string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(key) // a string cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// checkSplice verifies an edit: after must hold what before held, with key
// set to value or removed. It guards the file against a bug here.
func checkSplice(before, after []byte, key string, value []byte) error {
	want, err := parseData(before)
	if err != nil {
		return err
	}
	if value == nil {
		delete(want, key)
	} else {
		want[key] = value
	}
	got, err := parseData(after)
	if err != nil {
		return fmt.Errorf("edit made the file invalid: %w", err)
	}
	if len(got) != len(want) {
		return fmt.Errorf("edit changed %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			return fmt.Errorf("edit changed key %q", k)
		}
	}
	return nil
}
