package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// nginxConfig is what nginxConf renders.
type nginxConfig struct {
	Prefix      string // the work directory: pid, logs, temp paths
	Root        string // document root holding the page's files
	Listen      string // 127.0.0.1:port
	ContentType string // kiln's Content-Type, sent for every file
	Root0       bool   // running as root: nginx then wants a user
	FileCache   bool   // keep the page's open fd and stat (open_file_cache)
}

// nginxTmpl is a config that touches nothing outside Prefix: the error
// log, pid, lock and every temp path live there (Debian's build puts them
// under /var). Keepalive lasts as long as a wrk run needs.
var nginxTmpl = template.Must(template.New("nginx.conf").Parse(`# Written by engine/internal/bench/hits.
{{if .Root0}}user root root;
{{end}}worker_processes 2;
pid "{{.Prefix}}/nginx.pid";
lock_file "{{.Prefix}}/nginx.lock";
error_log "{{.Prefix}}/nginx-error.log" warn;

events {
  worker_connections 1024;
}

http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  server_tokens off;
  etag on;
{{- if .FileCache}}
  open_file_cache max=16 inactive=10m;
  open_file_cache_valid 10m;
{{- end}}

  types {}
  default_type "{{.ContentType}}";

  client_body_temp_path "{{.Prefix}}/nginx-tmp/body";
  proxy_temp_path "{{.Prefix}}/nginx-tmp/proxy";
  fastcgi_temp_path "{{.Prefix}}/nginx-tmp/fastcgi";
  uwsgi_temp_path "{{.Prefix}}/nginx-tmp/uwsgi";
  scgi_temp_path "{{.Prefix}}/nginx-tmp/scgi";

  server {
    listen "{{.Listen}}";
    root "{{.Root}}";
    gzip off;
    gzip_static on;
    gzip_vary on;
  }
}
`))

// nginxConf renders the config. Every value goes in a quoted nginx
// string, so none may hold a quote, backslash, $ or newline.
func nginxConf(c nginxConfig) (string, error) {
	for _, v := range []string{c.Prefix, c.Root, c.Listen, c.ContentType} {
		if v == "" || strings.ContainsAny(v, "\"\\$\n") {
			return "", fmt.Errorf("%q cannot be written into nginx.conf", v)
		}
	}
	var b bytes.Buffer
	err := nginxTmpl.Execute(&b, c)
	return b.String(), err
}

// pageFile is where the document root holds the page at path: the path
// itself, or its index.html for a path ending in /.
func pageFile(root, path string) string {
	if strings.HasSuffix(path, "/") {
		path += "index.html"
	}
	return filepath.Join(root, filepath.FromSlash(path))
}

// startNginx writes kiln's bodies for the page (identity, and gzip as
// <file>.gz when kiln has a gzip variant) under the work directory,
// writes nginx.conf next to them and starts nginx in the foreground.
func (l *lab) startNginx(ctx context.Context, kilnURL string) (string, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/nginx"); e != nil {
			return "", fmt.Errorf("nginx not found (install it, or pass -no-nginx): %w", err)
		}
		bin = "/usr/sbin/nginx"
	}
	if out, err := exec.Command(bin, "-v").CombinedOutput(); err == nil {
		l.nginxVer = strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
	}
	www := filepath.Join(l.work, "www")
	file := pageFile(www, l.o.path)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", err
	}
	h, body, err := get(kilnURL, "")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(file, body, 0o644); err != nil {
		return "", err
	}
	gh, gz, err := get(kilnURL, "gzip")
	if err != nil {
		return "", err
	}
	if gh.Get("Content-Encoding") == "gzip" {
		if err := os.WriteFile(file+".gz", gz, 0o644); err != nil {
			return "", err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	conf, err := nginxConf(nginxConfig{Prefix: l.work, Root: www, Listen: addr, ContentType: h.Get("Content-Type"), Root0: os.Geteuid() == 0, FileCache: l.o.nginxFileCache})
	if err != nil {
		return "", err
	}
	l.nginxConf = conf
	confPath := filepath.Join(l.work, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(l.work, "nginx-tmp"), 0o755); err != nil {
		return "", err
	}
	// -e: the error log before the config is read (Debian's default is
	// stderr, but say so); daemon off keeps the master our child.
	p, err := l.start(ctx, "nginx", []string{bin, "-p", l.work, "-c", confPath,
		"-e", filepath.Join(l.work, "nginx-error.log"), "-g", "daemon off;"})
	if err != nil {
		return "", err
	}
	url := "http://" + addr + l.o.path
	return url, p.waitReady(url, "", 30*time.Second)
}
