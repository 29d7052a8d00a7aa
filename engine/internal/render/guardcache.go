package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// guardVersion names the rewriter's output: change it whenever instrument
// writes something different for the same module, so no cached module
// from an older rewriter is used.
const guardVersion = 1

// guardCache keeps instrumented modules on disk, beside wazero's
// compilation cache, named by the SHA-256 of the original module and
// guardVersion: a start or a build finds the module it instrumented last
// time instead of rewriting megabytes again.
//
// A file is a header (magic, payload length, CRC-32C of the payload) and
// the instrumented module. A file that is short, long or does not match its
// checksum is ignored and rewritten. Writes go to a temporary file renamed
// into place, so a reader never sees half a file.
type guardCache struct {
	dir string // "" keeps nothing
}

var (
	guardMagic = []byte("kilnguard\x00")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

const guardHeader = 10 + 8 + 4 // magic, length, checksum

func (c guardCache) path(bin []byte) string {
	sum := sha256.Sum256(bin)
	return filepath.Join(c.dir, hex.EncodeToString(sum[:])+".v"+strconv.Itoa(guardVersion)+".wasm")
}

// instrument returns bin instrumented, from the cache when it holds a
// sound copy, else rewritten now and written to the cache. Failing to
// write the cache is logged, not returned: the module is good to use.
func (c guardCache) instrument(bin []byte, logger *slog.Logger) ([]byte, error) {
	if c.dir == "" {
		return instrument(bin)
	}
	path := c.path(bin)
	if out, ok := readGuardFile(path); ok {
		return out, nil
	}
	out, err := instrument(bin)
	if err != nil {
		return nil, err
	}
	if err := writeGuardFile(path, out); err != nil {
		logger.Warn("cache the instrumented module", "err", err)
	}
	return out, nil
}

// readGuardFile returns the payload of a sound cache file.
func readGuardFile(path string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	payload, err := decodeGuardFile(b)
	return payload, err == nil
}

var errGuardFile = errors.New("bad instrumented module cache file")

func decodeGuardFile(b []byte) ([]byte, error) {
	if len(b) < guardHeader || !bytes.Equal(b[:len(guardMagic)], guardMagic) {
		return nil, errGuardFile
	}
	n := binary.LittleEndian.Uint64(b[10:])
	sum := binary.LittleEndian.Uint32(b[18:])
	payload := b[guardHeader:]
	if uint64(len(payload)) != n || crc32.Checksum(payload, castagnoli) != sum {
		return nil, errGuardFile
	}
	return payload, nil
}

func encodeGuardFile(payload []byte) []byte {
	b := make([]byte, guardHeader, guardHeader+len(payload))
	copy(b, guardMagic)
	binary.LittleEndian.PutUint64(b[10:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(b[18:], crc32.Checksum(payload, castagnoli))
	return append(b, payload...)
}

// writeGuardFile writes atomically: a temporary file in the same
// directory, renamed over path.
func writeGuardFile(path string, payload []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(encodeGuardFile(payload))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
