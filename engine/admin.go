package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
)

// adminClient talks to a running engine's admin API.
type adminClient struct {
	base   string
	secret string
	http   *http.Client
}

// errNotRunning means no engine answers at the configured address.
var errNotRunning = errors.New("the engine is not running")

func newAdminClient(cfg *config.Site, override string) *adminClient {
	base := override
	if base == "" {
		host, port, _ := net.SplitHostPort(cfg.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	return &adminClient{
		base: strings.TrimSuffix(base, "/"), secret: os.Getenv(cfg.AdminSecretEnv),
		http: &http.Client{Timeout: 5 * time.Minute},
	}
}

// do sends a request and decodes a JSON answer into out.
func (c *adminClient) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return fmt.Errorf("%w at %s", errNotRunning, c.base)
		}
		return err
	}
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
