package datasource

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrChecksum means a plugin executable's sha256 differs from the one in
// site.hcl; the plugin is not started.
var ErrChecksum = errors.New("datasource: checksum mismatch")

// runDirPattern names an engine's private folder under the temp folder.
const runDirPattern = "kiln-plugins-"

// runDir is one engine's private folder (mode 0700) for its plugins' Unix
// sockets and their verified executables. It holds an flock on its lock
// file while the engine runs, so a later engine can tell a folder left
// behind by a killed one (its lock is free) and remove it.
type runDir struct {
	path string
	lock *os.File
}

// openRunDir removes the folders of dead engines under base (default
// os.TempDir()) and creates this engine's.
func openRunDir(base string, log *slog.Logger) (*runDir, error) {
	if base == "" {
		base = os.TempDir()
	}
	removeStale(base, log)
	path, err := os.MkdirTemp(base, runDirPattern+"*")
	if err != nil {
		return nil, fmt.Errorf("plugin run folder: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(path, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err == nil {
		err = os.Mkdir(filepath.Join(path, "sockets"), 0o700)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(path)
		return nil, fmt.Errorf("plugin run folder: %w", err)
	}
	return &runDir{path: path, lock: lock}, nil
}

// removeStale removes the run folders under base whose engine is gone:
// folders of this user whose lock file nobody holds.
func removeStale(base string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(base, runDirPattern+"*"))
	for _, dir := range dirs {
		if !ownDir(dir) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
		if err != nil {
			continue // no lock file yet: an engine may be creating it
		}
		free := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
		if free {
			if err := os.RemoveAll(dir); err != nil {
				log.Warn("cannot remove a dead engine's plugin folder", "path", dir, "error", err)
			} else {
				log.Info("removed a dead engine's plugin folder", "path", dir)
			}
		}
		f.Close()
	}
}

// ownDir reports whether dir is a real folder (not a link) of this user.
func ownDir(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// sockets is where plugins create their Unix sockets
// (PLUGIN_UNIX_SOCKET_DIR).
func (d *runDir) sockets() string { return filepath.Join(d.path, "sockets") }

// Close removes the folder and releases its lock.
func (d *runDir) Close() error {
	err := os.RemoveAll(d.path)
	d.lock.Close()
	return err
}

// verifiedCopy copies the executable at path into the folder, hashing the
// bytes as they are copied, and returns the copy's path when their sha256
// is want. The copy is what runs, so the bytes checked are the bytes
// executed: the original may change after the check, the copy cannot
// (the folder is the engine's alone). The caller removes the copy once
// the process has started.
func (d *runDir) verifiedCopy(path, want string) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	// No fork may inherit the copy's write descriptor: a child holding it
	// between its fork and exec would make our exec fail with ETXTBSY.
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	dst, err := os.CreateTemp(d.path, filepath.Base(path)+".*")
	if err != nil {
		return "", err
	}
	got, err := copyHash(dst, src)
	if err == nil && !strings.EqualFold(got, want) {
		err = fmt.Errorf("%w: %s has sha256 %s, site.hcl wants %s", ErrChecksum, path, got, want)
	}
	if err != nil {
		os.Remove(dst.Name())
		return "", err
	}
	return dst.Name(), nil
}

// copyHash copies src into dst, makes dst executable by its owner only,
// closes it and returns the hex sha256 of the bytes copied.
func copyHash(dst *os.File, src io.Reader) (string, error) {
	h := sha256.New()
	_, err := io.Copy(io.MultiWriter(dst, h), src)
	if err == nil {
		err = dst.Chmod(0o700)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
