package wrk

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const ok = `Running 10s test @ http://127.0.0.1:40427/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   784.11us    1.02ms  15.93ms   93.71%
    Req/Sec    55.14k     4.21k   60.03k    75.00%
  Latency Distribution
     50%  526.00us
     75%  712.00us
     90%    1.21ms
     99%    5.20ms
  109832 requests in 2.00s, 291.34MB read
Requests/sec:  54839.12
Transfer/sec:    145.46MB
`
	const bad = `Running 1m test @ http://127.0.0.1:40427/
  1 threads and 32 connections
  Latency Distribution
     50%    1.50ms
     75%    3.00ms
     90%  800.00ms
     99%    2.00s
  310000 requests in 1.00m, 2.91GB read
  Socket errors: connect 1, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 44
Requests/sec:   5166.41
Transfer/sec:     49.60MB
`
	tests := []struct {
		name    string
		in      string
		want    Result
		errors  int64
		wantErr bool
	}{
		{"clean", ok, Result{Requests: 109832, RPS: 54839.12, P50: 526 * time.Microsecond, P99: 5200 * time.Microsecond}, 0, false},
		{"errors", bad, Result{Requests: 310000, RPS: 5166.41, P50: 1500 * time.Microsecond, P99: 2 * time.Second,
			Connect: 1, Read: 3, Timeout: 12, Non2xx: 44}, 60, false},
		{"refused", "unable to connect to 127.0.0.1:1 Connection refused\n", Result{}, 0, true},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got != tt.want || got.Errors() != tt.errors {
			t.Errorf("%s: got %+v (%d errors), want %+v (%d)", tt.name, got, got.Errors(), tt.want, tt.errors)
		}
	}
}

func TestLatency(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"526.00us", 526 * time.Microsecond},
		{"1.21ms", 1210 * time.Microsecond},
		{"2.00s", 2 * time.Second},
		{"1.50m", 90 * time.Second},
		{"312.00us", 312 * time.Microsecond},
		{"fast", 0},
		{"12", 0},
		{"x.yms", 0},
	}
	for _, tt := range tests {
		if got := Latency(tt.in); got != tt.want {
			t.Errorf("Latency(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks Parse never panics and that what it accepts has the
// numbers it requires.
func FuzzParse(f *testing.F) {
	f.Add([]byte("  109832 requests in 2.00s, 291.34MB read\nRequests/sec:  54839.12\n     50%  526.00us\n     99%    5.20ms\n"))
	f.Add([]byte("  Socket errors: connect 1, read x, write\n  Non-2xx or 3xx responses: 44\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		w, err := Parse(out)
		if err == nil && (w.Requests == 0 || w.RPS == 0 || w.P50 == 0 || w.P99 == 0) {
			t.Errorf("Parse accepted %q as %+v", out, w)
		}
	})
}
