// Package crawler tells crawlers and other non-browser clients from
// browsers by their User-Agent, with the crawler-user-agents pattern list
// (github.com/monperrus/crawler-user-agents, MIT, vendored with its
// LICENSE in this directory).
//
// The list has about 1,500 regular expressions. Matching each against a
// User-Agent would cost milliseconds, so every pattern is indexed by a set
// of literals one of which every match contains (from its syntax tree): a
// User-Agent is scanned once for those literals, and only the patterns
// whose literal occurs are run. A pattern with no such set would run every
// time; the list has none today (a test says so).
package crawler

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"sync"
)

//go:embed crawler-user-agents.json
var listJSON []byte

// entry is one pattern of the list.
type entry struct {
	Pattern   string   `json:"pattern"`
	Instances []string `json:"instances"`
}

// Matcher matches User-Agents against a pattern list.
type Matcher struct {
	short  [][]lit          // literals shorter than gramLen, by first byte
	grams  map[uint32][]lit // literals by their first gramLen bytes
	res    []*regexp.Regexp // each pattern, compiled
	always []int            // patterns without a literal set
}

// lit is one literal of pattern i's set.
type lit struct {
	s string
	i int
}

const gramLen = 3

// New compiles a matcher for patterns (Go regexp syntax).
func New(patterns []string) (*Matcher, error) {
	m := &Matcher{short: make([][]lit, 256), grams: map[uint32][]lit{}}
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("crawler pattern %q: %w", p, err)
		}
		set, err := requiredLiterals(p)
		if err != nil {
			return nil, fmt.Errorf("crawler pattern %q: %w", p, err)
		}
		m.res = append(m.res, re)
		if set == nil {
			m.always = append(m.always, i)
		}
		for _, s := range set {
			if len(s) < gramLen {
				m.short[s[0]] = append(m.short[s[0]], lit{s, i})
			} else {
				g := gram(s)
				m.grams[g] = append(m.grams[g], lit{s, i})
			}
		}
	}
	return m, nil
}

func gram(b string) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

// Match reports whether ua matches any pattern. It does not allocate
// unless a candidate pattern runs.
func (m *Matcher) Match(ua []byte) bool {
	for _, i := range m.always {
		if m.res[i].Match(ua) {
			return true
		}
	}
	for at := range ua {
		for _, l := range m.short[ua[at]] {
			if m.try(l, ua, at) {
				return true
			}
		}
		if at+gramLen > len(ua) {
			continue
		}
		g := uint32(ua[at]) | uint32(ua[at+1])<<8 | uint32(ua[at+2])<<16
		for _, l := range m.grams[g] {
			if m.try(l, ua, at) {
				return true
			}
		}
	}
	return false
}

// try runs l's pattern if l occurs at ua[at:].
func (m *Matcher) try(l lit, ua []byte, at int) bool {
	if len(ua)-at < len(l.s) || string(ua[at:at+len(l.s)]) != l.s {
		return false
	}
	return m.res[l.i].Match(ua)
}

// requiredLiterals returns a set of case-sensitive literals one of which
// every match of pattern contains, or nil if there is none.
func requiredLiterals(pattern string) ([]string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	return literals(re.Simplify()), nil
}

// literals is requiredLiterals on a syntax tree. For a concatenation it
// picks the child whose set has the longest shortest literal.
func literals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return literals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literals(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []string
		for _, sub := range re.Sub {
			if l := literals(sub); l != nil && (best == nil || shortest(l) > shortest(best)) {
				best = l
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l := literals(sub)
			if l == nil {
				return nil
			}
			all = append(all, l...)
		}
		return all
	}
	return nil
}

func shortest(l []string) int {
	n := len(l[0])
	for _, s := range l[1:] {
		n = min(n, len(s))
	}
	return n
}

var (
	defaultOnce    sync.Once
	defaultMatcher *Matcher
)

// Default is the matcher for the vendored list.
func Default() *Matcher {
	defaultOnce.Do(func() {
		var list []entry
		if err := json.Unmarshal(listJSON, &list); err != nil {
			panic("crawler: vendored list: " + err.Error())
		}
		patterns := make([]string, len(list))
		for i, e := range list {
			patterns[i] = e.Pattern
		}
		m, err := New(patterns)
		if err != nil {
			panic(err)
		}
		defaultMatcher = m
	})
	return defaultMatcher
}

// Is reports whether ua is a crawler's (or another non-browser client's)
// User-Agent, by the vendored list.
func Is(ua []byte) bool {
	if len(ua) == 0 {
		return false
	}
	return Default().Match(ua)
}
