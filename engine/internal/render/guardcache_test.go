package render

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuardCache checks a cached instrumented module is used when sound,
// and rewritten when the file is damaged in any way.
func TestGuardCache(t *testing.T) {
	bin, err := os.ReadFile(buildGoGuest(t, "testdata/misbehave"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := instrument(bin)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		damage func(b []byte) []byte // the file as found; nil: no file
		used   bool                  // the file's payload is used as is
	}{
		{"missing", nil, false},
		{"sound", func(b []byte) []byte { return b }, true},
		{"empty", func([]byte) []byte { return nil }, false},
		{"header only", func(b []byte) []byte { return b[:guardHeader] }, false},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, false},
		{"one byte short", func(b []byte) []byte { return b[:len(b)-1] }, false},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0) }, false},
		{"flipped bit", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, false},
		{"wrong magic", func(b []byte) []byte { b[0] = 'K'; return b }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := guardCache{dir: t.TempDir()}
			path := c.path(bin)
			if tt.damage != nil {
				// A sound file holding another payload shows whether the
				// cache was read.
				other := append(bytes.Clone(want), "marker"...)
				os.WriteFile(path, tt.damage(encodeGuardFile(other)), 0o644)
				want := want
				if tt.used {
					want = other
				}
				checkGuard(t, c, bin, want)
			} else {
				checkGuard(t, c, bin, want)
			}
			got, ok := readGuardFile(path)
			if !ok || (!tt.used && !bytes.Equal(got, want)) {
				t.Errorf("the cache file is not sound after the load")
			}
			if temps, _ := filepath.Glob(filepath.Join(c.dir, ".tmp-*")); len(temps) > 0 {
				t.Errorf("temporary files left: %q", temps)
			}
		})
	}
}

func checkGuard(t *testing.T, c guardCache, bin, want []byte) {
	t.Helper()
	got, err := c.instrument(bin, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("instrument returned %d bytes, want the %d expected", len(got), len(want))
	}
}

// TestGuardCacheName checks the file is named by the module's hash and
// the rewriter's version.
func TestGuardCacheName(t *testing.T) {
	c := guardCache{dir: "/cache/guard"}
	got := c.path([]byte("\x00asm\x01\x00\x00\x00"))
	if want := "/cache/guard/93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476.v1.wasm"; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
}

// TestGuardCacheUnwritable checks a cache that cannot be written still
// gives the instrumented module, and says why in the log.
func TestGuardCacheUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	rec := &logRecorder{}
	bin := []byte("\x00asm\x01\x00\x00\x00")
	got, err := guardCache{dir: filepath.Join(file, "guard")}.instrument(bin, slog.New(rec))
	if want, _ := instrument(bin); err != nil || !bytes.Equal(got, want) {
		t.Errorf("instrument = %x, %v; want %x", got, err, want)
	}
	if msgs := rec.messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "cache the instrumented module") {
		t.Errorf("logs = %q, want one warning", msgs)
	}
}

// TestLoadUsesGuardCache loads a renderer twice on one cache directory,
// the second time with its cache file damaged: both work, and the file is
// sound again afterwards.
func TestLoadUsesGuardCache(t *testing.T) {
	dir := t.TempDir()
	wasm := buildGoGuest(t, "testdata/misbehave")
	bin, _ := os.ReadFile(wasm)
	path := guardCache{dir: filepath.Join(dir, "guard")}.path(bin)
	for _, damage := range []bool{false, true} {
		rt, err := NewRuntime(context.Background(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := rt.Load(context.Background(), Config{Name: "cached", WasmPath: wasm, Pool: 1})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := r.Render(context.Background(), Request{Path: "/ok"}); err != nil || string(resp.Body) != "ok" {
			t.Errorf("render = %v, %v", resp, err)
		}
		if !r.(*wasmRenderer).guarded {
			t.Error("not instrumented")
		}
		r.Close(context.Background())
		rt.Close(context.Background())
		if _, ok := readGuardFile(path); !ok {
			t.Fatalf("after load (damaged %v): no sound cache file at %s", damage, path)
		}
		os.WriteFile(path, []byte("kilnguard\x00garbage"), 0o644)
	}
}

// FuzzGuardFile feeds the cache file decoder arbitrary bytes: it never
// panics, and accepts only what encodeGuardFile wrote.
func FuzzGuardFile(f *testing.F) {
	f.Add(encodeGuardFile([]byte("\x00asm\x01\x00\x00\x00")))
	f.Add([]byte("kilnguard\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, err := decodeGuardFile(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeGuardFile(payload), b) {
			t.Errorf("accepted %x, which encodes as %x", b, encodeGuardFile(payload))
		}
	})
}
