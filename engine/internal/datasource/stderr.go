package datasource

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/kilnhq/kiln/engine/internal/logline"
)

// maxLogLine bounds a buffered stderr line; longer lines are cut.
const maxLogLine = 64 << 10

// stderrLog turns a plugin's stderr into engine log records: hclog JSON
// lines keep their level, message and fields; other lines are logged at
// info, or at error once a Go panic starts.
type stderrLog struct {
	log *slog.Logger

	once    sync.Once
	lines   logline.Writer
	inPanic bool // guarded by lines' lock, which holds while line runs
}

func (w *stderrLog) Write(p []byte) (int, error) {
	w.once.Do(func() { w.lines = logline.Writer{Max: maxLogLine, Emit: w.line} })
	return w.lines.Write(p)
}

func (w *stderrLog) line(b []byte) {
	if len(bytes.TrimSpace(b)) == 0 {
		return
	}
	rec, ok := parseLogLine(b)
	if !ok {
		rec = w.plain(string(b))
	}
	w.log.Log(context.Background(), rec.level, rec.msg, rec.attrs...)
}

// logRecord is one parsed stderr line.
type logRecord struct {
	level slog.Level
	msg   string
	attrs []any
}

// plain classifies a non-JSON line.
func (w *stderrLog) plain(s string) logRecord {
	rec := logRecord{level: slog.LevelInfo, msg: s}
	for _, p := range []struct {
		prefix string
		level  slog.Level
	}{{"[ERROR]", slog.LevelError}, {"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelInfo}, {"[DEBUG]", slog.LevelDebug}} {
		if strings.HasPrefix(s, p.prefix) {
			rec.level, rec.msg = p.level, strings.TrimSpace(strings.TrimPrefix(s, p.prefix))
			return rec
		}
	}
	if strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "fatal error: ") {
		w.inPanic = true
	}
	if w.inPanic {
		rec.level = slog.LevelError
	}
	return rec
}

// parseLogLine decodes an hclog JSON line; ok is false for anything else.
func parseLogLine(b []byte) (rec logRecord, ok bool) {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m == nil {
		return rec, false
	}
	msg, ok := m["@message"].(string)
	if !ok {
		return rec, false
	}
	rec.msg, rec.level = msg, hclogLevel(m["@level"])
	if mod, ok := m["@module"].(string); ok {
		rec.attrs = append(rec.attrs, "module", mod)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !strings.HasPrefix(k, "@") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		rec.attrs = append(rec.attrs, k, m[k])
	}
	return rec, true
}

func hclogLevel(v any) slog.Level {
	s, _ := v.(string)
	switch strings.ToLower(s) {
	case "trace":
		return slog.LevelDebug - 4
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
