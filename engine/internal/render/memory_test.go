//go:build unix

package render

import (
	"bytes"
	"testing"
)

// TestMappedMemory checks a mapped linear memory grows in place, keeps its
// contents, starts zeroed, and refuses to grow past its maximum.
func TestMappedMemory(t *testing.T) {
	const max = 4 << 20
	m := allocateMapped(1<<16, max)
	defer m.Free()
	b := m.Reallocate(1 << 16)
	if len(b) != 1<<16 || !bytes.Equal(b, make([]byte, 1<<16)) {
		t.Fatalf("first Reallocate: len %d, zeroed %v; want 65536 zeroed bytes", len(b), bytes.Equal(b, make([]byte, len(b))))
	}
	copy(b, "kept")
	for _, tt := range []struct {
		size    uint64
		wantNil bool
	}{
		{2 << 16, false},
		{max, false},
		{max + 1, true},
	} {
		got := m.Reallocate(tt.size)
		if (got == nil) != tt.wantNil {
			t.Fatalf("Reallocate(%d) nil = %v, want %v", tt.size, got == nil, tt.wantNil)
		}
		if got == nil {
			continue
		}
		if uint64(len(got)) != tt.size || string(got[:4]) != "kept" || &got[0] != &b[0] {
			t.Errorf("Reallocate(%d): len %d, prefix %q, moved %v; want the same memory, grown", tt.size, len(got), got[:4], &got[0] != &b[0])
		}
		if got[tt.size-1] != 0 {
			t.Errorf("Reallocate(%d): new bytes not zero", tt.size)
		}
	}
	m.Free()
	m.Free() // twice is harmless
}

func TestHeapMemory(t *testing.T) {
	var m heapMemory
	b := m.Reallocate(10)
	copy(b, "0123456789")
	if got := m.Reallocate(1000); len(got) != 1000 || string(got[:10]) != "0123456789" || got[999] != 0 {
		t.Errorf("grown heap memory: len %d, prefix %q", len(got), got[:10])
	}
	m.Free()
}
