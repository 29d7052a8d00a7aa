package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// row is one row of the table: what was measured, over how many
// runs, and the targets it decides.
type row struct {
	Num      int
	Title    string
	How      string // one paragraph: the method
	Measures []measure
	Targets  []target
	Notes    []string
	Err      error // the row could not be measured
}

// measure is one line of a row's table.
type measure struct {
	Name string
	Unit string
	Runs int
	Stat stat
	// MedianOnly: only the median over runs is known (min and max print
	// as a dash).
	MedianOnly bool
}

// target is a goal from the issue and what this run measured for it.
type target struct {
	Goal   string // "first render p50 ≤ 2 ms"
	Got    string // "1.4 ms"
	Met    bool
	Reason string // for an unmet target: the measured reason
}

func (r *row) measure(name, unit string, vs []float64) stat {
	s := statOf(vs)
	r.Measures = append(r.Measures, measure{Name: name, Unit: unit, Runs: len(vs), Stat: s})
	return s
}

func (r *row) target(goal, got string, met bool, reason string) {
	if met {
		reason = ""
	}
	r.Targets = append(r.Targets, target{Goal: goal, Got: got, Met: met, Reason: reason})
}

func (r *row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// report is the whole Markdown document.
type report struct {
	Started time.Time
	Elapsed time.Duration
	Machine []string
	Command string
	Rows    []*row
}

func (rep *report) write(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Kiln benchmarks\n\n")
	p("Produced by `%s` on %s in %s, from a single run. Every number is the\n",
		rep.Command, rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Elapsed.Round(time.Second))
	p("median of several runs, with the minimum and maximum beside it. The load generator (wrk, or the\n")
	p("suite's own Go client) shares the machine with the server, so compare ratios taken in the same\n")
	p("run, not absolute numbers across runs. The suite is `engine/internal/bench/suite`.\n\n")
	p("## Machine\n\n")
	for _, m := range rep.Machine {
		p("- %s\n", m)
	}
	p("\n## Targets\n\n| Row | Target | Measured | Met |\n|---|---|---|---|\n")
	for _, r := range rep.Rows {
		if r.Err != nil {
			p("| %d. %s | (not measured) | %s | no |\n", r.Num, r.Title, cell(r.Err.Error()))
		}
		for _, t := range r.Targets {
			met := "**yes**"
			if !t.Met {
				met = "no"
			}
			p("| %d. %s | %s | %s | %s |\n", r.Num, r.Title, cell(t.Goal), cell(t.Got), met)
		}
	}
	p("\n")
	for _, r := range rep.Rows {
		p("## %d. %s\n\n%s\n\n", r.Num, r.Title, r.How)
		if r.Err != nil {
			p("**Not measured:** %s\n\n", r.Err)
		}
		if len(r.Measures) > 0 {
			p("| Measure | Median | Min | Max | Runs |\n|---|---:|---:|---:|---:|\n")
			for _, m := range r.Measures {
				lo, hi := num(m.Stat.Min, m.Unit), num(m.Stat.Max, m.Unit)
				if m.MedianOnly {
					lo, hi = "–", "–"
				}
				p("| %s | %s | %s | %s | %d |\n", cell(m.Name), num(m.Stat.Median, m.Unit), lo, hi, m.Runs)
			}
			p("\n")
		}
		for _, t := range r.Targets {
			if t.Met {
				p("- Target met: %s (measured %s).\n", t.Goal, t.Got)
			} else {
				p("- **Target not met:** %s (measured %s). %s\n", t.Goal, t.Got, t.Reason)
			}
		}
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
		p("\n")
	}
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// num formats v with its unit, with precision to suit its size.
func num(v float64, unit string) string {
	var s string
	switch a := abs(v); {
	case a == 0:
		s = "0"
	case a >= 1000:
		s = commas(int64(math.Round(v)))
	case a >= 100:
		s = fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	case a >= 1:
		s = fmt.Sprintf("%.2f", v)
	default:
		s = fmt.Sprintf("%.3f", v)
	}
	if unit == "" {
		return s
	}
	if unit == "×" {
		return s + "×"
	}
	return s + " " + unit
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// machine describes this machine and the tools' versions.
func machine() []string {
	var out []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				out = append(out, "CPU: "+strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))+fmt.Sprintf(", %d logical CPUs", runtime.NumCPU()))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
		out = append(out, fmt.Sprintf("Memory: %.1f GiB", float64(kb)/(1<<20)))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		out = append(out, "Kernel: Linux "+strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		out = append(out, "Debian "+strings.TrimSpace(string(b)))
	}
	out = append(out, "Go: "+runtime.Version())
	for _, tool := range [][]string{{"wrk", "-v"}, {"nginx", "-v"}, {"clang", "--version"}} {
		b, _ := exec.Command(tool[0], tool[1:]...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if line == "" {
			line = "not found"
		}
		out = append(out, tool[0]+": "+line)
	}
	if la := loadAvg(); la != "?" {
		out = append(out, "Load average when the run started: "+la)
	}
	return out
}
