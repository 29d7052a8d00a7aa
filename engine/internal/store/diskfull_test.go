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
type fullDisk struct {
	*errorfs.FS
	full atomic.Bool
}

func newFullDisk() *fullDisk {
	d := &fullDisk{}
	d.FS = errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		// Locking a file and making a directory that exists need no
		// space; a full disk allows them.
		if op.Kind == errorfs.OpLock || op.Kind == errorfs.OpMkdirAll {
			return nil
		}
		if d.full.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
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
	err = s.Put(page("/b", 1), PutOptions{})
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Put on a full disk: %v, want ErrReadOnly", err)
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

	// A probe on a still-full disk changes nothing.
	s.probe()
	if !s.ReadOnly() {
		t.Fatal("probe turned writes on while the disk is full")
	}
	disk.full.Store(false)
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
	if st := s.Stats(); st.Pages != 2 {
		t.Fatalf("pages after recovery = %d, want 2", st.Pages)
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
	s.probe()
	if s.ReadOnly() {
		t.Fatal("probe did not reopen read-write")
	}
	mustPut(t, s, page("/b", 1))
}
