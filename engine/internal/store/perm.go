package store

import (
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Store files are their owner's only: pages (previews among them) and
// the WAL hold what the renderers made from private data. Pebble's OS
// file system creates files 0666 and leaves the mode to the umask, so
// privateFS sets 0600 on every file it creates or reuses, and 0700 on its
// directories, whatever the umask (the store folder is 0700 already; this
// keeps the files private should it be copied or its mode changed).
type privateFS struct{ vfs.FS }

const (
	fileMode = 0o600
	dirMode  = 0o700
)

func (fs privateFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return private(f, name, err)
}

func (fs privateFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	return private(f, name, err)
}

func (fs privateFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return private(f, newname, err)
}

func (fs privateFS) MkdirAll(dir string, _ os.FileMode) error {
	return fs.FS.MkdirAll(dir, dirMode)
}

func (fs privateFS) Lock(name string) (io.Closer, error) {
	c, err := fs.FS.Lock(name)
	if err == nil {
		err = os.Chmod(name, fileMode)
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}

func private(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	if err := os.Chmod(name, fileMode); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// privateTree makes the files under dir 0600 and its folders 0700: a
// store written before privateFS, opened once.
func privateTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			return os.Chmod(p, dirMode)
		case d.Type().IsRegular():
			return os.Chmod(p, fileMode)
		}
		return nil
	})
}
