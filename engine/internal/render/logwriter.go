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
// line.
type lineWriter struct{ logline.Writer }

func newLineWriter(logger *slog.Logger) *lineWriter {
	return &lineWriter{logline.Writer{Max: maxLine, Emit: func(line []byte) {
		msg := strings.ToValidUTF8(string(bytes.TrimSuffix(line, []byte("\r"))), "\uFFFD")
		logger.Log(context.Background(), slog.LevelInfo, msg)
	}}}
}
