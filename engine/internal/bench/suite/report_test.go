package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{0, "ms", "0 ms"},
		{0.0234, "ms", "0.023 ms"},
		{1.516, "ms", "1.52 ms"},
		{15.29, "ms", "15.3 ms"},
		{154.6, "ms", "155 ms"},
		{40712.4, "", "40,712"},
		{1234567, "", "1,234,567"},
		{0.97, "×", "0.970×"},
		{-2500, "", "-2,500"},
	}
	for _, tt := range tests {
		if got := num(tt.v, tt.unit); got != tt.want {
			t.Errorf("num(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkHit/identity-2         	 1938408	       613.1 ns/op	5013.53 MB/s	       570.0 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkHit/identity-2         	 1938408	       600.0 ns/op	5013.53 MB/s	       560.0 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkHit/no-route-2         	 1000000	      1013 ns/op	        12 B/op	       1 allocs/op
BenchmarkPostRender/Go-2         	     200	   1402901 ns/op
BenchmarkRender-2   	    6885	    159692 ns/op	   42441 B/op	     293 allocs/op
PASS
`)
	got := parseBench(out)
	want := map[string]map[string][]float64{
		"Hit/identity":  {"ns/op": {613.1, 600}, "MB/s": {5013.53, 5013.53}, "cpu-ns/op": {570, 560}, "B/op": {0, 0}, "allocs/op": {0, 0}},
		"Hit/no-route":  {"ns/op": {1013}, "B/op": {12}, "allocs/op": {1}},
		"PostRender/Go": {"ns/op": {1402901}},
		"Render":        {"ns/op": {159692}, "B/op": {42441}, "allocs/op": {293}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseBench = %v, want %v", got, want)
	}
	subs := map[string]map[string][]float64{"identity": got["Hit/identity"], "no-route": got["Hit/no-route"]}
	if got, want := benchOrder(subs), []string{"identity", "no-route"}; !reflect.DeepEqual(got, want) {
		t.Errorf("benchOrder = %v, want %v", got, want)
	}
}

func TestParseRows(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,2,3,4,5,6,7,8,9", []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, false},
		{"9, 3,3", []int{3, 9}, false},
		{"10", []int{10}, false},
		{"11", nil, true},
		{"x", nil, true},
	}
	for _, tt := range tests {
		got, err := parseRows(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseRows(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseBuilds(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"10000", []int{10000}, false},
		{"200, 2000", []int{200, 2000}, false},
		{"0", nil, true},
		{"1000001", nil, true},
		{"x", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := parseBuilds(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseBuilds(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCBuildSize(t *testing.T) {
	tests := []struct {
		builds []int
		want   int
	}{
		{[]int{2000, 10000, 100000}, 10000},
		{[]int{200, 2000}, 2000},
		{[]int{100000}, 0},
	}
	for _, tt := range tests {
		if got := cBuildSize(tt.builds); got != tt.want {
			t.Errorf("cBuildSize(%v) = %d, want %d", tt.builds, got, tt.want)
		}
	}
}

// TestReportGolden renders a report with every kind of line.
func TestReportGolden(t *testing.T) {
	r := &row{Num: 3, Title: "Blocking first render", How: "Two hundred posts."}
	p50 := r.measure("Go, TTFB p50", "ms", []float64{1.6, 1.4, 1.5})
	r.Measures = append(r.Measures, measure{Name: "kiln | p99", Unit: "ms", Runs: 3, Stat: stat{Median: 9}, MedianOnly: true})
	r.target("p50 ≤ 2 ms", num(p50.Median, "ms"), p50.Median <= 2, "ignored when met")
	r.measure("Zipf: 50,000 over 1,000 pages, req/s of each pair", "×", []float64{0.71, 0.69, 0.74})
	r.target("p99 ≤ 5 ms", "9 ms", false, "Compression.")
	r.note("A note.")
	rep := &report{
		Started: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), Elapsed: 90 * time.Second,
		Machine: []string{"CPU: test"}, Command: "go tool task bench",
		Rows: []*row{r, {Num: 9, Title: "Home page", How: "Revalidate /.", Err: errors.New("kiln exited")}},
	}
	var b bytes.Buffer
	rep.write(&b)
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
}
