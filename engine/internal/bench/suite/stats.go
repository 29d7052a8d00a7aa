package main

import (
	"slices"
	"time"
)

// stat is a measure over several runs: the median, and the extremes.
type stat struct{ Median, Min, Max float64 }

func statOf(vs []float64) stat {
	if len(vs) == 0 {
		return stat{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// percentile is the p-th quantile (0..1) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(len(s)-1, max(0, i))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencies is p50 and p99 of each run, in milliseconds.
type latencies struct{ p50, p99 []float64 }

func (l *latencies) add(ds []time.Duration) {
	l.p50 = append(l.p50, ms(percentile(ds, 0.50)))
	l.p99 = append(l.p99, ms(percentile(ds, 0.99)))
}
