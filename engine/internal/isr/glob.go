package isr

import "strings"

// Glob reports whether key matches pattern, where `*` matches any run of
// characters (including none) and everything else matches itself.
//
// It runs in time linear in the lengths of pattern and key: the literal
// runs between stars are found left to right, each at its leftmost
// occurrence after the previous one. Leftmost is always right for a
// star-only glob (a later match of a run leaves less room for the rest),
// so there is nothing to backtrack.
func Glob(pattern, key string) bool {
	first, rest, starred := strings.Cut(pattern, "*")
	if !starred {
		return pattern == key
	}
	if !strings.HasPrefix(key, first) {
		return false
	}
	key = key[len(first):]
	i := strings.LastIndexByte(rest, '*')
	last := rest
	if i >= 0 {
		last = rest[i+1:]
		rest = rest[:i]
	} else {
		rest = ""
	}
	if len(key) < len(last) || !strings.HasSuffix(key, last) {
		return false
	}
	key = key[:len(key)-len(last)]
	for rest != "" {
		var run string
		run, rest, _ = strings.Cut(rest, "*")
		j := strings.Index(key, run)
		if j < 0 {
			return false
		}
		key = key[j+len(run):]
	}
	return true
}
