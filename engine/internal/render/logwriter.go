package render

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// maxLine is the longest line kept before it is logged unfinished.
const maxLine = 16 << 10

// lineWriter logs what a guest writes to stdout or stderr, one record per
// line.
type lineWriter struct {
	logger *slog.Logger
	mu     sync.Mutex
	buf    []byte
}

func newLineWriter(logger *slog.Logger) *lineWriter { return &lineWriter{logger: logger} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= maxLine {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(p), nil
}

// Flush logs an unfinished last line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	msg := strings.ToValidUTF8(string(bytes.TrimSuffix(line, []byte("\r"))), "\uFFFD")
	w.logger.Log(context.Background(), slog.LevelInfo, msg)
}
