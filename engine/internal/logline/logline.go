// Package logline splits a byte stream written by a child (a renderer's
// stdout, a plugin's stderr) into lines, for logging one record per line.
package logline

import (
	"bytes"
	"sync"
)

// Writer calls Emit with each complete line written to it, without the
// newline. A line longer than Max is emitted unfinished. It is safe for
// concurrent use; Emit is called with the writer's lock held.
type Writer struct {
	Emit func(line []byte)
	Max  int

	mu  sync.Mutex
	buf []byte
}

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.Emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= w.Max {
		w.Emit(w.buf)
		w.buf = w.buf[:0]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(p), nil
}

// Flush emits an unfinished last line.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.Emit(w.buf)
		w.buf = nil
	}
}
