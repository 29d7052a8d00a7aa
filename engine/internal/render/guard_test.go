package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestInstrumentNames checks that a trap in an instrumented module still
// names its functions (the name section is renumbered, not dropped).
func TestInstrumentNames(t *testing.T) {
	rt := newTestRuntime(t, nil)
	r := load(t, rt, Config{Name: "names", WasmPath: buildGoGuest(t, "testdata/misbehave"), Pool: 1, MaxMemory: 32 << 20})
	_, err := r.Render(context.Background(), Request{Path: "/bomb"})
	if err == nil || !strings.Contains(err.Error(), "main.render") {
		t.Errorf("err = %v, want a stack trace naming main.render", err)
	}
}

func TestInstrumentRejects(t *testing.T) {
	tests := []struct {
		name string
		bin  string
	}{
		{"truncated", "\x00asm\x01\x00\x00\x00\x01\x05"},
		// type func(); function 0; body with a legacy try (0x06).
		{"exceptions", "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x06\x01\x04\x00\x06\x40\x0b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := instrument([]byte(tt.bin)); !errors.Is(err, errUninstrumentable) {
				t.Errorf("err = %v, want errUninstrumentable", err)
			}
		})
	}
}

// FuzzInstrument feeds instrument arbitrary modules: it must never panic,
// and whatever it returns for a module wazero compiles must compile too.
func FuzzInstrument(f *testing.F) {
	// Real modules are checked end to end by TestConformance; the seeds
	// here stay small so each input compiles fast.
	if b, err := os.ReadFile(filepath.Join(cacheDir(f), "conformance-c.wasm")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x07\x01\x05\x00\x03\x40\x0b\x0b"))
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := instrument(bin)
		if err != nil || len(bin) > 64<<10 {
			return
		}
		if _, err := r.CompileModule(ctx, bin); err != nil {
			return
		}
		if _, err := r.CompileModule(ctx, out); err != nil {
			t.Errorf("instrumented module does not compile: %v", err)
		}
	})
}

// BenchmarkInstrument is the guard rewrite of a Go renderer (6.7 MB).
func BenchmarkInstrument(b *testing.B) {
	bin, err := os.ReadFile(buildGoGuest(b, "testdata/page"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bin)))
	for b.Loop() {
		if _, err := instrument(bin); err != nil {
			b.Fatal(err)
		}
	}
}
