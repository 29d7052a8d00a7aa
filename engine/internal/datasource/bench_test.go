package datasource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"

	"github.com/kilnhq/kiln/engine/internal/config"
)

// benchSource starts a jsonfile plugin over n keys "post/%04d" with ~200
// byte values.
func benchSource(b *testing.B, n int) *Supervisor {
	data := map[string]any{}
	for i := range n {
		data[fmt.Sprintf("post/%04d", i)] = map[string]any{"title": fmt.Sprintf("Post %d", i), "body": string(make([]byte, 160))}
	}
	raw, _ := json.Marshal(data)
	path := b.TempDir() + "/data.json"
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	ds := &config.DataSource{Name: "content", Plugin: "jsonfile", Config: []byte(`{"path":` + strconv.Quote(path) + `}`)}
	sup, err := Start(context.Background(), []*config.DataSource{ds}, Options{Logger: slog.New(slog.DiscardHandler), Executable: os.Args[0], Builtins: builtinNames()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sup.Close() })
	return sup
}

// BenchmarkGet is one Get round trip through the plugin process.
func BenchmarkGet(b *testing.B) {
	d := benchSource(b, 1000).Data("content")
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, found, err := d.Get(ctx, fmt.Sprintf("post/%04d", i%1000)); err != nil || !found {
			b.Fatal(found, err)
		}
		i++
	}
}

// BenchmarkGetParallel is Get from concurrent renders.
func BenchmarkGetParallel(b *testing.B) {
	d := benchSource(b, 1000).Data("content")
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := d.Get(ctx, "post/0500"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList is one page of 100 items through the plugin process.
func BenchmarkList(b *testing.B) {
	d := benchSource(b, 1000).Data("content")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		items, next, err := d.List(ctx, "post/", "", 100, false)
		if err != nil || len(items) != 100 || next == "" {
			b.Fatal(len(items), err)
		}
	}
}

// BenchmarkRead11 reads the 11 items a home page reads: one Get each
// (baseline) against one GetMany, through the plugin process.
func BenchmarkRead11(b *testing.B) {
	sup := benchSource(b, 1000)
	d := sup.Data("content")
	keys := make([]string, 11)
	for i := range keys {
		keys[i] = fmt.Sprintf("post/%04d", i*37)
	}
	ctx := context.Background()
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range keys {
				if _, found, err := d.Get(ctx, k); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		}
	})
	b.Run("GetMany", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, found, err := d.GetMany(ctx, keys); err != nil || !found[10] {
				b.Fatal(err)
			}
		}
	})
}
