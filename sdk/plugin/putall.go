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

// putAllBatch is how many items one PutMany of PutAll carries.
const putAllBatch = 1000

// PutAll writes every item through w: in batches of putAllBatch with
// PutMany when w is a BatchWriter, else many Puts at a time, in no
// particular order. On an error it stops and returns how many items were
// written (at least).
func PutAll(ctx context.Context, w Writer, items []Item) (int, error) {
	if b, ok := w.(BatchWriter); ok {
		return putBatches(ctx, b, items)
	}
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

func putBatches(ctx context.Context, b BatchWriter, items []Item) (int, error) {
	n := 0
	for i := 0; i < len(items); i += putAllBatch {
		batch := items[i:min(i+putAllBatch, len(items))]
		if _, err := b.PutMany(ctx, batch); err != nil {
			return n, fmt.Errorf("put %d items from %s: %w", len(batch), batch[0].Key, err)
		}
		n += len(batch)
	}
	return n, nil
}
