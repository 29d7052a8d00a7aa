package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestParseTimeV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    timeV
		wantErr bool
	}{
		{"short", "\tCommand being timed: \"kiln build\"\n\tUser time (seconds): 3.10\n" +
			"\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:04.27\n\tMaximum resident set size (kbytes): 183412\n",
			timeV{wall: 4270 * time.Millisecond, cpu: 3100 * time.Millisecond, maxRSS: 183412 << 10}, false},
		{"minutes", "\tUser time (seconds): 50.25\n\tSystem time (seconds): 9.80\n" +
			"\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\n\tMaximum resident set size (kbytes): 1024\n",
			timeV{wall: 62500 * time.Millisecond, cpu: 60050 * time.Millisecond, maxRSS: 1 << 20}, false},
		{"hours", "\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03\n\tMaximum resident set size (kbytes): 2\n",
			timeV{wall: time.Hour + 2*time.Minute + 3*time.Second, maxRSS: 2048}, false},
		{"no rss", "\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:01.00\n", timeV{}, true},
		{"bad clock", "\tElapsed (wall clock) time (h:mm:ss or m:ss): soon\n\tMaximum resident set size (kbytes): 2\n", timeV{}, true},
		{"command failed", "Command exited with non-zero status 1\n", timeV{}, true},
	}
	for _, tt := range tests {
		got, err := parseTimeV([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestTimeVReal parses what this machine's /usr/bin/time writes.
func TestTimeVReal(t *testing.T) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("/usr/bin/time is missing")
		}
		t.Skip("/usr/bin/time is missing")
	}
	f := t.TempDir() + "/time.txt"
	if b, err := exec.Command("/usr/bin/time", "-v", "-o", f, "sleep", "0.2").CombinedOutput(); err != nil {
		t.Fatalf("time: %v %s", err, b)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseTimeV(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.wall < 200*time.Millisecond || got.maxRSS <= 0 {
		t.Errorf("got %+v, want a wall time of at least 0.2 s and some memory", got)
	}
}

func TestParseBuilt(t *testing.T) {
	tests := []struct {
		in      string
		pages   int
		engine  time.Duration
		wantErr bool
	}{
		{"  built 3 renderer(s) to wasm in 9.1s: [home post notfound]\n" +
			"built 10002 pages in 4.21s (301.2 MiB), 0 kept (newer or unchanged), 0 failed\n", 10002, 4210 * time.Millisecond, false},
		{"built 0 pages in 0.00s (0 B), 3 kept (newer or unchanged), 0 failed\n", 0, 0, false},
		{"nothing here\n", 0, 0, true},
	}
	for _, tt := range tests {
		line, pages, engine, err := parseBuilt([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if pages != tt.pages || engine != tt.engine {
			t.Errorf("%q: got %d pages in %s, want %d in %s", tt.in, pages, engine, tt.pages, tt.engine)
		}
		if !tt.wantErr && line == "" {
			t.Errorf("%q: no line", tt.in)
		}
	}
}

// TestTreeOf starts a child and finds it under this process.
func TestTreeOf(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	tree := treeOf(os.Getpid())
	if tree[0] != os.Getpid() || !slices.Contains(tree, cmd.Process.Pid) {
		t.Errorf("treeOf(%d) = %v, want it first and the child %d in it", os.Getpid(), tree, cmd.Process.Pid)
	}
	if _, isKiln := kilnRole(cmd.Process.Pid); isKiln {
		t.Errorf("sleep taken for kiln")
	}
}
