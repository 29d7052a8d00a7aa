package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// fullDisk wraps a memory FS whose writes fail with ENOSPC while full is
// set, the way a real disk refuses them when it runs out of space.
// Removing the store's ballast on a full disk makes room for a bounded
// number of writes (room), as the freed blocks do on a real one.
type fullDisk struct {
	*errorfs.FS
	full atomic.Bool
	room atomic.Int64
}

// ballastRoom is how many write operations the freed ballast takes: all
// that the write in flight and Pebble's background flush need. Tests set
// room to 0 to model a reserve used up (a memory FS's fallocate is a
// no-op, so the ballast's own creation is one Create and a Sync).
const ballastRoom = 1 << 20

func newFullDisk() *fullDisk {
	d := &fullDisk{}
	d.FS = errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		// Locking a file and making a directory that exists need no
		// space; a full disk allows them.
		if op.Kind == errorfs.OpLock || op.Kind == errorfs.OpMkdirAll {
			return nil
		}
		if op.Kind == errorfs.OpRemove { // frees space; needs none
			if d.full.Load() && strings.HasSuffix(op.Path, ballastName) {
				d.room.Store(ballastRoom)
			}
			return nil
		}
		if d.full.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && d.room.Add(-1) < 0 {
			return fmt.Errorf("op %d %s: %w", op.Kind, op.Path, syscall.ENOSPC)
		}
		return nil
	}))
	return d
}

// syncBuffer is a log sink safe for Pebble's goroutines.
type syncBuffer struct {
	mu  chan struct{}
	buf strings.Builder
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// TestDiskFullTurnsReadOnly: before, the first write after ENOSPC called
// Pebble's fatal logger, which exits the process (this test binary).
func TestDiskFullTurnsReadOnly(t *testing.T) {
	disk := newFullDisk()
	logs := newSyncBuffer()
	st, err := Open("db", Options{FS: disk, Logger: slog.New(slog.NewTextHandler(logs, nil)), ProbeEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*pebbleStore)
	defer s.Close()
	mustPut(t, s, page("/a", 1))
	if err := s.AddHistory("/a", Event{At: t0, Reason: "build"}); err != nil {
		t.Fatal(err)
	}

	disk.full.Store(true)
	// The write that meets the full disk lands on the freed ballast.
	if err := s.Put(page("/b0", 1), PutOptions{}); err != nil {
		t.Fatalf("the Put that meets the full disk: %v, want it stored on the reserve", err)
	}
	if _, err := s.Get("/b0"); err != nil {
		t.Fatalf("Get /b0: %v", err)
	}
	if !s.Stats().ReadOnly {
		t.Fatal("Stats().ReadOnly is false after a failed write")
	}
	// Every later write is refused at once, without touching Pebble.
	for name, write := range map[string]func() error{
		"put":       func() error { return s.Put(page("/c", 1), PutOptions{}) },
		"history":   func() error { return s.AddHistory("/a", Event{At: t0, Reason: "build"}) },
		"enqueue":   func() error { return s.Enqueue(Job{Path: "/a"}) },
		"dequeue":   func() error { return s.Dequeue("/a") },
		"markstale": func() error { return s.MarkStale("/a") },
		"meta":      func() error { return s.SetMeta("x", []byte("y")) },
		"delete":    func() error { return s.Delete("/a", false) },
	} {
		if err := write(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v, want ErrReadOnly", name, err)
		}
	}
	// Reads keep working: the hot cache, then Pebble itself.
	if p, err := s.Get("/a"); err != nil || string(p.Body) != string(page("/a", 1).Body) {
		t.Fatalf("Get /a while read-only: %v", err)
	}
	s.hot = newHotCache(-1, 1)
	if _, err := s.Get("/a"); err != nil {
		t.Fatalf("cold Get /a while read-only: %v", err)
	}
	if !strings.Contains(logs.String(), "read-only") {
		t.Fatalf("no read-only log line in:\n%s", logs)
	}

	// A probe on a still-full disk (the reserve used up) changes nothing.
	disk.room.Store(0)
	s.probe()
	if !s.ReadOnly() {
		t.Fatal("probe turned writes on while the disk is full")
	}
	disk.full.Store(false)
	disk.room.Store(0)
	s.probe()
	if s.ReadOnly() {
		t.Fatalf("probe did not turn writes back on; log:\n%s", logs)
	}
	mustPut(t, s, page("/b", 1))
	if _, err := s.Get("/a"); err != nil {
		t.Fatalf("Get /a after recovery: %v", err)
	}
	if _, err := s.Get("/b"); err != nil {
		t.Fatalf("Get /b after recovery: %v", err)
	}
	if st := s.Stats(); st.Pages != 3 {
		t.Fatalf("pages after recovery = %d, want 3", st.Pages)
	}
}

// TestOpenOnFullDisk: a store that cannot open read-write on a full disk
// opens read-only and serves what it has.
func TestOpenOnFullDisk(t *testing.T) {
	disk := newFullDisk()
	st, err := Open("db", Options{FS: disk, ProbeEvery: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, st, page("/a", 1))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	disk.full.Store(true)
	st, err = Open("db", Options{FS: disk, ProbeEvery: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("Open on a full disk: %v", err)
	}
	s := st.(*pebbleStore)
	defer s.Close()
	if !s.ReadOnly() {
		t.Fatal("store opened on a full disk is not read-only")
	}
	if _, err := s.Get("/a"); err != nil {
		t.Fatalf("Get on a read-only store: %v", err)
	}
	if err := s.Put(page("/b", 1), PutOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Put on a read-only store: %v", err)
	}
	disk.full.Store(false)
	disk.room.Store(0)
	s.probe()
	if s.ReadOnly() {
		t.Fatal("probe did not reopen read-write")
	}
	mustPut(t, s, page("/b", 1))
}

// TestDiskFullConcurrentBigWrites: writes of pages bigger than half a
// memtable each rotate Pebble's WAL, and a rotation after a failed WAL
// write panics inside Pebble past recovery (it unlocks a mutex twice),
// which killed the engine when the disk filled during a burst of
// regenerations. Writes racing the first failure must be refused, not
// reach Pebble: rounds of 16 writers released together onto a disk that
// just filled, with a recovery between rounds.
func TestDiskFullConcurrentBigWrites(t *testing.T) {
	disk := newFullDisk()
	logs := newSyncBuffer()
	st, err := Open("db", Options{FS: disk, Logger: slog.New(slog.NewTextHandler(logs, nil)), ProbeEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*pebbleStore)
	defer s.Close()
	big := make([]byte, 3<<20) // over half of Pebble's default 4 MiB memtable
	const writers = 16
	for round := range 5 {
		start := make(chan struct{})
		errs := make(chan error, writers)
		for w := range writers {
			go func() {
				p := page(fmt.Sprintf("/r%d/w%d", round, w), 1)
				p.Body = big
				<-start
				errs <- s.Put(p, PutOptions{})
			}()
		}
		disk.full.Store(true)
		close(start)
		for range writers {
			if err := <-errs; err != nil && !errors.Is(err, ErrReadOnly) {
				t.Fatalf("round %d: Put on a filling disk: %v, want nil or ErrReadOnly", round, err)
			}
		}
		if !s.ReadOnly() {
			t.Fatalf("round %d: the store takes writes on a full disk", round)
		}
		disk.full.Store(false)
		disk.room.Store(0)
		s.probe()
		if s.ReadOnly() {
			t.Fatalf("round %d: no recovery once the disk has space; log:\n%s", round, logs)
		}
		mustPut(t, s, page(fmt.Sprintf("/r%d/after", round), 1))
	}
}
