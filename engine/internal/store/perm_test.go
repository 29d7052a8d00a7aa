package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestStoreFilesPrivate: under a permissive umask, every file Pebble
// writes in the store (WAL, tables, manifest, OPTIONS, LOCK) is 0600 and
// every folder 0700, and a store written with wider modes is made private
// when opened.
func TestStoreFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "db")
	// A store from before: a file and a folder readable by anyone.
	if err := os.MkdirAll(filepath.Join(dir, "pages", "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pages", "old", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := testEnv{dir: dir}
	s := env.open(t, Options{})
	for i := range 200 {
		mustPut(t, s, page("/p/"+string(rune('a'+i%26))+string(rune('a'+i/26)), i))
	}
	if err := s.db.Flush(); err != nil { // an sstable and a new manifest
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		files := 0
		err := filepath.WalkDir(filepath.Join(dir, "pages"), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			got, want := info.Mode().Perm(), fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			} else {
				files++
			}
			if got != want {
				t.Errorf("%s: mode %v, want %v", p, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files < 5 {
			t.Errorf("only %d files under the store: Pebble's files were not checked", files)
		}
	}
	check()
	s.Close()
	s = env.open(t, Options{}) // reopened: a new WAL and manifest
	mustPut(t, s, page("/p/again", 1))
	check()
}
