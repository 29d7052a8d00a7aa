package snapshot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b": 1, "a": [1, 2]}`, `{"a":[1,2],"b":1}`},
		{`{"a":{"y":null,"x":true}}`, `{"a":{"x":true,"y":null}}`},
		{`"a\u003eb \u00e9 \/"`, `"a>b é /"`},
		{`"tab\there"`, `"tab\there"`},
		{`1`, `1`},
		{`-0`, `0`},
		{`0.0`, `0`},
		{`1.0`, `1`},
		{`10e-1`, `1`},
		{`0.1e1`, `1`},
		{`1E2`, `100`},
		{`1.50`, `1.5e0`},
		{`-0.025`, `-2.5e-2`},
		{`123456789012345678901234567890`, `123456789012345678901234567890`},
		{`1e100`, `1e100`},
		{`12345678901234567890123456789012345678901234567890`, `1.234567890123456789012345678901234567890123456789e49`},
		{`1e99999999999`, `1e99999999999`},
		{` [ ] `, `[]`},
	}
	for _, tt := range tests {
		got, ok := Canonical([]byte(tt.in))
		if !ok || string(got) != tt.want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{``, `{`, `1 2`, `{"a":1}x`, `nul`} {
		if _, ok := Canonical([]byte(bad)); ok {
			t.Errorf("Canonical(%q) accepted", bad)
		}
	}
}

// TestReorderIsNoChange: member order, whitespace and escapes are not
// changes; a changed number is.
func TestReorderIsNoChange(t *testing.T) {
	s := open(t, t.TempDir(), set(`a={"x":1,"y":"<b>"}`, `b=[1.0]`), nil)
	if s.Update(set(`a={ "y": "\u003cb\u003e", "x": 1 }`, `b=[1]`), nil) {
		t.Error("a reordered, reindented, re-escaped set changed")
	}
	if got := get(t, s, "a"); got != `{ "y": "\u003cb\u003e", "x": 1 }@1` {
		t.Errorf("a = %s, want the new bytes at the old revision", got)
	}
	if !s.Update(set(`a={"x":2,"y":"<b>"}`, `b=[1]`), nil) || get(t, s, "a") != `{"x":2,"y":"<b>"}@3` {
		t.Errorf("a real change: a = %s", get(t, s, "a"))
	}
}

// TestLegacyStateUpgrade: a state file from before canonical hashing
// (hashes of the bytes as they were) matches its values once, fires no
// change, and is rewritten with canonical hashes.
func TestLegacyStateUpgrade(t *testing.T) {
	dir := t.TempDir()
	v := `{"title":"A","date":"2022"}`
	legacy, _ := json.Marshal(stateDoc{Revision: 7, Keys: map[string]stateEntry{"a": {Revision: 7, Hash: legacyHash([]byte(v))}}})
	if err := os.WriteFile(filepath.Join(dir, "state"), legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, set("a="+v), nil)
	if got := get(t, s, "a"); got != v+"@7" {
		t.Errorf("a = %s, want it unchanged at 7", got)
	}
	st, err := readState(filepath.Join(dir, "state"))
	if err != nil || !st.Canonical || st.Keys["a"].Hash != hashValue([]byte(v)) {
		t.Errorf("state after upgrade = %+v, %v", st, err)
	}
	s2 := New("test", hclog.NewNullLogger())
	if ds := s2.Open(StateFile{Path: filepath.Join(dir, "state")}, set("a="+v), nil); ds != nil || get(t, s2, "a") != v+"@7" {
		t.Errorf("reopened: a = %s, %v", get(t, s2, "a"), ds)
	}
}

// FuzzCanonical: the canonical form is valid JSON, a fixed point, and
// equal for a value and its compacted and indented forms.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.50,"\u003e"]}`, `-0.0e-0`, `"\ud800"`, `[{"a":{}}]`, `1e400`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := Canonical(b)
		if !ok {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("Canonical(%q) = %q is not JSON", b, c)
		}
		if again, ok := Canonical(c); !ok || string(again) != string(c) {
			t.Fatalf("not a fixed point: %q -> %q", c, again)
		}
		var buf []byte
		if ind, err := json.MarshalIndent(json.RawMessage(b), "", "  "); err == nil {
			buf = ind
			if ci, _ := Canonical(buf); string(ci) != string(c) {
				t.Fatalf("indented %q canonical %q, want %q", buf, ci, c)
			}
		}
	})
}
