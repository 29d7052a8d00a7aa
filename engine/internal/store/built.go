package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Built is one page a build rendered, and the event its history records.
type Built struct {
	Page  *Page
	Event Event
}

// BuildWriter stores a build's pages many to a batch. A backend that
// does not implement it gets one Put and one AddHistory per page.
type BuildWriter interface {
	// PutBuilt stores each page as Put with PutOptions{Build: true,
	// NoSync: true} does, and appends its event to its history, all in
	// one Pebble batch: after a crash each page is old or new, never
	// torn, and the whole batch is there or none of it (until the next
	// sync, as with NoSync). errs[i] is the refusal of items[i] (ErrNewer,
	// an invalid page, a path already in the batch); err is a failure of
	// the whole batch. The pages do not fill the hot cache (a build
	// writes more than it will serve soon); a cached older version of
	// one is dropped. The store keeps the pages' slices.
	PutBuilt(items []Built) (errs []error, err error)
}

var _ BuildWriter = (*pebbleStore)(nil)

// errDuplicate refuses a second page for a path within one batch.
var errDuplicate = errors.New("store: path twice in one batch")

func (s *pebbleStore) PutBuilt(items []Built) ([]error, error) {
	errs := make([]error, len(items))
	for i, it := range items {
		errs[i] = validate(it.Page)
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	defer s.lockMany(items)()
	b := s.db.NewBatch()
	defer b.Close()
	puts := make([]pendingPut, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		if errs[i] != nil {
			continue
		}
		p := it.Page
		if seen[p.Path] {
			errs[i] = fmt.Errorf("put %s: %w", p.Path, errDuplicate)
			continue
		}
		seen[p.Path] = true
		old, err := s.current(p.Path)
		if err != nil {
			unput(s, puts)
			return nil, fmt.Errorf("put: %w", err)
		}
		if err := admit(old, p, PutOptions{Build: true}); err != nil {
			errs[i] = err
			continue
		}
		cp := *p
		cp.Version = 1
		if old != nil {
			cp.Version = old.Version + 1
		}
		cp.Seal()
		added := s.putInto(b, old, &cp, false)
		puts = append(puts, pendingPut{old: old, page: &cp, added: added})
		if err := s.historyInto(b, p.Path, it.Event); err != nil {
			unput(s, puts)
			return nil, fmt.Errorf("put %s: %w", p.Path, err)
		}
	}
	if len(puts) == 0 {
		return errs, nil
	}
	if err := s.apply(pebble.NoSync, b.Commit); err != nil {
		unput(s, puts)
		return nil, fmt.Errorf("put a batch of %d pages: %w", len(puts), err)
	}
	s.unsynced.Store(true)
	for _, u := range puts {
		s.putDone(u.old)
		s.hot.remove(u.page.Path)
	}
	return errs, nil
}

// pendingPut is a page in a batch not committed yet.
type pendingPut struct {
	old, page *Page
	added     []string // the prefixes whose references putInto counted
}

// unput takes back the prefix references of puts never committed.
func unput(s *pebbleStore, puts []pendingPut) {
	for _, u := range puts {
		s.addPrefixes(u.added, -1)
	}
}

// lockMany takes the path locks of every item's page in lock order (so
// two batches, or a batch and a Put, never wait on each other in a
// cycle), each lock once, and returns the function that releases them.
func (s *pebbleStore) lockMany(items []Built) func() {
	idx := make([]uint64, 0, len(items))
	for _, it := range items {
		if it.Page != nil {
			idx = append(idx, s.lockIndex(it.Page.Path))
		}
	}
	slices.SortFunc(idx, cmp.Compare)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.locks[i].Lock()
	}
	return func() {
		for _, i := range idx {
			s.locks[i].Unlock()
		}
	}
}
