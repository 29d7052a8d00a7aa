package server_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/metrics"
	"github.com/kilnhq/kiln/engine/internal/server"
)

// TestMetricsAccess: /metrics is open on the main listener only with no
// admin secret; with one it needs the bearer; with metrics_listen it is
// served there alone, and the main listener answers 404.
func TestMetricsAccess(t *testing.T) {
	listen := func(t *testing.T) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	stats := func() (int64, int64, int64, int64, int64) { return 3, 0, 0, 0, 0 }
	type server_ struct{ main, apart string } // base URLs; apart "" without metrics_listen
	start := func(t *testing.T, secret string, apart bool) server_ {
		srv := server.New(server.Options{Metrics: metrics.New(stats), AdminSecret: secret, MetricsApart: apart,
			Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(func() { srv.Shutdown() })
		ln := listen(t)
		go srv.Serve(ln)
		s := server_{main: "http://" + ln.Addr().String()}
		if apart {
			mln := listen(t)
			go srv.ServeMetrics(mln)
			s.apart = "http://" + mln.Addr().String()
		}
		return s
	}
	open, secured, apart := start(t, "", false), start(t, "s3cret", false), start(t, "s3cret", true)
	for _, tc := range []struct {
		name, method, url, bearer string
		want                      int
		body                      string
	}{
		{"no secret: open", "GET", open.main + "/metrics", "", 200, "kiln_store_pages 3"},
		{"secret: no bearer", "GET", secured.main + "/metrics", "", 401, "admin secret"},
		{"secret: wrong bearer", "GET", secured.main + "/metrics", "nope", 401, "admin secret"},
		{"secret: bearer", "GET", secured.main + "/metrics", "s3cret", 200, "kiln_store_pages 3"},
		{"secret: query string", "GET", secured.main + "/metrics?x=1", "s3cret", 200, "kiln_store_pages 3"},
		{"apart: main listener", "GET", apart.main + "/metrics", "s3cret", 404, "no such endpoint"},
		{"apart: own listener, no bearer", "GET", apart.apart + "/metrics", "", 200, "kiln_store_pages 3"},
		{"apart: HEAD", "HEAD", apart.apart + "/metrics", "", 200, ""},
		{"apart: POST", "POST", apart.apart + "/metrics", "", 405, "method not allowed"},
		{"apart: no pages", "GET", apart.apart + "/", "", 404, "serves /metrics only"},
		{"apart: no admin API", "GET", apart.apart + "/_kiln/healthz", "s3cret", 404, "serves /metrics only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.StatusCode; got != tc.want || !strings.Contains(string(b), tc.body) {
				t.Errorf("%s %s = %d %.200q, want %d containing %q", tc.method, tc.url, got, b, tc.want, tc.body)
			}
		})
	}
}
