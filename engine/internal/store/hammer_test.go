package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestHammer runs Get, Put, Delete, MarkStale and index queries
// concurrently on a few paths with a small hot cache (so fills and
// evictions race with writes), then checks the indexes, counters and
// cache agree with the records. Run it with -race.
func TestHammer(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 16 * 2000})
	const workers, ops, paths = 6, 400, 12
	var clock atomic.Int64 // versions, so most Puts are newer and some race older
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range ops {
				if err := hammerOp(s, r, fmt.Sprintf("/h/%d", r.IntN(paths)), &clock); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkConsistent(t, s)
	for i := range paths { // the cache must serve exactly what is on disk
		path := fmt.Sprintf("/h/%d", i)
		cached, cerr := s.Get(path)
		disk, derr := s.read(path)
		if !errors.Is(cerr, derr) || (cerr == nil && !samePage(cached, disk)) {
			t.Errorf("%s: Get = %v, %v; disk = %v, %v", path, cached, cerr, disk, derr)
		}
		for _, c := range everyClient {
			if err := hammerGetFor(s, path, c.br, c.gz); err != nil {
				t.Error(err)
			}
			if p, err := s.GetFor(path, c.br, c.gz); !errors.Is(err, derr) || (err == nil && p.Version != disk.Version) {
				t.Errorf("%s: GetFor = %v, %v; disk = %v, %v", path, p, err, disk, derr)
			}
		}
	}
}

func hammerOp(s *pebbleStore, r *rand.Rand, path string, clock *atomic.Int64) error {
	switch n := r.IntN(10); {
	case n < 2:
		if _, err := s.Get(path); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	case n < 4:
		return hammerGetFor(s, path, r.IntN(2) == 0, r.IntN(2) == 0)
	case n < 7:
		v := int(clock.Add(1))
		p := withIndex(variantsPage(path, v, []string{"gz", "br"}[:r.IntN(3)]...), []string{fmt.Sprintf("k%d", v%5)},
			[]string{fmt.Sprintf("x%d/", v%3)}, []string{fmt.Sprintf("t%d", v%4)})
		if err := s.Put(p, PutOptions{Build: true}); err != nil && !errors.Is(err, ErrNewer) {
			return err
		}
	case n < 8:
		_, err := s.PathsForKey(fmt.Sprintf("x%d/k%d", r.IntN(3), r.IntN(5)))
		return err
	case n < 9:
		if err := s.MarkStale(path); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	default:
		return s.Delete(path, false)
	}
	return nil
}

// hammerGetFor checks that what GetFor returns is one version's page:
// the body the client gets is the one of the version its headers name.
func hammerGetFor(s *pebbleStore, path string, br, gz bool) error {
	p, err := s.GetFor(path, br, gz)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var v int
	fmt.Sscan(p.Headers[1].Value, &v)
	enc := p.Negotiate(br, gz)
	body, _, _ := p.Variant(enc)
	want := variantsPage(path, v, "gz", "br").body(enc)
	if string(body) != string(want) {
		return fmt.Errorf("GetFor(%s, br %v, gz %v) = version %d with body %q (encoding %d), want %q", path, br, gz, v, body, enc, want)
	}
	return nil
}

// TestColdReadRacesWrite pins the interleaving the hammer test can only
// hope to hit: a cold Get (or GetFor) reads the disk, a write lands, then
// the read fills the cache. The fill must be dropped, or the cache would
// serve the old page (or a deleted one) until evicted.
func TestColdReadRacesWrite(t *testing.T) {
	tests := []struct {
		name  string
		write func(s *pebbleStore) error
		want  int // version of the page read afterwards, 0 for ErrNotFound
	}{
		{"put", func(s *pebbleStore) error { return s.Put(variantsPage("/a", 2, "br"), PutOptions{Build: true}) }, 2},
		{"delete", func(s *pebbleStore) error { return s.Delete("/a", false) }, 0},
		{"mark stale", func(s *pebbleStore) error { return s.MarkStale("/a") }, 1},
		{"other path", func(s *pebbleStore) error { return s.Put(page("/b", 1), PutOptions{Build: true}) }, 1},
	}
	readers := []struct {
		name string
		get  func(s *pebbleStore) (*Page, error)
		body func(p *Page) []byte
	}{
		{"Get", func(s *pebbleStore) (*Page, error) { return s.Get("/a") }, func(p *Page) []byte { return p.Body }},
		{"GetFor", func(s *pebbleStore) (*Page, error) { return s.GetFor("/a", true, false) }, func(p *Page) []byte { return p.Brotli }},
	}
	for _, rd := range readers {
		for _, tt := range tests {
			t.Run(rd.name+"/"+tt.name, func(t *testing.T) {
				env := testEnv{dir: "db", fs: vfs.NewMem()}
				s := env.open(t, Options{})
				mustPut(t, s, variantsPage("/a", 1, "br"))
				s.Close()
				s = env.open(t, Options{HotCacheBytes: 1 << 20})
				s.hot = newHotCache(1<<20, 1) // one shard: writes to /b also bump /a's generation
				s.afterRead = func(string) {
					s.afterRead = nil
					if err := tt.write(s); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := rd.get(s); err != nil {
					t.Fatal(err)
				}
				got, err := rd.get(s)
				if tt.want == 0 {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("%s = %v, %v; want ErrNotFound", rd.name, got, err)
					}
					return
				}
				if want := rd.body(variantsPage("/a", tt.want, "br")); err != nil || string(rd.body(got)) != string(want) {
					t.Errorf("%s = %v, %v; want body %q", rd.name, got, err, want)
				}
				if tt.name == "mark stale" && !got.StaleMarked {
					t.Error("cache lost StaleMarked")
				}
			})
		}
	}
}
