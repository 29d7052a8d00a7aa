package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFullDiskEndToEnd runs the real engine with its page store on a
// 32 MiB tmpfs (8 MiB of it the store's reserve) and fills that file
// system: stored pages must keep being served, regenerations refused
// with a log line and kiln_store_read_only 1, the process must not exit
// (Pebble's default on a failed write, and its panic on a failed WAL
// rotation), and once space is freed the probe must turn writes on again
// by itself.
func TestFullDiskEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real engine on a tmpfs")
	}
	bin := kilnBinary(t)
	repo, _ := filepath.Abs("..")
	dir := t.TempDir()
	// Pebble's folder (store/pages) is the tmpfs; the renderers' compile
	// cache beside it stays on the real disk.
	pages := filepath.Join(dir, "store", "pages")
	if err := os.MkdirAll(pages, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", pages, "tmpfs", 0, "size=32m,mode=0700"); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("mounting a tmpfs is not permitted here (%v): the full-disk path is covered by the store's errorfs tests", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(pages, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", pages, err)
		}
	})
	os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(fmt.Sprintf(crashSite, pageWasm(t, repo))), 0o644)
	writeFullData(t, dir, "before", 0)
	k := startKiln(t, bin, dir)
	for i := range 3 {
		if code, h, body := k.get(fmt.Sprintf("/p/%d", i)); code != 200 || !strings.Contains(body, "before") {
			t.Fatalf("GET /p/%d before the disk fills: %d %s", i, code, h.Get("X-Kiln-Cache"))
		}
	}
	if got := storeReadOnly(t, k); got != 0 {
		t.Fatalf("kiln_store_read_only = %v before the disk fills, want 0", got)
	}

	// Fill the tmpfs, then regenerate big pages until a store write fails.
	filler := filepath.Join(pages, "filler")
	fillDisk(t, filler)
	deadline := time.Now().Add(2 * time.Minute)
	n := 0
	for ; storeReadOnly(t, k) == 0; n++ {
		if time.Now().After(deadline) {
			t.Fatalf("the store never turned read-only on a full disk:\n%s", kilnLog(t, dir))
		}
		writeFullData(t, dir, fmt.Sprintf("full %d", n), 20000)
		k.revalidate("/p/0", "/p/1", "/p/2")
	}
	t.Logf("read-only after %d rounds of big regenerations on the full tmpfs", n)
	if k.cmd.ProcessState != nil || k.cmd.Process.Signal(syscall.Signal(0)) != nil {
		t.Fatalf("kiln exited on a full disk:\n%s", kilnLog(t, dir))
	}
	// Stored pages are served; a regeneration is refused, and says why.
	writeFullData(t, dir, "refused", 0)
	if got := k.revalidate("/p/0"); !strings.Contains(got, "read-only") {
		t.Fatalf("revalidate on a full disk answered %s, want a read-only error", got)
	}
	for i := range 3 {
		code, _, body := k.get(fmt.Sprintf("/p/%d", i))
		if code != 200 || strings.Contains(body, "refused") {
			t.Fatalf("GET /p/%d on a full disk: %d, want 200 with the stored page (not the refused render)", i, code)
		}
	}
	if log := kilnLog(t, dir); !strings.Contains(log, "the store is read-only") || !strings.Contains(log, "regeneration not stored") {
		t.Fatalf("no clear read-only log lines:\n%s", log)
	}

	// Free the space: within a probe period (10 s) writes resume.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	waitUntil(t, 60*time.Second, "the store takes writes again", func() bool { return storeReadOnly(t, k) == 0 })
	t.Logf("writes resumed %s after the space was freed", time.Since(freed).Round(100*time.Millisecond))
	// The data change regenerates the pages, and they are stored.
	writeFullData(t, dir, "after", 0)
	for i := range 3 {
		path := fmt.Sprintf("/p/%d", i)
		waitUntil(t, 60*time.Second, path+" is stored with the new data", func() bool {
			code, h, body := k.get(path)
			return code == 200 && strings.Contains(body, "after") && h.Get("X-Kiln-Cache") == "HIT"
		})
	}
	k.stop()
}

// writeFullData writes three pages titled title, each with big repeats
// of filler text.
func writeFullData(t *testing.T, dir, title string, big int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("{")
	for i := range 3 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"page:/p/%d": {"title": "%s %d", "build": true, "big": %d}`, i, title, i, big)
	}
	b.WriteString("}")
	tmp := filepath.Join(dir, "data.json.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "data.json")); err != nil {
		t.Fatal(err)
	}
}

// fillDisk writes name until its file system refuses with ENOSPC.
func fillDisk(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for size := len(chunk); size > 0; size /= 2 {
		for {
			if _, err := f.Write(chunk[:size]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", name, err)
				}
				break
			}
		}
	}
}

// revalidate regenerates paths now through the admin API and returns
// its answer (on a full disk, the refused store is what is tested).
func (p *kilnProcess) revalidate(paths ...string) string {
	p.t.Helper()
	body := `{"paths":["` + strings.Join(paths, `","`) + `"]}`
	req, _ := http.NewRequest("POST", p.base+"/_kiln/revalidate", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b, _ := os.ReadFile(p.log.Name())
		p.t.Fatalf("revalidate: %v\n%s", err, b)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// storeReadOnly scrapes kiln_store_read_only.
func storeReadOnly(t *testing.T, p *kilnProcess) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", p.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "kiln_store_read_only "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no kiln_store_read_only in /metrics (%s)", resp.Status)
	return 0
}

func kilnLog(t *testing.T, dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "kiln.log"))
	return string(b)
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
