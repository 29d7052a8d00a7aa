package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// DiagError is every problem found in a config file. Error renders them
// all with file:line:col and the offending source line.
type DiagError struct {
	diags hcl.Diagnostics
	files map[string]*hcl.File
}

func (e *DiagError) Error() string {
	var buf bytes.Buffer
	for _, d := range e.diags {
		writeDiag(&buf, d, e.files)
	}
	fmt.Fprintf(&buf, "%d problem(s)\n", len(e.diags))
	return buf.String()
}

// writeDiag prints one diagnostic compiler-style: file:line:col, the
// summary and detail, then the source line with the range underlined.
func writeDiag(w *bytes.Buffer, d *hcl.Diagnostic, files map[string]*hcl.File) {
	r := d.Subject
	if r == nil {
		fmt.Fprintf(w, "error: %s: %s\n\n", d.Summary, d.Detail)
		return
	}
	fmt.Fprintf(w, "%s:%d:%d: error: %s", r.Filename, r.Start.Line, r.Start.Column, d.Summary)
	if d.Detail != "" {
		fmt.Fprintf(w, ": %s", d.Detail)
	}
	w.WriteString("\n")
	if f := files[r.Filename]; f != nil {
		if line, ok := sourceLine(f.Bytes, r.Start.Line); ok {
			width := 1
			if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
				width = r.End.Column - r.Start.Column
			}
			pad := bytes.Repeat([]byte(" "), max(0, r.Start.Column-1))
			for i, c := range line[:min(len(line), len(pad))] {
				if c == '\t' {
					pad[i] = '\t'
				}
			}
			fmt.Fprintf(w, "%5d | %s\n      | %s%s\n", r.Start.Line, line, pad, bytes.Repeat([]byte("^"), width))
		}
	}
	w.WriteString("\n")
}

// sourceLine returns line n (1-based) of src.
func sourceLine(src []byte, n int) ([]byte, bool) {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return nil, false
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return bytes.TrimRight(src, "\r"), true
}

// Count is the number of problems.
func (e *DiagError) Count() int { return len(e.diags) }

// Load reads, decodes and validates the config file at path.
func Load(path string) (*Site, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(path, src)
}

// Parse decodes and validates a config file's contents. filename is used
// in messages and, made absolute, as the base for relative paths.
func Parse(filename string, src []byte) (*Site, error) {
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	files := map[string]*hcl.File{filename: file}
	if diags.HasErrors() {
		return nil, newDiagError(diags, files)
	}
	d := &decoder{
		site:   &Site{File: abs, Dir: filepath.Dir(abs)},
		shown:  filepath.Dir(filename),
		file:   filename,
		src:    src,
		ranges: map[Pos]hcl.Range{},
	}
	d.decodeFile(file.Body)
	d.validate()
	if d.diags.HasErrors() {
		return nil, newDiagError(d.diags, files)
	}
	return d.site, nil
}

func newDiagError(diags hcl.Diagnostics, files map[string]*hcl.File) *DiagError {
	errs := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return before(errs[i].Subject, errs[j].Subject) })
	return &DiagError{diags: errs, files: files}
}

func before(a, b *hcl.Range) bool {
	switch {
	case a == nil || b == nil:
		return a != nil
	case a.Start.Line != b.Start.Line:
		return a.Start.Line < b.Start.Line
	}
	return a.Start.Column < b.Start.Column
}

// decoder turns one file's body into a Site, collecting every problem.
type decoder struct {
	site  *Site
	shown string // directory of the file as named in messages
	file  string
	src   []byte
	diags hcl.Diagnostics
	// ranges remembered for validation messages
	rendererData  map[*Renderer]hcl.Range
	routeRanges   map[*Route]routeRanges
	onChangeRange map[*OnChange]hcl.Range
	notFoundRange hcl.Range
	ranges        map[Pos]hcl.Range
}

type routeRanges struct {
	label, renderer, fallbackRenderer hcl.Range
}

func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// at formats a range's start as file:line:col.
func at(r hcl.Range) string { return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column) }

// pos records a block's range and returns its position.
func (d *decoder) pos(r hcl.Range) Pos {
	p := Pos{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column}
	d.ranges[p] = r
	return p
}

// content decodes a body against a schema; unknown attributes and blocks
// are errors.
func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) (*hcl.BodyContent, *attrs) {
	c, diags := body.Content(schema)
	d.diags = append(d.diags, diags...)
	return c, &attrs{m: c.Attributes}
}

func (d *decoder) collect(a *attrs) { d.diags = append(d.diags, a.diags...) }

// resolve makes a path from the file absolute against the config dir.
func (d *decoder) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.site.Dir, p)
}

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "site"},
		{Type: "renderer", LabelNames: []string{"name"}},
		{Type: "data_source", LabelNames: []string{"name"}},
		{Type: "route", LabelNames: []string{"pattern"}},
		{Type: "on_change", LabelNames: []string{"name"}},
		{Type: "static", LabelNames: []string{"prefix"}},
		{Type: "cluster"},
	},
}

func (d *decoder) decodeFile(body hcl.Body) {
	c, _ := d.content(body, fileSchema)
	d.rendererData = map[*Renderer]hcl.Range{}
	d.routeRanges = map[*Route]routeRanges{}
	d.onChangeRange = map[*OnChange]hcl.Range{}
	d.decodeSite(c.Blocks.OfType("site"))
	d.decodeCluster(c.Blocks.OfType("cluster"))
	for _, b := range c.Blocks {
		switch b.Type {
		case "renderer":
			d.site.Renderers = append(d.site.Renderers, d.decodeRenderer(b))
		case "data_source":
			d.site.DataSources = append(d.site.DataSources, d.decodeDataSource(b))
		case "route":
			d.site.Routes = append(d.site.Routes, d.decodeRoute(b))
		case "on_change":
			d.site.OnChange = append(d.site.OnChange, d.decodeOnChange(b))
		case "static":
			d.site.Static = append(d.site.Static, d.decodeStatic(b))
		}
	}
}
