package main

import (
	"testing"
	"time"
)

// secs makes one sample a second from RSS and disk values in MB.
func secs(rss, disk []int64) []sample {
	out := make([]sample, len(rss))
	for i := range rss {
		out[i] = sample{at: time.Duration(i) * time.Second, rss: rss[i] << 20, disk: disk[i] << 20}
	}
	return out
}

func TestJudge(t *testing.T) {
	flat := []int64{10, 10, 10, 10}
	tests := []struct {
		name     string
		samples  []sample
		d        time.Duration
		errors   int64
		exited   bool
		wantFlat bool
		wantDisk bool
		wantPass bool
		wantRef  time.Duration
	}{
		{"all flat", secs([]int64{50, 100, 105, 109}, flat), 6 * time.Second, 0, false, true, true, true, 3 * time.Second},
		{"rss grew 20%", secs([]int64{50, 100, 100, 120}, flat), 2 * time.Second, 0, false, false, true, false, time.Second},
		{"rss fell 20%", secs([]int64{50, 100, 100, 80}, flat), 2 * time.Second, 0, false, false, true, false, time.Second},
		{"growth before the reference is not counted", secs([]int64{10, 100, 100, 100}, flat), 2 * time.Second, 0, false, true, true, true, time.Second},
		{"disk past the bound", secs(flat, []int64{10, 20, 30, 43}), 2 * time.Second, 0, false, true, false, false, time.Second},
		{"disk at the bound", secs(flat, []int64{10, 20, 30, 42}), 2 * time.Second, 0, false, true, true, true, time.Second},
		{"an error on a stored page", secs(flat, flat), 2 * time.Second, 1, false, true, true, false, time.Second},
		{"kiln exited", secs(flat, flat), 2 * time.Second, 0, true, true, true, false, time.Second},
		{"reference past the last sample", secs(flat, flat), 20 * time.Second, 0, false, true, true, true, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(tt.samples, tt.d, 1000, tt.errors, 32<<20, tt.exited)
			if got, want := v.rssFlat, tt.wantFlat; got != want {
				t.Errorf("rssFlat = %v, want %v (change %+.2f)", got, want, v.rssChange)
			}
			if got, want := v.diskOK, tt.wantDisk; got != want {
				t.Errorf("diskOK = %v, want %v", got, want)
			}
			if got, want := v.pass(), tt.wantPass; got != want {
				t.Errorf("pass() = %v, want %v", got, want)
			}
			if got, want := v.refAt, tt.wantRef; got != want {
				t.Errorf("refAt = %s, want %s", got, want)
			}
		})
	}
}

func TestRSSRefAt(t *testing.T) {
	for _, tt := range []struct{ d, want time.Duration }{
		{10 * time.Minute, time.Minute},
		{2 * time.Minute, time.Minute},
		{time.Minute, 30 * time.Second},
		{40 * time.Second, 20 * time.Second},
	} {
		if got := rssRefAt(tt.d); got != tt.want {
			t.Errorf("rssRefAt(%s) = %s, want %s", tt.d, got, tt.want)
		}
	}
}

func TestNoSamples(t *testing.T) {
	if judge(nil, time.Minute, 10, 0, 32<<20, false).pass() {
		t.Fatal("a soak without samples passed")
	}
}

func TestCommas(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {-1234567, "-1,234,567"}} {
		if got := commas(tt.n); got != tt.want {
			t.Errorf("commas(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestEveryMinute(t *testing.T) {
	var ms []memSample
	for s := 0; s <= 150; s += 10 {
		ms = append(ms, memSample{at: time.Duration(s)*time.Second + 300*time.Millisecond})
	}
	var got []int
	for _, m := range everyMinute(ms) {
		got = append(got, int(m.at/time.Second))
	}
	want := []int{0, 60, 120, 150}
	if len(got) != len(want) {
		t.Fatalf("everyMinute picked the samples at %v s, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("everyMinute picked the samples at %v s, want %v", got, want)
		}
	}
}

func TestMemSampleParts(t *testing.T) {
	m := memSample{rss: 400, heapInuse: 150, heapIdle: 80, stacks: 20, goSys: 400, goReleased: 100}
	if got := m.goResident(); got != 300 {
		t.Errorf("goResident = %d, want 300", got)
	}
	if got := m.goOther(); got != 50 {
		t.Errorf("goOther = %d, want 50", got)
	}
	if got := m.nonGo(); got != 100 {
		t.Errorf("nonGo = %d, want 100", got)
	}
}
