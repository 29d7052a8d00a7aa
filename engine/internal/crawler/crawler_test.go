package crawler

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func lines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := s.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestIs(t *testing.T) {
	for _, tt := range []struct {
		file string
		want bool
	}{
		{"testdata/browsers.txt", false},
		{"testdata/crawlers.txt", true},
	} {
		for _, ua := range lines(t, tt.file) {
			if got := Is([]byte(ua)); got != tt.want {
				t.Errorf("Is(%q) = %v, want %v", ua, got, tt.want)
			}
		}
	}
	if Is(nil) {
		t.Error("an empty User-Agent is a crawler")
	}
}

// TestListInstances checks every example User-Agent the list gives for
// its patterns, as the list's own tests do.
func TestListInstances(t *testing.T) {
	var list []entry
	if err := json.Unmarshal(listJSON, &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list {
		for _, ua := range e.Instances {
			n++
			if !Is([]byte(ua)) {
				t.Errorf("pattern %q: instance %q is not a crawler", e.Pattern, ua)
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d instances in the list", n)
	}
}

// naive matches ua against every pattern, the reference Match is fuzzed
// against.
func naive(m *Matcher, ua []byte) bool {
	for _, re := range m.res {
		if re.Match(ua) {
			return true
		}
	}
	return false
}

func FuzzMatch(f *testing.F) {
	for _, file := range []string{"testdata/browsers.txt", "testdata/crawlers.txt"} {
		for _, ua := range lines(&testing.T{}, file) {
			f.Add(ua)
		}
	}
	f.Add("xbot")
	m := Default()
	f.Fuzz(func(t *testing.T, ua string) {
		if got, want := m.Match([]byte(ua)), naive(m, []byte(ua)); got != want {
			t.Fatalf("Match(%q) = %v, naive %v", ua, got, want)
		}
	})
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{`Googlebot\/`, "Googlebot/"},
		{`[wW]get`, "get"},
		{`AdsBot-Google([^-]|$)`, "AdsBot-Google"},
		{`(sistrix|SISTRIX) [cC]rawler`, "sistrix SISTRIX"},
		{`^curl`, "curl"},
		{`(?i)bot`, ""},
		{`a?b`, "b"},
		{`(abc)+x`, "abc"},
		{`(abc)*x`, "x"},
		{`Chirp|gotosocial`, "Chirp gotosocial"},
		{`Chirp|.*`, ""},
	}
	for _, tt := range tests {
		got, err := requiredLiterals(tt.pattern)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("requiredLiterals(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
		}
	}
}

// TestEveryPatternIndexed keeps the list cheap: a pattern without a
// literal set runs against every User-Agent.
func TestEveryPatternIndexed(t *testing.T) {
	m := Default()
	for _, i := range m.always {
		t.Errorf("pattern %q has no required literal", m.res[i])
	}
}

func BenchmarkIsBrowser(b *testing.B) {
	ua := []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	Default()
	b.ReportAllocs()
	for b.Loop() {
		Is(ua)
	}
}
