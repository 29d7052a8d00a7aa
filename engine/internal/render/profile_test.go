package render

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// TestProfile renders a Go page (html/template) and the C SDK's
// conformance renderer under the profiler: the pprof profile and the top
// table name the guest's own functions, though the guard rewrote the
// modules, with the calls each made.
func TestProfile(t *testing.T) {
	tests := []struct {
		name string
		wasm func(t *testing.T) string
		req  Request
		data Data
		want []string // functions the profile must name
	}{
		{"go", func(t *testing.T) string { return buildGoGuest(t, "testdata/page") }, benchReq, benchPost,
			// Go's linker writes names with every character but letters,
			// digits, '_' and '.' replaced by '_'.
			[]string{"main.render", "html_template.__Template_.Execute", "runtime.mallocgc",
				"github.com_kilnhq_kiln_sdk_go.__wasmHost_.Get", "kiln.data_get"}},
		{"c", func(t *testing.T) string { return buildConformance(t, "c") },
			Request{Route: "/echo", Path: "/echo", Params: []Param{{Name: "a", Value: "b"}}}, nil,
			[]string{"kiln__export_kiln_render", "echo", "kiln_printf", "kiln.request", "kiln.response"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prof := NewProfiler()
			r := load(t, newTestRuntime(t, nil), Config{Name: tt.name, WasmPath: tt.wasm(t), Pool: 1,
				Data: tt.data, Profiler: prof})
			if !r.guarded {
				t.Fatal("not instrumented")
			}
			const renders = 5
			for range renders {
				if _, err := r.Render(context.Background(), tt.req); err != nil {
					t.Fatal(err)
				}
			}
			if n, total := prof.Summary(); n != renders || total <= 0 {
				t.Errorf("summary = %d renders, %s; want %d renders", n, total, renders)
			}
			checkPprof(t, prof.Profile(), tt.want)
			var table bytes.Buffer
			if err := prof.WriteTop(&table, 1000); err != nil {
				t.Fatal(err)
			}
			for _, fn := range tt.want {
				if !strings.Contains(table.String(), "  "+fn+"\n") {
					t.Errorf("the top table lacks %s:\n%s", fn, table.String())
				}
			}
		})
	}
}

// checkPprof round-trips the profile through its encoding, as `go tool
// pprof` reads it, and checks it names want with calls and time.
func checkPprof(t *testing.T, p *profile.Profile, want []string) {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	var time int64
	for _, s := range p.Sample {
		calls[s.Location[0].Line[0].Function.Name] += s.Value[0]
		time += s.Value[1]
	}
	for _, fn := range want {
		if calls[fn] == 0 {
			t.Errorf("the profile has no calls of %s; it has %d functions", fn, len(calls))
		}
	}
	if time <= 0 {
		t.Error("the profile has no time")
	}
	for name := range calls {
		if strings.HasPrefix(name, "func[") {
			t.Errorf("unnamed function %s: the name section was lost", name)
			break
		}
	}
}

// TestProfileTop checks the flat and cumulative times of a made-up call
// tree, recursion included: main calls a (10ns self) twice and b (5ns),
// a calls itself (2ns).
func TestProfileTop(t *testing.T) {
	p := NewProfiler()
	p.names = []string{"", "main", "a", "b"}
	p.renders, p.total = 1, 20
	root := newProfNode(rootFn)
	p.trees = []*profNode{root}
	main := root.child(1)
	main.calls, main.self = 1, 3
	a := main.child(2)
	a.calls, a.self = 2, 10
	aa := a.child(2)
	aa.calls, aa.self = 1, 2
	b := main.child(3)
	b.calls, b.self = 1, 5
	want := []ProfileRow{
		{Function: "a", Flat: 12, Cum: 12, Calls: 3},
		{Function: "b", Flat: 5, Cum: 5, Calls: 1},
		{Function: "main", Flat: 3, Cum: 20, Calls: 1},
	}
	if got := p.Top(10); !slices.Equal(got, want) {
		t.Errorf("Top = %+v, want %+v", got, want)
	}
}

// BenchmarkProfiler is the cost of profiling the Go page: the same render
// without the profiler and with it, and the calls it times per render.
func BenchmarkProfiler(b *testing.B) {
	rt := newTestRuntime(b, nil)
	wasm := buildGoGuest(b, "testdata/page")
	b.Run("off", func(b *testing.B) {
		benchRender(b, load(b, rt, Config{Name: "off", WasmPath: wasm, Pool: 1, Data: benchPost}), benchReq)
	})
	b.Run("on", func(b *testing.B) {
		p := NewProfiler()
		benchRender(b, load(b, rt, Config{Name: "on", WasmPath: wasm, Pool: 1, Data: benchPost, Profiler: p}), benchReq)
		var calls int64
		for _, r := range p.Top(1 << 20) {
			calls += r.Calls
		}
		b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	})
}
