package markdown

import "testing"

// The conversions themselves are checked against goldmark in
// internal/layout (TestFastSameBytes, FuzzFastSameBytes, FuzzFastTokens),
// where the blog's goldmark configuration lives.

func TestConvert(t *testing.T) {
	tests := []struct {
		name, src, want string
		ok              bool
	}{
		{"paragraph", "a *b*\nc", "<p>a <em>b</em>\nc</p>\n", true},
		{"heading ids repeat", "# A\n# A\n# A-1", "<h1 id=\"a\">A</h1>\n<h1 id=\"a-1\">A</h1>\n<h1 id=\"a-1-1\">A-1</h1>\n", true},
		{"list", "- a\n- b\n", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n", true},
		{"ordered from 3", "3. a\n4. b\n", "<ol start=\"3\">\n<li>a</li>\n<li>b</li>\n</ol>\n", true},
		{"raw HTML", "<b>x</b>", "", false},
		{"entity", "&amp;", "", false},
		{"setext", "a\n--", "", false},
	}
	var c Converter
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Convert(nil, tt.src)
			if ok != tt.ok || ok && string(got) != tt.want {
				t.Errorf("Convert(%q) = %q, %v; want %q, %v", tt.src, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestConvertDoesNotAllocate converts into a buffer that is large enough:
// only a heading's id allocates.
func TestConvertDoesNotAllocate(t *testing.T) {
	src := "Some *text* with `code`, a [link](/a) and it's fine.\n\n- one\n- two\n\n> quote\n\n```go\nx := 1\n```\n"
	var c Converter
	buf := make([]byte, 0, 4096)
	if _, ok := c.Convert(buf, src); !ok {
		t.Fatal("refused")
	}
	if n := testing.AllocsPerRun(100, func() { c.Convert(buf[:0], src) }); n != 0 {
		t.Errorf("Convert allocates %v times", n)
	}
}
