package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure Open. Zero values mean the defaults.
type Options struct {
	// HotCacheBytes bounds the in-memory cache of decoded pages
	// (default 64 MiB; negative disables it).
	HotCacheBytes int64
	// HistoryLen is how many history events are kept per path (default 20).
	HistoryLen int
	// FS is the file system Pebble uses (default the OS; vfs.NewMem() in tests).
	FS vfs.FS
	// Logger gets the store's errors (default slog.Default()).
	Logger *slog.Logger
	// ProbeEvery is how often a read-only store tries to write again
	// (default 10 s), on Clock.
	ProbeEvery time.Duration
	// Clock times the probe (default the system clock); the engine
	// passes its own.
	Clock Clock
}

func (o Options) withDefaults() Options {
	if o.HotCacheBytes == 0 {
		o.HotCacheBytes = 64 << 20
	}
	if o.HistoryLen <= 0 {
		o.HistoryLen = 20
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	return o
}

// Key layout. Terms and paths never contain NUL (Put refuses them), so
// "<ns><term>\x00" bounds exactly one term's entries.
//
//	p/<path>                page record (encodePage)
//	l/<path>                empty; lists paths without reading records
//	k/<key>\x00<path>       data key read by the page
//	x/<prefix>\x00<path>    data prefix listed by the page
//	t/<tag>\x00<path>       tag carried by the page
//	h/<path>\x00<seq:8>     history event (encodeEvent), seq big-endian
//	q/<path>                pending job (encodeJob)
//	m/<name>                engine meta value
const (
	nsPage    = "p/"
	nsList    = "l/"
	nsKey     = "k/"
	nsPrefix  = "x/"
	nsTag     = "t/"
	nsHistory = "h/"
	nsQueue   = "q/"
	nsMeta    = "m/"
)

// pathLocks stripes writers by path: every change to a path's record and
// index entries happens under its stripe, so the old record Put reads is
// still current when its batch commits.
const pathLocks = 256

// blockCacheBytes sizes Pebble's cache of decompressed blocks, which
// keeps the small index ranges (k/, x/, t/) in memory for PathsForKey
// and serves hot-cache misses.
const blockCacheBytes = 32 << 20

// syncEvery bounds how long a NoSync page may wait for the disk.
const syncEvery = time.Second

type pebbleStore struct {
	db   *pebble.DB // swapped by reopen with lifeMu held and no call in flight
	dir  string     // Pebble's directory
	opts Options
	// readOnly is set when a write fails (ENOSPC, EIO) or the store was
	// opened on a full disk: writes then return ErrReadOnly without
	// touching Pebble until a probe write succeeds and reopen runs.
	readOnly atomic.Bool
	// commitMu makes Pebble's writes one at a time, each after a fresh
	// readOnly check (apply): Pebble panics past recovery (it unlocks a
	// mutex twice) when a write rotates the WAL after a WAL write failed,
	// so no write may start once one has failed, nor run beside one that
	// may fail. See RATIONALE.md, "Why are the store's writes serial?".
	commitMu sync.Mutex
	// broken is set when Pebble reports a fatal error (its Fatalf): a
	// write that returned nil did not land. reopen clears it.
	broken atomic.Bool
	// pfs is opts.FS as Pebble sees it: its first ENOSPC frees the
	// ballast (diskFull) and the write is retried once.
	pfs vfs.FS
	hot *hotCache
	wo  *pebble.WriteOptions

	unsynced atomic.Bool   // NoSync puts since the last sync
	stopSync chan struct{} // closed by Close
	synced   chan struct{} // closed when syncLoop returns

	// Close waits until no call is using db (inflight == 0); closed
	// also lets the hot path refuse without taking lifeMu.
	lifeMu   sync.Mutex
	idle     sync.Cond
	inflight int
	closed   atomic.Bool

	seed  maphash.Seed
	locks [pathLocks]sync.Mutex

	pages atomic.Int64

	// prefixRefs counts the pages listing each data prefix. It is a
	// superset of the x/ index while a Put is in flight.
	prefixMu   sync.RWMutex
	prefixRefs map[string]int

	queueMu sync.Mutex

	// afterRead, when set by tests, runs between a cold Get's disk read
	// and its cache fill.
	afterRead func(path string)
}

var _ Store = (*pebbleStore)(nil)

// Open opens (creating if needed) the store in dir: Pebble in dir/pages.
// The page store of a Kiln before Pebble v2 (Pebble's files in dir itself)
// cannot be read by this one; it is a cache of what the renderers make,
// so it is removed and the pages are rendered again.
func Open(dir string, opts Options) (Store, error) {
	opts = opts.withDefaults()
	if err := removeV1(opts.FS, dir, opts.Logger); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	dir = opts.FS.PathJoin(dir, "pages")
	if opts.FS == vfs.Default {
		if err := privateTree(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
		opts.FS = privateFS{vfs.Default}
	}
	s := &pebbleStore{
		dir:        dir,
		opts:       opts,
		hot:        newHotCache(opts.HotCacheBytes, hotShards()),
		wo:         pebble.Sync,
		stopSync:   make(chan struct{}),
		synced:     make(chan struct{}),
		seed:       maphash.MakeSeed(),
		prefixRefs: make(map[string]int),
	}
	s.idle.L = &s.lifeMu
	s.pfs = vfs.OnDiskFull(opts.FS, s.diskFull)
	db, err := s.openDB(false)
	if err != nil && isDiskFull(err) {
		// Serve what is stored; the probe turns writes on when space returns.
		opts.Logger.Error("store: disk full, opening read-only: pages are served, none are written", "dir", dir, "err", err)
		s.readOnly.Store(true)
		db, err = s.openDB(true)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s.db = db
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if !s.readOnly.Load() {
		if err := s.makeBallast(); err != nil {
			s.setReadOnly(fmt.Errorf("no room for the %d MiB reserve: %w", ballastBytes>>20, err))
		}
	}
	go s.syncLoop()
	return s, nil
}

// openDB opens Pebble in s.dir, read-only when ro.
func (s *pebbleStore) openDB(ro bool) (*pebble.DB, error) {
	cache := pebble.NewCache(blockCacheBytes)
	defer cache.Unref()
	return pebble.Open(s.dir, &pebble.Options{
		FS: s.pfs, Cache: cache, ReadOnly: ro,
		Logger: pebbleLogger{log: s.opts.Logger, fatal: s.fatal},
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) {
				s.opts.Logger.Error("store: background error", "err", err)
			},
		},
	})
}

// isDiskFull reports errors that mean the disk refuses writes.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EROFS)
}

// fatal is Pebble's Fatalf: where Pebble's default exits the process, the
// store turns read-only. Pebble calls it on a failed WAL or MANIFEST write;
// its DB is not trusted again until reopen replaces it.
func (s *pebbleStore) fatal(msg string) {
	s.broken.Store(true)
	s.setReadOnly(errors.New(msg))
}

// ballastBytes is the disk space the store holds in reserve, in a file
// beside Pebble's. The first write that meets a full disk frees it
// (diskFull) and is retried, so it lands, WAL rotation included (the old
// WAL's trailer, the new WAL preallocated at 110% of the 4 MiB memtable):
// a failed rotation panics inside Pebble past recovery. The store is
// read-only from then on, until a probe can make the ballast again.
// CockroachDB keeps a ballast for the same reason.
const ballastBytes = 8 << 20

const ballastName = "kiln-ballast"

// makeBallast makes the ballast if it is not there: its blocks reserved
// with fallocate (zeros written where the file system has no fallocate),
// synced, then renamed into place, so its name always means a whole one.
func (s *pebbleStore) makeBallast() error {
	fs := s.opts.FS
	name := fs.PathJoin(s.dir, ballastName)
	if _, err := fs.Stat(name); err == nil {
		return nil
	}
	tmp := name + ".tmp"
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if err = f.Preallocate(0, ballastBytes); err != nil && !isDiskFull(err) {
		chunk := make([]byte, 64<<10)
		err = nil
		for n := 0; n < ballastBytes && err == nil; n += len(chunk) {
			_, err = f.Write(chunk)
		}
	}
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = fs.Rename(tmp, name)
	}
	if err != nil {
		_ = fs.Remove(tmp)
	}
	return err
}

// diskFull runs when one of Pebble's file operations first meets ENOSPC,
// with Pebble's other file writes held: it frees the ballast for the
// write in flight and refuses the next ones.
func (s *pebbleStore) diskFull() {
	if err := s.opts.FS.Remove(s.opts.FS.PathJoin(s.dir, ballastName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.opts.Logger.Error("store: removing the disk reserve", "err", err)
	}
	s.setReadOnly(fmt.Errorf("disk full: %w", syscall.ENOSPC))
}

// setReadOnly refuses writes from now on, logging once per transition.
func (s *pebbleStore) setReadOnly(err error) {
	if !s.readOnly.Swap(true) {
		s.opts.Logger.Error("store: a write failed, the store is read-only: stored pages are served, regenerations are refused until a probe write succeeds",
			"err", err, "probe_every", s.opts.ProbeEvery)
	}
}

// writable returns ErrReadOnly while writes are refused.
func (s *pebbleStore) writable() error {
	if s.readOnly.Load() {
		return ErrReadOnly
	}
	return nil
}

// wrote checks a Pebble write's result: an error, or a fatal error Pebble
// reported while the write ran, turns the store read-only.
func (s *pebbleStore) wrote(err error) error {
	if err == nil && !s.broken.Load() {
		return nil
	}
	if err == nil {
		err = errors.New("pebble reported a fatal error")
	}
	s.setReadOnly(err)
	return fmt.Errorf("%w: %w", ErrReadOnly, err)
}

// apply runs one Pebble write (a commit, a Set) with commitMu held and
// without sync, refused with ErrReadOnly when the store no longer takes
// writes; when wo syncs, the WAL is synced after the lock is let go, so
// that concurrent syncs share an fsync (Pebble's group commit). An empty
// LogData never rotates the WAL. An error turns the store read-only as
// wrote does.
func (s *pebbleStore) apply(wo *pebble.WriteOptions, write func(*pebble.WriteOptions) error) error {
	s.commitMu.Lock()
	if s.readOnly.Load() {
		s.commitMu.Unlock()
		return ErrReadOnly
	}
	err := s.wrote(write(pebble.NoSync))
	s.commitMu.Unlock()
	if err != nil || !wo.GetSync() {
		return err
	}
	return s.wrote(s.db.LogData(nil, pebble.Sync))
}

// ReadOnly reports whether the store refuses writes.
func (s *pebbleStore) ReadOnly() bool { return s.readOnly.Load() }

// probe tries a small synced write beside Pebble's files; when the disk
// takes it, Pebble is reopened read-write and writes resume.
func (s *pebbleStore) probe() {
	fs := s.opts.FS
	name := fs.PathJoin(s.dir, "kiln-probe")
	f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	if err == nil {
		_, err = f.Write(make([]byte, 64<<10))
		err = errors.Join(err, f.Sync(), f.Close())
	}
	err = errors.Join(err, fs.Remove(name))
	if err == nil {
		err = s.makeBallast()
	}
	if err != nil {
		return
	}
	if err := s.reopen(); err != nil {
		s.opts.Logger.Error("store: reopening read-write failed; still read-only", "err", err)
		return
	}
	s.opts.Logger.Info("store: the disk takes writes again; the store is read-write")
}

// reopen replaces the read-only (or failed) Pebble with a read-write one,
// waiting until no call uses it.
func (s *pebbleStore) reopen() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	if s.closed.Load() {
		return ErrClosed
	}
	s.db.Close() // a failed DB may report its failure again; it is replaced
	db, err := s.openDB(false)
	if err != nil {
		if db, rerr := s.openDB(true); rerr == nil {
			s.db = db
		}
		return err
	}
	s.db = db
	s.prefixMu.Lock()
	s.prefixRefs = make(map[string]int)
	s.prefixMu.Unlock()
	if err := s.load(); err != nil {
		return err
	}
	s.broken.Store(false)
	s.readOnly.Store(false)
	return nil
}

// syncLoop syncs the WAL every syncEvery while there are unsynced pages,
// and probes the disk every ProbeEvery on the store's clock while the
// store is read-only.
func (s *pebbleStore) syncLoop() {
	defer close(s.synced)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	p := s.opts.Clock.NewTimer(s.opts.ProbeEvery)
	defer p.Stop()
	for {
		select {
		case <-s.stopSync:
			return
		case <-p.C():
			if s.readOnly.Load() {
				s.probe()
			}
			p.Reset(s.opts.ProbeEvery)
		case <-t.C:
			if s.unsynced.Swap(false) {
				if err := s.Sync(); err != nil {
					s.unsynced.Store(true) // again next tick
				}
			}
		}
	}
}

// load counts the pages and rebuilds the prefix set from the indexes.
func (s *pebbleStore) load() error {
	var n int64
	err := s.scan(nsList, func(k, _ []byte) bool { n++; return true })
	if err != nil {
		return err
	}
	s.pages.Store(n)
	return s.scan(nsPrefix, func(k, _ []byte) bool {
		prefix, _, _ := bytes.Cut(k[len(nsPrefix):], []byte{0})
		s.prefixRefs[string(prefix)]++
		return true
	})
}

// removeV1 removes the Pebble v1 files of an older Kiln's page store from
// dir (CURRENT, LOCK, MANIFEST-*, OPTIONS-*, *.log, *.sst, marker.*),
// leaving everything else (the renderers' builds and compile cache).
func removeV1(fs vfs.FS, dir string, log *slog.Logger) error {
	if _, err := fs.Stat(fs.PathJoin(dir, "CURRENT")); err != nil {
		return nil
	}
	names, err := fs.List(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == "CURRENT" || n == "LOCK" || strings.HasPrefix(n, "MANIFEST-") || strings.HasPrefix(n, "OPTIONS-") ||
			strings.HasPrefix(n, "marker.") || strings.HasSuffix(n, ".log") || strings.HasSuffix(n, ".sst") {
			if err := fs.Remove(fs.PathJoin(dir, n)); err != nil {
				return err
			}
		}
	}
	log.Warn("removed the page store of an older Kiln (Pebble v1); its pages will be rendered again", "dir", dir)
	return nil
}

// pebbleLogger drops Pebble's informational messages and sends its
// errors to the engine's log.
type pebbleLogger struct {
	log   *slog.Logger
	fatal func(msg string)
}

func (pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("store: " + fmt.Sprintf(format, args...))
}

// Fatalf never exits: it logs and turns the store read-only.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("store: pebble: " + msg)
	l.fatal(msg)
}

func (s *pebbleStore) Get(path string) (*Page, error) { return s.get(path, false, false, false) }

func (s *pebbleStore) GetFor(path string, br, gz bool) (*Page, error) {
	return s.get(path, true, br, gz)
}

// get is Get, or with trim GetFor.
func (s *pebbleStore) get(path string, trim, br, gz bool) (*Page, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var (
		p    *Page
		gen  uint64
		held uint8
	)
	if trim {
		p, gen, held = s.hot.getFor(path, br, gz)
	} else {
		p, gen = s.hot.get(path)
	}
	if p != nil {
		return p, nil
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	// The caller's string may alias a request buffer (the server's hit
	// path does that to stay allocation-free); what the cache keeps must
	// not.
	path = strings.Clone(path)
	p, err := s.readWith(path, func(b []byte) (*Page, error) {
		if trim {
			return decodeTrimmed(path, b, br, gz, held)
		}
		return decodePage(path, b)
	})
	if err != nil {
		return nil, err
	}
	if s.afterRead != nil {
		s.afterRead(path)
	}
	s.hot.fill(p, gen)
	return p, nil
}

// enter registers a call that uses db; callers leave when it succeeds.
// Unlike a read lock it never blocks, so a Paths callback may call the
// store while Close waits.
func (s *pebbleStore) enter() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.inflight++
	return nil
}

func (s *pebbleStore) leave() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.inflight--; s.inflight == 0 {
		s.idle.Broadcast()
	}
}

// read decodes path's record from disk.
func (s *pebbleStore) read(path string) (*Page, error) {
	return s.readWith(path, func(b []byte) (*Page, error) { return decodePage(path, b) })
}

// readWith decodes path's record from disk with decode, which must not
// retain b.
func (s *pebbleStore) readWith(path string, decode func(b []byte) (*Page, error)) (*Page, error) {
	v, closer, err := s.db.Get(key(nsPage, path))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	defer closer.Close()
	p, err := decode(v)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	return p, nil
}

// current is the stored page under the path lock: cached or from disk,
// nil if absent.
func (s *pebbleStore) current(path string) (*Page, error) {
	if p := s.hot.peek(path); p != nil {
		return p, nil
	}
	p, err := s.read(path)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return p, err
}

func (s *pebbleStore) lock(path string) func() {
	m := &s.locks[s.lockIndex(path)]
	m.Lock()
	return m.Unlock
}

// lockIndex is the path lock guarding path.
func (s *pebbleStore) lockIndex(path string) uint64 {
	return maphash.String(s.seed, path) % pathLocks
}

func (s *pebbleStore) Put(p *Page, opts PutOptions) error {
	if err := validate(p); err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	defer s.lock(p.Path)()
	old, err := s.current(p.Path)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := admit(old, p, opts); err != nil {
		return err
	}
	wo := s.wo
	if opts.NoSync {
		wo = pebble.NoSync
	}
	cp := *p // callers may reuse their struct; the slices are ours now
	switch {
	case opts.Replica:
	case old != nil:
		cp.Version = old.Version + 1
	default:
		cp.Version = 1
	}
	cp.Seal()
	if err := s.commitPut(old, &cp, opts.Dequeue, wo); err != nil {
		return fmt.Errorf("put %s: %w", p.Path, err)
	}
	if opts.NoSync {
		s.unsynced.Store(true)
	}
	s.hot.set(&cp)
	return nil
}

// admit checks Put's condition against the stored page old (nil if none).
func admit(old, p *Page, opts PutOptions) error {
	if opts.Replica {
		if old != nil && old.Version > p.Version {
			return ErrNewer
		}
		return nil
	}
	if opts.Build {
		if old != nil && old.Generated.After(p.Generated) {
			return ErrNewer
		}
		return nil
	}
	var stored uint64
	if old != nil {
		stored = old.Version
	}
	if stored != opts.Replaces {
		return ErrConflict
	}
	return nil
}

func (s *pebbleStore) Sync() error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := s.wrote(s.db.LogData(nil, pebble.Sync)); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	return nil
}

// commitPut writes p's record and swaps old's index entries for p's in
// one batch, removing the path's job with dequeue.
func (s *pebbleStore) commitPut(old, p *Page, dequeue bool, wo *pebble.WriteOptions) error {
	b := s.db.NewBatchWithSize(encodedPageSize(p) + 256)
	defer b.Close()
	added := s.putInto(b, old, p, dequeue)
	if err := s.apply(wo, b.Commit); err != nil {
		s.addPrefixes(added, -1)
		return err
	}
	s.putDone(old)
	return nil
}

// putInto adds to b p's record and the swap of old's index entries for
// p's (and with dequeue the removal of the path's job), and counts p's
// prefixes, which it returns: if b is not committed, the caller takes
// them back (addPrefixes(added, -1)); if it is, it calls putDone.
func (s *pebbleStore) putInto(b *pebble.Batch, old, p *Page, dequeue bool) (added []string) {
	val := encodePage(make([]byte, 0, encodedPageSize(p)), p)
	b.Set(key(nsPage, p.Path), val, nil)
	if dequeue {
		b.Delete(key(nsQueue, p.Path), nil)
	}
	if old == nil {
		b.Set(key(nsList, p.Path), nil, nil)
	} else {
		indexEntries(old, func(k []byte) { b.Delete(k, nil) })
	}
	indexEntries(p, func(k []byte) { b.Set(k, nil, nil) })
	added = uniq(p.Prefixes)
	s.addPrefixes(added, 1)
	return added
}

// putDone counts a committed put that replaced old (nil: none).
func (s *pebbleStore) putDone(old *Page) {
	if old == nil {
		s.pages.Add(1)
	} else {
		s.addPrefixes(uniq(old.Prefixes), -1)
	}
}

// validate refuses pages whose strings would break the key layout.
func validate(p *Page) error {
	if p.Path == "" || strings.IndexByte(p.Path, 0) >= 0 {
		return fmt.Errorf("put %q: invalid path", p.Path)
	}
	if p.held != 0 {
		return fmt.Errorf("put %s: a page from GetFor holds only the body it was asked for", p.Path)
	}
	for _, l := range [][]string{p.Keys, p.Prefixes, p.Tags} {
		for _, s := range l {
			if strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("put %s: NUL in key, prefix or tag %q", p.Path, s)
			}
		}
	}
	return nil
}

// indexEntries calls fn with every index key of p.
func indexEntries(p *Page, fn func(k []byte)) {
	for _, k := range p.Keys {
		fn(indexKey(nsKey, k, p.Path))
	}
	for _, x := range p.Prefixes {
		fn(indexKey(nsPrefix, x, p.Path))
	}
	for _, t := range p.Tags {
		fn(indexKey(nsTag, t, p.Path))
	}
}

func (s *pebbleStore) addPrefixes(prefixes []string, delta int) {
	s.prefixMu.Lock()
	defer s.prefixMu.Unlock()
	for _, x := range prefixes {
		if s.prefixRefs[x] += delta; s.prefixRefs[x] <= 0 {
			delete(s.prefixRefs, x)
		}
	}
}

func (s *pebbleStore) Delete(path string, dequeue bool) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	defer s.lock(path)()
	old, err := s.current(path)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if dequeue {
		b.Delete(key(nsQueue, path), nil)
	}
	if old == nil {
		if !dequeue {
			return nil
		}
		if err := s.apply(s.wo, b.Commit); err != nil {
			return fmt.Errorf("delete %s: %w", path, err)
		}
		return nil
	}
	b.Delete(key(nsPage, path), nil)
	b.Delete(key(nsList, path), nil)
	indexEntries(old, func(k []byte) { b.Delete(k, nil) })
	if err := s.apply(s.wo, b.Commit); err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	s.hot.remove(path)
	s.pages.Add(-1)
	s.addPrefixes(uniq(old.Prefixes), -1)
	return nil
}

func (s *pebbleStore) MarkStale(path string) error {
	return s.rewrite(path, "mark stale", true, func(cp *Page) (bool, error) {
		if cp.StaleMarked {
			return false, nil
		}
		cp.StaleMarked = true
		return true, nil
	})
}

func (s *pebbleStore) SetVariants(path string, version uint64, gz, br []byte) error {
	return s.rewrite(path, "set variants", false, func(cp *Page) (bool, error) {
		if cp.Version != version {
			return false, ErrConflict
		}
		cp.Gzip, cp.Brotli = gz, br
		return true, nil
	})
}

// rewrite changes the current record of path in place, under the path's
// lock: edit gets a copy of it (cached pages are shared and immutable)
// and says whether there is anything to write. sync says whether the
// write waits for the WAL; an unsynced write is synced by the next
// synced one or at close. The hot cache gets the new record.
func (s *pebbleStore) rewrite(path, op string, sync bool, edit func(*Page) (bool, error)) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	defer s.lock(path)()
	old, err := s.current(path)
	if err != nil {
		return err
	}
	if old == nil {
		return ErrNotFound
	}
	cp := *old
	if changed, err := edit(&cp); err != nil || !changed {
		return err
	}
	cp.Seal()
	val := encodePage(make([]byte, 0, encodedPageSize(&cp)), &cp)
	wo := s.wo
	if !sync {
		wo = pebble.NoSync
	}
	if err := s.apply(wo, func(wo *pebble.WriteOptions) error { return s.db.Set(key(nsPage, path), val, wo) }); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	if !sync {
		s.unsynced.Store(true)
	}
	s.hot.set(&cp)
	return nil
}

func (s *pebbleStore) PathsForKey(k string) ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	terms := []term{{nsKey, k}}
	for _, x := range s.prefixesOf(k) {
		terms = append(terms, term{nsPrefix, x})
	}
	return s.termPaths(terms)
}

// prefixesOf returns the indexed prefixes that k starts with: one map
// probe per length of k, however many prefixes exist.
func (s *pebbleStore) prefixesOf(k string) []string {
	s.prefixMu.RLock()
	defer s.prefixMu.RUnlock()
	if len(s.prefixRefs) == 0 {
		return nil
	}
	var out []string
	for i := 0; i <= len(k); i++ {
		if _, ok := s.prefixRefs[k[:i]]; ok {
			out = append(out, k[:i])
		}
	}
	return out
}

func (s *pebbleStore) PathsForTag(tag string) ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.termPaths([]term{{nsTag, tag}})
}

// term is one index namespace and value, e.g. {nsKey, "posts/1"}.
type term struct{ ns, value string }

// termPaths returns the sorted distinct paths indexed under any of terms,
// repositioning one iterator per term.
func (s *pebbleStore) termPaths(terms []term) ([]string, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	var paths []string
	for _, t := range terms {
		lo := indexKey(t.ns, t.value, "")
		it.SetBounds(lo, upper(lo))
		for ok := it.First(); ok; ok = it.Next() {
			paths = append(paths, string(it.Key()[len(lo):]))
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

func (s *pebbleStore) Paths(fn func(path string) bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.scan(nsList, func(k, _ []byte) bool {
		return fn(string(k[len(nsList):]))
	})
}

func (s *pebbleStore) GetMeta(name string) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	v, closer, err := s.db.Get(key(nsMeta, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get meta %s: %w", name, err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

func (s *pebbleStore) SetMeta(name string, value []byte) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := s.apply(s.wo, func(wo *pebble.WriteOptions) error { return s.db.Set(key(nsMeta, name), value, wo) }); err != nil {
		return fmt.Errorf("set meta %s: %w", name, err)
	}
	return nil
}

func (s *pebbleStore) Stats() Stats {
	st := Stats{Pages: s.pages.Load(), ReadOnly: s.readOnly.Load()}
	st.HotBytes, st.HotEntries, st.HotHits, st.HotMisses = s.hot.stats()
	if s.enter() == nil {
		st.DiskBytes = int64(s.db.Metrics().DiskSpaceUsage())
		s.leave()
	}
	return st
}

// Close refuses new calls, waits for the running ones, then closes Pebble.
func (s *pebbleStore) Close() error {
	s.lifeMu.Lock()
	if s.closed.Swap(true) {
		s.lifeMu.Unlock()
		return ErrClosed
	}
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.lifeMu.Unlock()
	close(s.stopSync)
	<-s.synced
	if s.readOnly.Load() {
		s.db.Close() // nothing more can be made durable
		return nil
	}
	s.commitMu.Lock()
	err := s.db.LogData(nil, pebble.Sync)
	s.commitMu.Unlock()
	if err != nil {
		s.db.Close()
		return fmt.Errorf("close store: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// scan calls fn for every key in namespace ns until fn returns false.
func (s *pebbleStore) scan(ns string, fn func(k, v []byte) bool) error {
	lo := []byte(ns)
	return s.scanRange(lo, upper(lo), fn)
}

// scanRange calls fn for keys in [lo, hi). k and v are only valid during
// the call.
func (s *pebbleStore) scanRange(lo, hi []byte, fn func(k, v []byte) bool) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for ok := it.First(); ok && fn(it.Key(), it.Value()); ok = it.Next() {
	}
	return errors.Join(it.Error(), it.Close())
}

func key(ns, name string) []byte {
	return append(append(make([]byte, 0, len(ns)+len(name)), ns...), name...)
}

func indexKey(ns, term, path string) []byte {
	k := make([]byte, 0, len(ns)+len(term)+1+len(path))
	k = append(append(append(k, ns...), term...), 0)
	return append(k, path...)
}

// upper is the smallest key greater than every key starting with lo,
// where lo ends in "/" or NUL.
func upper(lo []byte) []byte {
	hi := bytes.Clone(lo)
	hi[len(hi)-1]++
	return hi
}

// uniq returns l sorted without duplicates, leaving l untouched.
func uniq(l []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(l)))
}
