package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

// TestServeLocal serves the admin API on a unix socket with no secret,
// next to an HTTP server whose admin API is off.
func TestServeLocal(t *testing.T) {
	e := start(t, `route "/p/:slug" {
  renderer = "page"
  fallback = "blocking"
}`, map[string]any{"page:/p/a": page("A", "build", true)})
	srv := server.New(server.Options{
		Engine: e.site.Engine, Metrics: e.site.Metrics, Assets: e.site.Assets,
		Data: site.DataAdmin{Plugins: e.site.Plugins}, AdminSecretEnv: "SITE_ADMIN",
		Routes: func() any { return []string{"/p/:slug"} },
	})
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeLocal(ln) }()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tcp)
	local := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	remote := &http.Client{Timeout: 30 * time.Second}
	for _, tc := range []struct {
		name, method, url, body string
		client                  *http.Client
		status                  int
		want                    string
	}{
		{"socket revalidates without a secret", "POST", "http://kiln/_kiln/revalidate", `{"paths":["/p/a"]}`, local, 200, `"status": "regenerated"`},
		{"socket reads data", "GET", "http://kiln/_kiln/data/data?key=page:/p/a", "", local, 200, `"title": "A"`},
		{"socket lists routes", "GET", "http://kiln/_kiln/routes", "", local, 200, `"/p/:slug"`},
		{"socket health", "GET", "http://kiln/_kiln/healthz", "", local, 200, "ok"},
		{"socket serves no pages", "GET", "http://kiln/p/a", "", local, 404, "serves /_kiln/* only"},
		{"socket serves no metrics", "GET", "http://kiln/metrics", "", local, 404, "serves /_kiln/* only"},
		{"socket unknown endpoint", "GET", "http://kiln/_kiln/nope", "", local, 404, "no such admin endpoint"},
		{"http admin off names the variable", "POST", "http://" + tcp.Addr().String() + "/_kiln/revalidate", `{"paths":["/p/a"]}`, remote, 404, "start kiln with SITE_ADMIN set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.url, resp.StatusCode, b, tc.status, tc.want)
			}
		})
	}
	srv.Shutdown()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ServeLocal did not return after Shutdown")
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("the socket still accepts connections after Shutdown")
	}
}

// TestAdminSecretErrorsNameTheVariable: every refusal for the secret
// says where the secret comes from.
func TestAdminSecretErrorsNameTheVariable(t *testing.T) {
	e := start(t, `route "/" {
  renderer = "page"
}`, map[string]any{"page:/": page("Home")})
	for _, tc := range []struct {
		name, auth string
		status     int
		want       string
	}{
		{"missing", "", 401, "Bearer $KILN_ADMIN_SECRET"},
		{"wrong", "Bearer nope", 401, "Bearer $KILN_ADMIN_SECRET"},
	} {
		r := e.do("POST", "/_kiln/revalidate", `{"paths":["/"]}`, "Authorization", tc.auth)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s secret: %d %q, want %d containing %q", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
	e.stop()
	e.secret = ""
	e.open()
	r := e.do("POST", "/_kiln/revalidate", `{"paths":["/"]}`)
	if want := "start kiln with KILN_ADMIN_SECRET set"; r.status != 404 || !strings.Contains(r.body, want) {
		t.Errorf("admin off: %d %q, want 404 containing %q", r.status, r.body, want)
	}
}
