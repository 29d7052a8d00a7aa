// Package wrk reads the output of `wrk --latency`, for the benchmark
// tools (bench/hits and bench/suite).
package wrk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Result is one wrk run: throughput, latency and what went wrong.
type Result struct {
	Requests                      int64
	RPS                           float64
	P50, P99                      time.Duration
	Connect, Read, Write, Timeout int64 // socket errors
	Non2xx                        int64 // "Non-2xx or 3xx responses"
}

// Errors counts socket errors and non-2xx/3xx answers.
func (w Result) Errors() int64 { return w.Connect + w.Read + w.Write + w.Timeout + w.Non2xx }

func (w Result) String() string {
	s := fmt.Sprintf("%.0f req/s, p50 %s, p99 %s, %d requests", w.RPS, w.P50, w.P99, w.Requests)
	if w.Errors() > 0 {
		s += fmt.Sprintf(" (socket errors: connect %d, read %d, write %d, timeout %d; non-2xx/3xx %d)",
			w.Connect, w.Read, w.Write, w.Timeout, w.Non2xx)
	}
	return s
}

// Parse reads `wrk --latency` output: requests, Requests/sec, the
// 50% and 99% latencies, socket errors and non-2xx/3xx answers.
func Parse(out []byte) (Result, error) {
	var w Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case len(f) > 2 && f[1] == "requests" && f[2] == "in":
			w.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		case f[0] == "Requests/sec:" && len(f) == 2:
			w.RPS, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "50%" && len(f) == 2:
			w.P50 = Latency(f[1])
		case f[0] == "99%" && len(f) == 2:
			w.P99 = Latency(f[1])
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 3, write 0, timeout 12
			for _, part := range strings.Split(strings.TrimPrefix(line, "Socket errors:"), ",") {
				kv := strings.Fields(part)
				if len(kv) != 2 {
					continue
				}
				n, _ := strconv.ParseInt(kv[1], 10, 64)
				switch kv[0] {
				case "connect":
					w.Connect = n
				case "read":
					w.Read = n
				case "write":
					w.Write = n
				case "timeout":
					w.Timeout = n
				}
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			w.Non2xx, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
	}
	if w.Requests == 0 || w.RPS == 0 || w.P50 == 0 || w.P99 == 0 {
		return w, errors.New("no requests, Requests/sec or latency distribution in wrk output")
	}
	return w, nil
}

// Latency reads wrk's latencies: 526.00us, 1.21ms, 2.00s, 1.50m.
func Latency(s string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return time.Duration(math.Round(f * float64(u.unit)))
		}
	}
	return 0
}
