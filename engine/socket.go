package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/kilnhq/kiln/engine/internal/server"
)

// The admin socket: `kiln serve` listens on a unix socket in its store
// folder, and the kiln commands on the same machine (inspect, data,
// revalidate, routes) use it first, with no secret. Its file mode, 0600,
// is the access control, as for the docker CLI.

// adminSocketName is the socket's file name in the store folder.
const adminSocketName = "admin.sock"

// maxSocketPath is the longest path a unix socket can have on Linux
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// adminSocketPath is the admin socket of the store in storeDir.
func adminSocketPath(storeDir string) string { return filepath.Join(storeDir, adminSocketName) }

// listenAdminSocket opens the admin socket of storeDir with mode 0600.
// The caller holds the store's lock, so a socket already there is stale
// (left by a killed engine) and is replaced. The socket is bound under a
// temporary name, made 0600, then renamed into place, so it is never
// reachable with a wider mode. Closing the listener removes the socket.
func listenAdminSocket(storeDir string) (net.Listener, error) {
	path := adminSocketPath(storeDir)
	tmp := path + ".new"
	if len(tmp) > maxSocketPath {
		return nil, fmt.Errorf("admin socket %s: the path is %d bytes, over the %d a unix socket allows; use a shorter --store path", path, len(tmp), maxSocketPath)
	}
	for _, p := range []string{tmp, path} {
		if err := removeSocket(p); err != nil {
			return nil, err
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return &socketListener{UnixListener: ln, path: path}, nil
}

// removeSocket removes a stale socket; any other kind of file at its
// path is an error, not something to delete.
func removeSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin socket: %s exists and is not a socket; move it away", path)
	}
	return os.Remove(path)
}

// socketListener removes the socket file when it is closed.
type socketListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

func (l *socketListener) Close() error {
	l.once.Do(func() { os.Remove(l.path) })
	return l.UnixListener.Close()
}

// serveAdminSocket serves srv's admin API on the store's socket. The
// returned func closes the socket (removing its file) and waits until it
// is no longer served. Without a socket (for example a store path too
// long for one) the engine runs on, and says why.
func serveAdminSocket(srv *server.Server, storeDir string, log *slog.Logger) (stop func()) {
	ln, err := listenAdminSocket(storeDir)
	if err != nil {
		log.Warn("local control off: kiln commands on this machine need the admin secret", "err", err)
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeLocal(ln)
	}()
	return func() {
		ln.Close()
		<-done
	}
}
