package datasource

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogLogger adapts an slog.Logger to the hclog.Logger go-plugin wants, so
// go-plugin's own messages and every plugin's stderr log lines land in the
// engine's log.
type slogLogger struct {
	l    *slog.Logger
	name string
	args []any
	mute string // Named(mute) returns a disabled logger
	off  bool
}

var _ hclog.Logger = (*slogLogger)(nil)

// newHCLogger adapts l. go-plugin names the logger for the plugin's stderr
// after the executable; that one is muted (mute = its base name), because
// the plugin's stderr is parsed by stderrLog instead: go-plugin's own
// parser panics on some malformed JSON lines.
func newHCLogger(l *slog.Logger, mute string) hclog.Logger { return &slogLogger{l: l, mute: mute} }

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (s *slogLogger) Log(level hclog.Level, msg string, args ...any) {
	lv := slogLevel(level)
	if s.off || !s.l.Enabled(context.Background(), lv) {
		return
	}
	all := append(s.args[:len(s.args):len(s.args)], args...)
	if s.name != "" {
		all = append(all, "logger", s.name)
	}
	s.l.Log(context.Background(), lv, msg, dropTimestamp(all)...)
}

// dropTimestamp removes the plugin's own "timestamp" pair that go-plugin
// forwards; slog stamps the record itself.
func dropTimestamp(args []any) []any {
	out := args[:0]
	for i := 0; i < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == "timestamp" && i+1 < len(args) {
			continue
		}
		out = append(out, args[i:min(i+2, len(args))]...)
	}
	return out
}

func (s *slogLogger) Trace(msg string, args ...any) { s.Log(hclog.Trace, msg, args...) }
func (s *slogLogger) Debug(msg string, args ...any) { s.Log(hclog.Debug, msg, args...) }
func (s *slogLogger) Info(msg string, args ...any)  { s.Log(hclog.Info, msg, args...) }
func (s *slogLogger) Warn(msg string, args ...any)  { s.Log(hclog.Warn, msg, args...) }
func (s *slogLogger) Error(msg string, args ...any) { s.Log(hclog.Error, msg, args...) }

func (s *slogLogger) enabled(l hclog.Level) bool {
	return !s.off && s.l.Enabled(context.Background(), slogLevel(l))
}

func (s *slogLogger) IsTrace() bool { return s.enabled(hclog.Trace) }
func (s *slogLogger) IsDebug() bool { return s.enabled(hclog.Debug) }
func (s *slogLogger) IsInfo() bool  { return s.enabled(hclog.Info) }
func (s *slogLogger) IsWarn() bool  { return s.enabled(hclog.Warn) }
func (s *slogLogger) IsError() bool { return s.enabled(hclog.Error) }

func (s *slogLogger) ImpliedArgs() []any { return s.args }

func (s *slogLogger) With(args ...any) hclog.Logger {
	c := *s
	c.args = append(s.args[:len(s.args):len(s.args)], args...)
	return &c
}

func (s *slogLogger) Name() string { return s.name }

// Named records the sub-logger name (go-plugin passes the executable's
// base name) as the "logger" attribute.
func (s *slogLogger) Named(name string) hclog.Logger {
	if name == s.mute {
		return &slogLogger{l: s.l, name: name, off: true}
	}
	if s.name != "" {
		name = s.name + "." + name
	}
	return s.ResetNamed(name)
}

func (s *slogLogger) ResetNamed(name string) hclog.Logger {
	c := *s
	c.name = name
	return &c
}

// SetLevel is a no-op: the slog handler decides.
func (s *slogLogger) SetLevel(hclog.Level) {}

func (s *slogLogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if s.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (s *slogLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(s.StandardWriter(opts), "", 0)
}

func (s *slogLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.Info(string(p))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
