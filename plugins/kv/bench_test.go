package kv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
)

func diskStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPutEvent measures a durable Put until its Watch event arrives.
func BenchmarkPutEvent(b *testing.B) {
	s := diskStore(b)
	w := plugintest.Watch(b, s, s.Revision())
	value := []byte(`{"slug":"hello-world","title":"Hello World"}`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rev, err := s.Put(context.Background(), "post:hello-world", value)
		if err != nil {
			b.Fatal(err)
		}
		for ev := w.Next(b); ev.Revision < rev; ev = w.Next(b) {
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := diskStore(b)
	for i := 0; i < 1000; i++ {
		mustPut(b, s, fmt.Sprintf("post:%04d", i), `{"title":"x"}`)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := s.Get(context.Background(), fmt.Sprintf("post:%04d", i%1000)); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

// BenchmarkImport10k imports 10,000 keys into a fresh on-disk store.
func BenchmarkImport10k(b *testing.B) {
	doc := importDoc(10000)
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		s := diskStore(b)
		if _, err := Import(context.Background(), s, strings.NewReader(doc)); err != nil {
			b.Fatal(err)
		}
	}
}

func importDoc(n int) string {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, `"post:%05d": {"slug":"%05d","title":"Post %d","content":"%s"}`, i, i, i, strings.Repeat("lorem ", 40))
	}
	sb.WriteString("}")
	return sb.String()
}
