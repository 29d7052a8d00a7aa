package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseEncodings(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"identity,gzip", []string{"identity", "gzip"}, false},
		{" gzip , Identity ", []string{"gzip", "identity"}, false},
		{"gzip,", []string{"gzip"}, false},
		{"br", nil, true},
		{"gzip,gzip", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := parseEncodings(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseEncodings(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		in      string
		want    procStat
		wantErr bool
	}{
		{"4242 (nginx) S 1 4242 4242 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 100 1000 10",
			procStat{pgrp: 4242, utime: 250, stime: 75}, false},
		{"77 (a (b) c) R 76 70 70 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1",
			procStat{pgrp: 70, utime: 3, stime: 4}, false},
		{"77 (short) R 76 70", procStat{}, true},
		{"no name", procStat{}, true},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPageFile(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/p/a", "/www/p/a"},
		{"/posts/hello-world", "/www/posts/hello-world"},
		{"/", "/www/index.html"},
		{"/docs/", "/www/docs/index.html"},
	}
	for _, tt := range tests {
		if got := pageFile("/www", tt.path); got != tt.want {
			t.Errorf("pageFile(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestNginxConf compares the rendered configs with golden files and,
// when nginx is installed, has nginx check them (-t).
func TestNginxConf(t *testing.T) {
	tests := []struct {
		golden string
		c      nginxConfig
	}{
		{"nginx-root.conf", nginxConfig{Prefix: "/tmp/w", Root: "/tmp/w/www", Listen: "127.0.0.1:8081",
			ContentType: "text/html; charset=utf-8", Root0: true, FileCache: true}},
		{"nginx-user.conf", nginxConfig{Prefix: "/tmp/w", Root: "/tmp/w/www", Listen: "127.0.0.1:8081",
			ContentType: "text/html"}},
	}
	for _, tt := range tests {
		got, err := nginxConf(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tt.golden)
		if os.Getenv("UPDATE_GOLDEN") != "" {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("nginxConf(%+v) =\n%s\nwant (%s)\n%s", tt.c, got, path, want)
		}
	}
	for _, bad := range []string{`text/html"; x`, "a\nb", "$uri", ""} {
		c := tests[0].c
		c.ContentType = bad
		if _, err := nginxConf(c); err == nil {
			t.Errorf("nginxConf accepted Content-Type %q", bad)
		}
	}
}

func TestNginxAcceptsConf(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nginx not installed")
		}
		t.Skip("nginx not installed")
	}
	dir := t.TempDir()
	conf, err := nginxConf(nginxConfig{Prefix: dir, Root: dir, Listen: "127.0.0.1:1",
		ContentType: "text/html; charset=utf-8", Root0: os.Geteuid() == 0, FileCache: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "nginx-tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}
