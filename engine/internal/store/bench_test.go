package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// benchPages puts n pages of bodySize bytes and returns their paths.
func benchPages(b *testing.B, s *pebbleStore, n, bodySize int) []string {
	b.Helper()
	body := bytes.Repeat([]byte("x"), bodySize)
	paths := make([]string, n)
	for i := range n {
		p := page(fmt.Sprintf("/bench/%d", i), 1)
		p.Body = body
		mustPut(b, s, p)
		paths[i] = p.Path
	}
	return paths
}

func BenchmarkGetHot(b *testing.B) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(b, Options{})
	paths := benchPages(b, s, 1000, 10_000)
	b.ReportAllocs()
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Get(paths[i%len(paths)]); err != nil {
			b.Fatal(err)
		}
	}
	if st := s.Stats(); st.HotMisses != 0 {
		b.Fatalf("%d hot misses", st.HotMisses)
	}
}

// BenchmarkGetHotParallel compares one cache lock with the sharded cache.
func BenchmarkGetHotParallel(b *testing.B) {
	for _, shards := range []int{1, 16} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s := testEnv{dir: "db", fs: vfs.NewMem()}.open(b, Options{})
			s.hot = newHotCache(64<<20, shards)
			paths := benchPages(b, s, 1000, 10_000)
			var seed atomic.Uint64
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seed.Add(1), 0))
				for pb.Next() {
					s.Get(paths[r.IntN(len(paths))])
				}
			})
		})
	}
}

// BenchmarkGetCold reads random pages with the hot cache off: Pebble's
// block cache and the OS page cache still help, as they would in production.
func BenchmarkGetCold(b *testing.B) {
	s := testEnv{dir: filepath.Join(b.TempDir(), "db")}.open(b, Options{HotCacheBytes: -1})
	s.wo = pebble.NoSync // setup only
	paths := benchPages(b, s, 10_000, 4_000)
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := s.Get(paths[r.IntN(len(paths))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPut is a synced Put of a 4 KB page with three index entries on
// the real disk; parallel shows Pebble grouping commits into one fsync.
func BenchmarkPut(b *testing.B) {
	for _, par := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", par), func(b *testing.B) {
			s := testEnv{dir: filepath.Join(b.TempDir(), "db")}.open(b, Options{})
			body := bytes.Repeat([]byte("x"), 4000)
			var n atomic.Int64
			b.SetParallelism(par)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1))
					p := withIndex(page(fmt.Sprintf("/put/%d", i%1000), i),
						[]string{fmt.Sprintf("k/%d", i%100)}, []string{"k/"}, []string{"t"})
					p.Body = body
					if err := s.Put(p, PutOptions{Build: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

var (
	keysOnce  sync.Once
	keysStore *pebbleStore
)

// BenchmarkPathsForKey queries a store of 100k pages: page i reads
// "post/<i>" and "author/<i%1000>"; every 100th page also lists one of
// 1000 distinct prefixes "tag/<j>/" and every 10000th lists "post/".
func BenchmarkPathsForKey(b *testing.B) {
	keysOnce.Do(func() { keysStore = buildKeysStore(b) })
	s := keysStore
	r := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	defer reportCPU(b)()
	var found int
	for b.Loop() {
		paths, err := s.PathsForKey(fmt.Sprintf("post/%d", r.IntN(100_000)))
		if err != nil {
			b.Fatal(err)
		}
		found += len(paths)
	}
	b.ReportMetric(float64(found)/float64(b.N), "paths/op")
}

func buildKeysStore(b *testing.B) *pebbleStore {
	s, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	ps := s.(*pebbleStore)
	ps.wo = pebble.NoSync
	for i := range 100_000 {
		p := withIndex(page(fmt.Sprintf("/post/%d", i), 1),
			[]string{fmt.Sprintf("post/%d", i), fmt.Sprintf("author/%d", i%1000)}, nil, []string{"post"})
		if i%100 == 0 {
			p.Prefixes = append(p.Prefixes, fmt.Sprintf("tag/%d/", i/100))
		}
		if i%10_000 == 0 {
			p.Prefixes = append(p.Prefixes, "post/")
		}
		mustPut(b, ps, p)
	}
	return ps
}

// reportCPU adds the process CPU time per op, which a loaded machine
// distorts less than wall time. Call it right before the loop and defer
// the result.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	b.ResetTimer()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
