package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
)

// adminClient talks to a running engine's admin API: through the admin
// socket in the store folder when the engine runs on this machine (no
// secret needed), else over HTTP with the admin secret.
type adminClient struct {
	socket    string // the admin socket; "" when --url names the engine
	base      string // the engine's HTTP address
	secret    string
	secretEnv string
	local     *http.Client
	http      *http.Client
}

// errNotRunning means no engine answers, on the socket or over HTTP.
var errNotRunning = errors.New("the engine is not running")

func newAdminClient(cfg *config.Site, override string) *adminClient {
	c := &adminClient{
		base: strings.TrimSuffix(override, "/"), secret: os.Getenv(cfg.AdminSecretEnv),
		secretEnv: cfg.AdminSecretEnv, http: &http.Client{Timeout: 5 * time.Minute},
	}
	if c.base == "" {
		c.base = listenURL(cfg.Listen)
		c.socket = adminSocketPath(cfg.StoreDir)
		c.local = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", c.socket)
			},
		}}
	}
	return c
}

// listenURL is the local URL of a listen address (":3000" is
// http://127.0.0.1:3000).
func listenURL(listen string) string {
	host, port, _ := net.SplitHostPort(listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// do sends a request and decodes a JSON answer into out: on the admin
// socket first, then over HTTP.
func (c *adminClient) do(method, path string, body []byte, out any) error {
	var sockErr error
	if c.socket != "" {
		resp, err := c.send(c.local, "http://kiln", method, path, body, false)
		if err == nil {
			return decode(resp, method, path, out)
		}
		if !noListener(err) {
			return fmt.Errorf("admin socket %s: %w", c.socket, err)
		}
		sockErr = err
	}
	if c.base == "" {
		return fmt.Errorf("%w (nothing answers on %s)", errNotRunning, c.where())
	}
	resp, err := c.send(c.http, c.base, method, path, body, true)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return fmt.Errorf("%w (nothing answers on %s or at %s)", errNotRunning, c.where(), c.base)
		}
		return err
	}
	if err := c.secretError(resp, sockErr); err != nil {
		return err
	}
	return decode(resp, method, path, out)
}

func (c *adminClient) send(hc *http.Client, base, method, path string, body []byte, bearer bool) (*http.Response, error) {
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if bearer && c.secret != "" {
		req.Header.Set("Authorization", "Bearer "+c.secret)
	}
	req.Header.Set("Content-Type", "application/json")
	return hc.Do(req)
}

// noListener reports whether a socket dial found no engine: no socket
// file, a stale one, or one this user may not open.
func noListener(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)
}

func (c *adminClient) where() string {
	if c.socket == "" {
		return "the --url given"
	}
	return "the admin socket " + c.socket
}

// secretError explains an HTTP answer refused for the admin secret, and
// closes its body; any other answer is left to decode.
func (c *adminClient) secretError(resp *http.Response, sockErr error) error {
	var why string
	switch {
	case resp.StatusCode == http.StatusUnauthorized && c.secret == "":
		why = "it has an admin secret: set " + c.secretEnv + " to it"
	case resp.StatusCode == http.StatusUnauthorized:
		why = "it refused the admin secret in " + c.secretEnv + ": set it to the engine's"
	case resp.StatusCode == http.StatusNotFound && resp.Header.Get("Content-Type") == "application/json" && c.adminOff(resp):
		why = "its admin API is off: start it with " + c.secretEnv + " set"
	default:
		return nil
	}
	resp.Body.Close()
	msg := fmt.Sprintf("the engine at %s answered, but %s", c.base, why)
	if c.socket != "" {
		msg += fmt.Sprintf("; on its own machine, kiln needs no secret: it uses the admin socket %s (%v), so pass the engine's --store or --config", c.socket, sockErr)
	}
	return errors.New(msg)
}

// adminOff reads a 404's body to tell "admin API is off" from a missing
// page; it puts the body back for decode.
func (c *adminClient) adminOff(resp *http.Response) bool {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var e struct{ Error string }
	return json.Unmarshal(b, &e) == nil && strings.HasPrefix(e.Error, "admin API is off")
}

// decode reads a JSON answer into out, or turns an error answer into an
// error.
func decode(resp *http.Response, method, path string, out any) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s (%s)", method, path, e.Error, resp.Status)
		}
		// A body with per-item results (a revalidation that partly or
		// wholly failed) is the caller's to report.
		if out == nil || json.Unmarshal(data, out) != nil {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
