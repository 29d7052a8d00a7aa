package render

import (
	"bytes"
	"context"
	"log/slog"
	"strings"

	"github.com/kilnhq/kiln/engine/internal/logline"
)

// maxLine is the longest line kept before it is logged unfinished.
const maxLine = 16 << 10

// lineWriter logs what a guest writes to stdout or stderr, one record per
// line, within the render's log budget.
type lineWriter struct {
	logline.Writer
	budget *logBudget
}

func newLineWriter(logger *slog.Logger, budget *logBudget) *lineWriter {
	return &lineWriter{Writer: logline.Writer{Max: maxLine, Emit: func(line []byte) {
		msg := strings.ToValidUTF8(string(bytes.TrimSuffix(line, []byte("\r"))), "\uFFFD")
		logger.Log(context.Background(), slog.LevelInfo, msg)
	}}, budget: budget}
}

// Write counts p against the budget before it copies anything; past the
// budget it panics, which traps the guest in fd_write.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.budget.spend(len(p))
	return w.Writer.Write(p)
}
