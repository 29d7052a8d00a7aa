package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test re-runs the test binary as a writer that Puts and Deletes
// self-verifying pages as fast as it can and prints "path version" after
// each one returns. The parent SIGKILLs it at a random moment, reopens the
// store and checks every path holds exactly the last acknowledged version
// or the one after it, every record decodes and verifies, and the indexes
// match the records.

const (
	crashDirEnv  = "KILN_STORE_CRASH_DIR"
	crashVersEnv = "KILN_STORE_CRASH_VERSIONS"
	crashPaths   = 8 // one writing goroutine each
)

func crashPath(i int) string { return fmt.Sprintf("/crash/%d", i) }

// crashDeleted reports whether version v of a path is a deletion.
func crashDeleted(v int) bool { return v == 0 || v%5 == 0 }

// crashPage is version v of path: its body repeats the version and a
// header carries the body's checksum, so a torn record cannot pass.
func crashPage(path string, v int) *Page {
	body := bytes.Repeat([]byte(fmt.Sprintf("%s@%d;", path, v)), 100+(v*37)%2000)
	x := fmt.Sprintf("p%d/", v%4)
	if v%2 == 0 {
		x = "data" + path + "/"
	}
	return &Page{
		Path: path, Route: "/crash/{n}", Kind: KindPage, Status: 200,
		Headers: []Header{
			{"X-Version", strconv.Itoa(v)},
			{"X-Sum", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)},
		},
		Body:      body,
		Generated: t0.Add(time.Duration(v) * time.Second),
		Tags:      []string{"all", fmt.Sprintf("tag%d", v%3)},
		Keys:      []string{"shared", fmt.Sprintf("data%s/v%d", path, v%3)},
		Prefixes:  []string{x},
	}
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the crash test's child process")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Split(os.Getenv(crashVersEnv), ",")
	var out sync.Mutex
	if os.Getenv(crashBatchEnv) != "" {
		v, _ := strconv.Atoi(start[0])
		go crashWriteBatches(s.(BuildWriter), s, v, &out)
		select {} // killed by the parent
	}
	for i := range crashPaths {
		v, _ := strconv.Atoi(start[i])
		go crashWrite(s, crashPath(i), v, &out)
	}
	select {} // killed by the parent
}

// crashWrite writes versions v+1, v+2, ... of path forever.
func crashWrite(s Store, path string, v int, out *sync.Mutex) {
	for {
		v++
		var err error
		if crashDeleted(v) {
			err = s.Delete(path, false)
		} else {
			err = s.Put(crashPage(path, v), PutOptions{Build: true})
		}
		if err != nil {
			panic(err)
		}
		out.Lock()
		os.Stdout.WriteString(fmt.Sprintf("%s %d\n", path, v)) // one write(2): survives the kill
		out.Unlock()
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped in -short")
	}
	dir := filepath.Join(t.TempDir(), "db")
	vers := make([]int, crashPaths)
	for round := range 8 {
		acked := runCrashChild(t, dir, vers, rand.N(80*time.Millisecond))
		vers = verifyAfterCrash(t, dir, acked)
		t.Logf("round %d: acked %v, stored %v", round, acked, vers)
	}
}

// runCrashChild starts a writer, kills it after it acknowledged its first
// write plus delay, and returns the last acknowledged version per path.
func runCrashChild(t *testing.T, dir string, vers []int, delay time.Duration, env ...string) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashVersEnv+"="+joinInts(vers))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := append([]int(nil), vers...)
	sc := bufio.NewScanner(stdout)
	first := true
	for sc.Scan() {
		var i, v int
		if _, err := fmt.Sscanf(sc.Text(), "/crash/%d %d", &i, &v); err != nil {
			t.Fatalf("child wrote %q", sc.Text())
		}
		acked[i] = v
		if first {
			first = false
			time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
		}
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	return acked
}

// verifyAfterCrash reopens the store, checks it against the acknowledged
// versions and returns the version each path now holds.
func verifyAfterCrash(t *testing.T, dir string, acked []int) []int {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	checkConsistent(t, s.(*pebbleStore))
	now := make([]int, crashPaths)
	for i := range crashPaths {
		v, err := crashStoredVersion(s, crashPath(i), acked[i])
		if err != nil {
			t.Fatalf("%s (acked v%d): %v", crashPath(i), acked[i], err)
		}
		now[i] = v
	}
	return now
}

// crashStoredVersion returns which of acked and acked+1 path holds.
func crashStoredVersion(s Store, path string, acked int) (int, error) {
	p, err := s.Get(path)
	if errors.Is(err, ErrNotFound) {
		for _, v := range []int{acked, acked + 1} {
			if crashDeleted(v) {
				return v, nil
			}
		}
		return 0, errors.New("page missing")
	}
	if err != nil {
		return 0, err
	}
	if sum := strconv.FormatUint(uint64(crc32.ChecksumIEEE(p.Body)), 10); p.Headers[1].Value != sum {
		return 0, fmt.Errorf("body checksum %s, header says %s", sum, p.Headers[1].Value)
	}
	v, _ := strconv.Atoi(p.Headers[0].Value)
	if v != acked && v != acked+1 {
		return 0, fmt.Errorf("holds v%d", v)
	}
	if !samePage(p, crashPage(path, v)) {
		return 0, fmt.Errorf("v%d record differs from what was written", v)
	}
	return v, nil
}

func joinInts(l []int) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

// The batch crash test's child writes every path at each version in one
// PutBuilt batch, as a build does, syncs, and acknowledges the version.
// After the kill every path must hold the same version, the acknowledged
// one or the next: a batch is there whole or not at all, and no record
// is torn.

const crashBatchEnv = "KILN_STORE_CRASH_BATCH"

// crashNext is the version a batch writes after v (deletion versions are
// skipped: a build does not delete).
func crashNext(v int) int {
	for v++; crashDeleted(v); v++ {
	}
	return v
}

func crashWriteBatches(bw BuildWriter, s Store, v int, out *sync.Mutex) {
	for {
		v = crashNext(v)
		items := make([]Built, crashPaths)
		for i := range items {
			items[i] = Built{Page: crashPage(crashPath(i), v), Event: Event{At: t0, Reason: "build", Outcome: "regenerated"}}
		}
		errs, err := bw.PutBuilt(items)
		if err == nil {
			err = errors.Join(errs...)
		}
		if err == nil {
			err = s.Sync()
		}
		if err != nil {
			panic(err)
		}
		out.Lock()
		for i := range crashPaths {
			os.Stdout.WriteString(fmt.Sprintf("%s %d\n", crashPath(i), v))
		}
		out.Unlock()
	}
}

func TestCrashBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary; skipped in -short")
	}
	dir := filepath.Join(t.TempDir(), "db")
	v := 0
	for round := range 8 {
		acked := runCrashChild(t, dir, slices.Repeat([]int{v}, crashPaths), rand.N(80*time.Millisecond), crashBatchEnv+"=1")
		v = slices.Max(acked) // the kill may cut the acknowledgements of one batch short
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("reopen after kill: %v", err)
		}
		checkConsistent(t, s.(*pebbleStore))
		var stored []int
		for i := range crashPaths {
			got, err := crashBatchVersion(s, crashPath(i))
			if err == nil && got != v && got != crashNext(v) {
				err = fmt.Errorf("holds v%d", got)
			}
			if err != nil {
				s.Close()
				t.Fatalf("round %d: %s (acked v%d): %v", round, crashPath(i), v, err)
			}
			stored = append(stored, got)
		}
		s.Close()
		if slices.Min(stored) != slices.Max(stored) {
			t.Fatalf("round %d: one batch, the paths hold versions %v", round, stored)
		}
		t.Logf("round %d: acked v%d, stored v%d", round, v, stored[0])
		v = stored[0]
	}
}

// crashBatchVersion returns the version path holds, checking its record.
func crashBatchVersion(s Store, path string) (int, error) {
	p, err := s.Get(path)
	if err != nil {
		return 0, err
	}
	if sum := strconv.FormatUint(uint64(crc32.ChecksumIEEE(p.Body)), 10); p.Headers[1].Value != sum {
		return 0, fmt.Errorf("body checksum %s, header says %s", sum, p.Headers[1].Value)
	}
	v, _ := strconv.Atoi(p.Headers[0].Value)
	if !samePage(p, crashPage(path, v)) {
		return 0, fmt.Errorf("v%d record differs from what was written", v)
	}
	return v, nil
}
