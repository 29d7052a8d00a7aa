package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one second of the soak, as seen from outside kiln.
type sample struct {
	at   time.Duration // since the load started
	rss  int64         // kiln's main process
	disk int64         // the store folder
	idle int64         // idle sockets held open
}

// memSample is kiln's memory split by owner, every 10 s: what the Go
// runtime holds (from /metrics) and what the kernel counts (/proc).
type memSample struct {
	at                time.Duration
	rss, anon, file   int64 // VmRSS, RssAnon, RssFile (+RssShmem)
	heapInuse         int64 // go_memstats_heap_inuse_bytes
	heapIdle          int64 // heap idle minus released: kept by Go, not returned to the OS
	stacks            int64 // go_memstats_stack_inuse_bytes
	goSys, goReleased int64 // go_memstats_sys_bytes, heap_released_bytes
	goroutines        int64
}

// goResident is what Go has mapped minus what it returned to the OS.
func (m memSample) goResident() int64 { return m.goSys - m.goReleased }

// goOther is the runtime's own metadata, caches and GC structures.
func (m memSample) goOther() int64 {
	return m.goResident() - m.heapInuse - m.heapIdle - m.stacks
}

// nonGo is the RSS outside Go's memory: wazero's linear memories and
// compiled code, cgo, the binary's text (an estimate: Go's resident part
// is taken as all it has not released).
func (m memSample) nonGo() int64 { return m.rss - m.goResident() }

// result is everything one soak measured.
type result struct {
	duration time.Duration
	pages    []string
	load     *load
	floods   []flood
	idle     *idlePool
	samples  []sample
	mem      []memSample        // every 10 s
	m0, m1   map[string]float64 // /metrics before and after
	mmax     map[string]float64 // largest value of each series over the scrapes
	log0     int64              // kiln's log size before and after
	log1     int64
	exited   bool
	unique   int64 // unique-URL requests sent
}

// soak runs the normal load and the floods for o.duration.
func soak(parent context.Context, k *kiln, o options) (*result, error) {
	r := &result{duration: o.duration, pages: k.pages, load: &load{errors: map[string]int64{}, cache: map[string]int64{}},
		idle: &idlePool{}, mmax: map[string]float64{}}
	var err error
	if r.m0, err = k.metrics(); err != nil {
		return nil, err
	}
	r.log0 = fileSize(k.log)
	ctx, cancel := context.WithTimeout(parent, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	fl := func(name, how string) *tally {
		t := newTally()
		r.floods = append(r.floods, flood{name: name, how: how, t: t})
		return t
	}

	// Normal load and revalidations, from 127.0.0.1.
	normalClient := httpFrom(1, o.workers)
	var loadMu sync.Mutex
	for w := range o.workers {
		spawn(func() {
			l := normal(ctx, normalClient, k.base, k.pages, w)
			loadMu.Lock()
			r.load.merge(l)
			loadMu.Unlock()
		})
	}
	reval := fl("revalidation", "every 5 s, `POST /_kiln/revalidate` of `/` and a post, with the secret (synchronous render)")
	revalClient := httpFrom(1, 1)
	spawn(func() {
		i := 0
		every(ctx, 5*time.Second, func() {
			body := fmt.Sprintf(`{"paths":["/",%q]}`, k.pages[1+i%(len(k.pages)-1)])
			i++
			req, _ := http.NewRequest("POST", k.base+"/_kiln/revalidate", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			reval.add(do(revalClient, req))
		})
	})

	// The floods, each from its own address.
	big := fl("64 MiB Content-Length", "40 connections in a loop, each a `GET /` (or an unauthorized admin POST) announcing `Content-Length: 67108864` and sending 64 KiB of it")
	for i := range 40 {
		spawn(func() {
			d := from(2)
			payload := bigBody("GET /", "")
			if i%4 == 3 {
				payload = bigBody("POST /_kiln/revalidate", "")
			}
			every(ctx, 50*time.Millisecond, func() { big.add(exchange(d, k.addr, payload)) })
		})
	}
	var unique atomic.Int64
	uniq := fl("unique URLs", "4 clients back to back, `GET /posts/soak-<n>` (fallback true) and `/b/posts/soak-<n>` (fallback blocking), every slug new")
	uniqClient := httpFrom(4, 4)
	for i := range 4 {
		spawn(func() {
			prefix := "/posts/"
			if i%2 == 1 {
				prefix = "/b/posts/"
			}
			for ctx.Err() == nil {
				n := unique.Add(1)
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s%ssoak-%d-%d", k.base, prefix, start.UnixNano(), n), nil)
				if s := do(uniqClient, req); ctx.Err() == nil {
					uniq.add(s)
				}
			}
		})
	}
	auth := fl("failed admin auth", "20/s `POST /_kiln/revalidate` with a wrong secret")
	authClient := httpFrom(5, 1)
	spawn(func() {
		every(ctx, 50*time.Millisecond, func() {
			req, _ := http.NewRequest("POST", k.base+"/_kiln/revalidate", strings.NewReader(`{"tags":["post"]}`))
			req.Header.Set("Authorization", "Bearer wrong-secret")
			auth.add(do(authClient, req))
		})
	})
	bad := fl("malformed requests", fmt.Sprintf("20/s in turn over %d raw requests: CL.TE, TE.CL and double-TE smuggling, CRLF and bare CR injection, path traversal, bad versions and framing, a 80 KiB request line (LEAK: an answer showing an injected header or /etc/passwd; #n: which request got an answer other than 4xx)", len(malformed)))
	spawn(func() {
		d, i := from(6), 0
		every(ctx, 50*time.Millisecond, func() {
			// Which request got an answer other than 4xx is worth knowing.
			s := exchange(d, k.addr, malformed[i%len(malformed)])
			if !strings.HasPrefix(s, "4") {
				s += fmt.Sprintf(" (#%d)", i%len(malformed)+1)
			}
			bad.add(s)
			i++
		})
	})
	huge := fl("oversized headers", "5/s in turn: one 32 KiB header, 2,000 headers, a 64 KiB `Authorization`")
	spawn(func() {
		d, i := from(7), 0
		every(ctx, 200*time.Millisecond, func() {
			huge.add(exchange(d, k.addr, oversized[i%len(oversized)]))
			i++
		})
	})
	scrape := fl("/metrics without the secret", "10/s `GET /metrics`, no `Authorization`")
	scrapeClient := httpFrom(8, 1)
	spawn(func() {
		every(ctx, 100*time.Millisecond, func() {
			req, _ := http.NewRequest("GET", k.base+"/metrics", nil)
			scrape.add(do(scrapeClient, req))
		})
	})
	spawn(func() { r.idle.run(ctx, k.addr, o.idle, &wg) })

	// Samples: every second from /proc and the store folder, every 10 s
	// from /metrics.
	var sampled sync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for i := 0; ; i++ {
			if rss, err := rssOf(k.pid()); err == nil {
				r.samples = append(r.samples, sample{at: time.Since(start), rss: rss, disk: diskUsage(k.store), idle: r.idle.held.Load()})
			}
			if i%10 == 0 {
				if m, err := k.metrics(); err == nil {
					for name, v := range m {
						r.mmax[name] = max(r.mmax[name], v)
					}
					if ms, err := memOf(k.pid(), m); err == nil {
						ms.at = time.Since(start)
						r.mem = append(r.mem, ms)
					}
				}
			}
			if i%60 == 0 && i > 0 {
				x := r.samples[len(r.samples)-1]
				logf("%s: RSS %.0f MB, store %.1f MB, %d idle sockets held, %d unique URLs sent", x.at.Round(time.Second), mb(x.rss), mb(x.disk), x.idle, unique.Load())
				if len(r.mem) > 0 {
					m := r.mem[len(r.mem)-1]
					logf("  heap in use %.0f MB, idle kept %.0f MB, stacks %.0f MB, Go other %.0f MB, non-Go %.0f MB (anon %.0f, file %.0f), %d goroutines",
						mb(m.heapInuse), mb(m.heapIdle), mb(m.stacks), mb(m.goOther()), mb(m.nonGo()), mb(m.anon), mb(m.file), m.goroutines)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	<-ctx.Done()
	sampled.Wait()
	wg.Wait()
	if parent.Err() != nil {
		return nil, parent.Err()
	}
	r.exited = k.exited()
	r.unique = unique.Load()
	if !r.exited {
		if r.m1, err = k.metrics(); err != nil {
			return nil, err
		}
	}
	r.log1 = fileSize(k.log)
	return r, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
