package isr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/engine/internal/store"
)

// PageInfo is what `kiln inspect` shows and /_kiln/inspect returns: a
// stored page's state, freshness, dependencies and history.
type PageInfo struct {
	Path        string         `json:"path"`
	Route       string         `json:"route"`
	Status      int            `json:"status"`
	State       string         `json:"state"`
	Version     uint64         `json:"version"`
	Generated   time.Time      `json:"generated"`
	AgeSeconds  int64          `json:"age_seconds"`
	Revalidate  string         `json:"revalidate"`
	Expire      string         `json:"expire"`
	FreshUntil  *time.Time     `json:"fresh_until,omitempty"`
	StaleMarked bool           `json:"stale_marked,omitempty"`
	ETag        string         `json:"etag"`
	Bytes       int            `json:"bytes"`
	GzipBytes   int            `json:"gzip_bytes"`
	BrotliBytes int            `json:"brotli_bytes"`
	Headers     []store.Header `json:"headers"`
	Tags        []string       `json:"tags"`
	Keys        []string       `json:"keys"`
	Prefixes    []string       `json:"prefixes"`
	History     []store.Event  `json:"history"`
	// Live state, only from a running engine.
	Rendering bool       `json:"rendering,omitempty"`
	RetryAt   *time.Time `json:"retry_at,omitempty"`
}

// ErrNotStored is Describe's error for a path with no stored page.
var ErrNotStored = errors.New("not stored")

// Describe reads a stored page and its history into a PageInfo, at now.
// It needs no running engine (`kiln inspect` on a store no server holds).
func Describe(pages store.Pages, history store.History, path string, now time.Time) (*PageInfo, error) {
	p, err := pages.Get(path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s is %w", path, ErrNotStored)
	}
	if err != nil {
		return nil, err
	}
	hist, err := history.History(path)
	if err != nil {
		return nil, err
	}
	info := &PageInfo{
		Path: p.Path, Route: p.Route, Status: p.Status, State: Classify(p, now).String(), Version: p.Version,
		Generated: p.Generated, AgeSeconds: Age(p, now), Revalidate: never(p.Revalidate),
		Expire: never(p.Expire), StaleMarked: p.StaleMarked, ETag: p.ETag, Bytes: len(p.Body),
		GzipBytes: len(p.Gzip), BrotliBytes: len(p.Brotli), Headers: p.Headers,
		Tags: p.Tags, Keys: p.Keys, Prefixes: p.Prefixes, History: hist,
	}
	if fu := p.FreshUntil(); !fu.IsZero() {
		info.FreshUntil = &fu
	}
	return info, nil
}

// Inspect is Describe with the engine's live state: whether a render is
// running, and when a failing path may render again.
func (e *Engine) Inspect(_ context.Context, path string) (*PageInfo, error) {
	now := e.clock.Now()
	info, err := Describe(e.pages, e.history, path, now)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	info.Rendering = e.flights[path] != nil
	e.mu.Unlock()
	if at, ok := e.failures.retryAt(path, now); ok {
		info.RetryAt = &at
	}
	return info, nil
}

func never(d time.Duration) string {
	if d <= 0 {
		return "never"
	}
	return d.String()
}
