package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/kilnhq/kiln/plugins/internal/plugintest"
)

// BenchmarkUpdateEvent measures an UPDATE (trigger, log row, NOTIFY) until
// its event arrives through Watch.
func BenchmarkUpdateEvent(b *testing.B) {
	db := newTestDB(b)
	s := configure(b, db.config(`,"value_column":"title"`))
	db.insert(b, "a")
	w := plugintest.Watch(b, s, 0)
	w.Next(b) // bookmark
	sql := `UPDATE ` + db.schema + `.posts SET title = $1 WHERE slug = 'a'`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.admin.Exec(context.Background(), sql, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
		w.Next(b)
	}
}

// BenchmarkGet measures one Get of a row by key.
func BenchmarkGet(b *testing.B) {
	db := newTestDB(b)
	s := configure(b, db.config(`,"value_column":"doc"`))
	db.insert(b, "a")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := s.Get(context.Background(), "a"); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}
