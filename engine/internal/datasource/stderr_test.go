package datasource

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
)

func TestStderrLog(t *testing.T) {
	var buf bytes.Buffer
	w := &stderrLog{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level:       slog.LevelDebug - 4,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	}))}
	// go-plugin writes each line and its newline separately.
	for _, part := range []string{
		`{"@level":"warn","@message":"slow","@module":"jsonfile","@timestamp":"2026-01-01T00:00:00.000000Z","ms":12,"b":"x"}`, "\n",
		`{"@level":"trace","@message":"t"}`, "\n",
		`{"@message": 1}`, "\n", // not hclog: logged as plain text
		"[ERROR] tagged\n",
		"plain line\n\n",
		"panic: boom\n", "goroutine 1\n",
	} {
		w.Write([]byte(part))
	}
	want := strings.Join([]string{
		`level=WARN msg=slow module=jsonfile b=x ms=12`,
		`level=DEBUG-4 msg=t`,
		`level=INFO msg="{\"@message\": 1}"`,
		`level=ERROR msg=tagged`,
		`level=INFO msg="plain line"`,
		`level=ERROR msg="panic: boom"`,
		`level=ERROR msg="goroutine 1"`,
	}, "\n") + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func FuzzParseLogLine(f *testing.F) {
	for _, s := range []string{`{"@level":"info","@message":"m","k":[1,{"a":null}]}`, `{"@message":1}`, `null`, `[]`, `{"@level":7,"@message":""}`, `plain`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, ok := parseLogLine(b)
		if !ok {
			return
		}
		if len(rec.attrs)%2 != 0 {
			t.Fatalf("odd attrs %v", rec.attrs)
		}
		slog.New(slog.DiscardHandler).Log(context.Background(), rec.level, rec.msg, rec.attrs...)
	})
}

// TestPluginLogs: a plugin's hclog lines arrive in the engine's slog,
// tagged with the data source's name.
func TestPluginLogs(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	sup, err := Start(context.Background(), []*config.DataSource{{Name: "p", Plugin: "probe"}}, Options{Logger: log, Executable: os.Args[0], Builtins: builtinNames()})
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Close()
	for range 600 {
		if line := buf.line(`"msg":"probe configured"`); line != "" {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rec["level"], " ", rec["datasource"], " ", rec["answer"]); got != "INFO p 42" {
				t.Errorf("record %s: got %q, want level INFO, datasource p, answer 42", line, got)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("plugin log line not found in:\n%s", buf.String())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// line returns the first line containing sub.
func (s *syncBuffer) line(sub string) string {
	for _, l := range strings.Split(s.String(), "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
