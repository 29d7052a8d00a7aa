//go:build unix

package render

import (
	"context"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// withMappedMemory makes the instances created with ctx keep their linear
// memory in an anonymous mapping of its own, outside the Go heap. On the
// heap, a Go renderer's 10+ MB memory counted twice towards RSS (the
// collector lets the heap grow to twice what is live), and every
// memory.grow copied the whole memory. A mapping reserves the maximum
// size up front (MAP_NORESERVE: address space, not memory), grows in
// place, and only the pages the guest touched are resident. It is
// unmapped when the instance closes (wazero frees it only once no call
// is running in it).
func withMappedMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(allocateMapped))
}

func allocateMapped(capacity, max uint64) experimental.LinearMemory {
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return &heapMemory{} // no address space left: fall back to the heap
	}
	return &mappedMemory{buf: b}
}

// mappedMemory is a linear memory in its own mapping.
type mappedMemory struct{ buf []byte }

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil // past the maximum: memory.grow fails
	}
	return m.buf[:size]
}

func (m *mappedMemory) Free() {
	if m.buf != nil {
		syscall.Munmap(m.buf)
		m.buf = nil
	}
}
