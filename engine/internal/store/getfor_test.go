package store

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// variantsPage is page(path, v) with the gzip and/or brotli variants
// named in encs ("gz", "br"), their bytes told apart by a prefix.
func variantsPage(path string, v int, encs ...string) *Page {
	p := withIndex(page(path, v), []string{"k"}, []string{"x/"}, []string{"t"})
	for _, e := range encs {
		switch e {
		case "gz":
			p.Gzip = append([]byte("gz:"), p.Body...)
		case "br":
			p.Brotli = append([]byte("br:"), p.Body...)
		}
	}
	return p
}

// everyClient is each set of encodings a client may take besides identity.
var everyClient = []struct{ br, gz bool }{{false, false}, {false, true}, {true, false}, {true, true}}

// reads counts the store's disk reads of pages.
func reads(s *pebbleStore) *int {
	n := new(int)
	s.afterRead = func(string) { *n++ }
	return n
}

// TestGetForTrims: GetFor answers from disk the first time, then from a
// cached copy that holds only the body the client's encodings pick, the
// same bytes and ETag as the whole page's, says Vary as the whole page
// would, and holds no dependency lists.
func TestGetForTrims(t *testing.T) {
	tests := []struct {
		name   string
		encs   []string // variants stored
		br, gz bool     // what the client takes
		want   Encoding
		vary   bool
	}{
		{"identity client, all variants", []string{"gz", "br"}, false, false, Identity, true},
		{"gzip client, all variants", []string{"gz", "br"}, false, true, Gzip, true},
		{"brotli client, all variants", []string{"gz", "br"}, true, false, Brotli, true},
		{"both, all variants", []string{"gz", "br"}, true, true, Brotli, true},
		{"both, gzip only", []string{"gz"}, true, true, Gzip, true},
		{"brotli client, gzip only", []string{"gz"}, true, false, Identity, true},
		{"both, no variants", nil, true, true, Identity, false},
		{"identity client, no variants", nil, false, false, Identity, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 1 << 20})
			mustPut(t, s, variantsPage("/a", 1, tt.encs...))
			s.hot.remove("/a") // as after a restart: the page is on disk only
			n := reads(s)
			whole, err := s.Get("/a")
			if err != nil {
				t.Fatal(err)
			}
			s.hot.remove("/a")
			first, err := s.GetFor("/a", tt.br, tt.gz)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetFor("/a", tt.br, tt.gz)
			if err != nil {
				t.Fatal(err)
			}
			if *n != 2 {
				t.Errorf("disk reads = %d, want 2 (Get, then the first GetFor)", *n)
			}
			if got.held == 0 || got != first {
				t.Fatalf("GetFor from the cache = %p (held %b), want the trimmed copy the disk read gave, %p", got, got.held, first)
			}
			if enc := got.Negotiate(tt.br, tt.gz); enc != tt.want {
				t.Errorf("Negotiate = %d, want %d", enc, tt.want)
			}
			gb, ge, gok := got.Variant(tt.want)
			wb, we, wok := whole.Variant(tt.want)
			if string(gb) != string(wb) || ge != we || gok != wok || !gok {
				t.Errorf("Variant(%d) = %q %s %v, want %q %s %v", tt.want, gb, ge, gok, wb, we, wok)
			}
			if vary := got.Has(Gzip) || got.Has(Brotli); vary != tt.vary {
				t.Errorf("Vary = %v, want %v", vary, tt.vary)
			}
			for e := Identity; e < numEncodings; e++ {
				if got.Has(e) != whole.Has(e) {
					t.Errorf("Has(%d) = %v, whole page's %v", e, got.Has(e), whole.Has(e))
				}
				if e != tt.want && got.body(e) != nil {
					t.Errorf("the copy holds the body of %d, asked for %d only", e, tt.want)
				}
			}
			if got.Tags != nil || got.Keys != nil || got.Prefixes != nil {
				t.Errorf("the copy holds dependency lists: %v %v %v", got.Tags, got.Keys, got.Prefixes)
			}
			if got.Status != whole.Status || got.ETag != whole.ETag || !got.Generated.Equal(whole.Generated) ||
				got.Revalidate != whole.Revalidate || len(got.Headers) != len(whole.Headers) {
				t.Errorf("the copy's metadata differs: %+v, want %+v", got, whole)
			}
			if st := s.Stats(); st.HotBytes != hotSize(got) {
				t.Errorf("hot cache bytes = %d, want the copy's %d (the whole page's %d)", st.HotBytes, hotSize(got), hotSize(whole))
			}
		})
	}
}

// TestGetForHoldsWhatIsAsked: a path asked for in two encodings is
// cached holding both, and then serves either without reading the disk.
func TestGetForHoldsWhatIsAsked(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 1 << 20})
	mustPut(t, s, variantsPage("/a", 1, "gz", "br"))
	s.hot.remove("/a")
	n := reads(s)
	for _, c := range []struct{ br, gz bool }{{true, true}, {false, false}, {true, false}, {false, false}, {false, true}} {
		if _, err := s.GetFor("/a", c.br, c.gz); err != nil {
			t.Fatal(err)
		}
	}
	if *n != 3 { // brotli, identity, gzip: one read each
		t.Errorf("disk reads = %d, want 3", *n)
	}
	p := s.hot.peek("/a")
	if p != nil {
		t.Errorf("peek returned a trimmed copy (held %b): only whole pages are what a write reads", p.held)
	}
	got, _ := s.GetFor("/a", false, false)
	if want := uint8(1<<Identity | 1<<Gzip | 1<<Brotli); got.held != want {
		t.Errorf("held = %b, want %b", got.held, want)
	}
	if _, err := s.Get("/a"); err != nil { // a whole-page caller reads the disk
		t.Fatal(err)
	}
	if *n != 4 {
		t.Errorf("disk reads = %d, want 4 (Get does not take a trimmed copy)", *n)
	}
	if _, err := s.GetFor("/a", true, false); err != nil || *n != 4 {
		t.Errorf("GetFor after Get: err %v, disk reads %d; want the trimmed copy kept", err, *n)
	}
}

// TestWritesOverATrimmedCopy: a write that edits the stored record
// (MarkStale, SetVariants) or replaces it (Put, Delete) while the cache
// holds a trimmed copy starts from the whole record on disk: no body and
// no index entry is lost.
func TestWritesOverATrimmedCopy(t *testing.T) {
	tests := []struct {
		name  string
		write func(s *pebbleStore) error
		check func(t *testing.T, p *Page, err error)
	}{
		{"mark stale", func(s *pebbleStore) error { return s.MarkStale("/a") }, func(t *testing.T, p *Page, err error) {
			if err != nil || !p.StaleMarked || !samePage(p, stale(variantsPage("/a", 1, "gz", "br"))) {
				t.Errorf("Get = %+v, %v; want the whole page, stale", p, err)
			}
		}},
		{"set variants", func(s *pebbleStore) error {
			return s.SetVariants("/a", 1, []byte("gz2"), nil)
		}, func(t *testing.T, p *Page, err error) {
			want := variantsPage("/a", 1)
			want.Gzip = []byte("gz2")
			if err != nil || !samePage(p, want) {
				t.Errorf("Get = %+v, %v; want the whole page with the new variants", p, err)
			}
		}},
		{"put", func(s *pebbleStore) error {
			return s.Put(withIndex(page("/a", 2), []string{"k2"}, nil, nil), PutOptions{Build: true})
		}, func(t *testing.T, p *Page, err error) {
			if err != nil || p.Version != 2 || string(p.Body) != string(page("/a", 2).Body) {
				t.Errorf("Get = %+v, %v; want version 2", p, err)
			}
		}},
		{"delete", func(s *pebbleStore) error { return s.Delete("/a", false) }, func(t *testing.T, p *Page, err error) {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Get = %+v, %v; want ErrNotFound", p, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 1 << 20})
			mustPut(t, s, variantsPage("/a", 1, "gz", "br"))
			s.hot.remove("/a")
			for range 2 {
				if _, err := s.GetFor("/a", true, true); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.write(s); err != nil {
				t.Fatal(err)
			}
			p, err := s.Get("/a")
			tt.check(t, p, err)
			if disk, derr := s.read("/a"); !errors.Is(derr, err) || (err == nil && !samePage(disk, p)) {
				t.Errorf("disk = %+v, %v; cache %+v, %v", disk, derr, p, err)
			}
			checkConsistent(t, s)
		})
	}
}

func stale(p *Page) *Page {
	p.StaleMarked = true
	return p
}

// TestPutRefusesATrimmedCopy: a page from GetFor cannot be stored, since
// it lacks bodies and index entries.
func TestPutRefusesATrimmedCopy(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 1 << 20})
	mustPut(t, s, variantsPage("/a", 1, "gz", "br"))
	s.hot.remove("/a")
	s.GetFor("/a", true, true)
	p, err := s.GetFor("/a", true, true)
	if err != nil || p.held == 0 {
		t.Fatalf("GetFor = %+v, %v; want a trimmed copy", p, err)
	}
	cp := *p
	if err := s.Put(&cp, PutOptions{Build: true}); err == nil {
		t.Error("Put of a trimmed copy succeeded")
	}
}

// TestGetForHitDoesNotAllocate: the hit path's lookup is free of
// allocations, trimmed or whole.
func TestGetForHitDoesNotAllocate(t *testing.T) {
	s := testEnv{dir: "db", fs: vfs.NewMem()}.open(t, Options{HotCacheBytes: 1 << 20})
	mustPut(t, s, variantsPage("/a", 1, "gz", "br"), variantsPage("/b", 1, "gz", "br"))
	s.hot.remove("/b")
	s.GetFor("/b", true, true)
	for _, path := range []string{"/a", "/b"} { // whole (just put), trimmed
		if n := testing.AllocsPerRun(100, func() { s.GetFor(path, true, true) }); n != 0 {
			t.Errorf("GetFor(%s) hit: %v allocations, want 0", path, n)
		}
	}
}
