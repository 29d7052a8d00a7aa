// Package metrics holds Kiln's Prometheus instruments.
//
// Each site gets its own registry, so tests can run several servers in one
// process. Counters on the hit path are resolved once, up front, so that
// counting a request does not allocate.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Cache states, as sent in X-Kiln-Cache.
const (
	Hit      = "HIT"
	Stale    = "STALE"
	Miss     = "MISS"
	Fallback = "FALLBACK"
	Bypass   = "BYPASS"
	Preview  = "PREVIEW"
	Static   = "STATIC"
	Error    = "ERROR"
)

// Metrics are one site's instruments.
type Metrics struct {
	Registry *prometheus.Registry

	Requests      map[string]prometheus.Counter // by cache state
	RenderSeconds *prometheus.HistogramVec      // by renderer, mode
	RegenSeconds  *prometheus.HistogramVec      // by reason, outcome
	QueueDepth    prometheus.Gauge
	InFlight      prometheus.Gauge
}

// StoreStats is polled at scrape time for store gauges.
type StoreStats func() (pages, diskBytes, hotBytes, hotHits, hotMisses int64)

// New creates and registers a site's instruments.
func New(stats StoreStats) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: reg, Requests: map[string]prometheus.Counter{}}
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kiln_requests_total", Help: "Page requests by cache state.",
	}, []string{"cache"})
	for _, s := range []string{Hit, Stale, Miss, Fallback, Bypass, Preview, Static, Error} {
		m.Requests[s] = reqs.WithLabelValues(s)
	}
	buckets := prometheus.ExponentialBuckets(0.0001, 2, 18) // 100µs .. ~13s
	m.RenderSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kiln_render_seconds", Help: "Renderer call latency.", Buckets: buckets,
	}, []string{"renderer", "mode"})
	m.RegenSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kiln_regeneration_seconds", Help: "Page regeneration latency, render plus store.", Buckets: buckets,
	}, []string{"reason", "outcome"})
	m.QueueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kiln_regeneration_queue_depth", Help: "Regenerations queued or running.",
	})
	m.InFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kiln_renders_in_flight", Help: "Renders running now.",
	})
	reg.MustRegister(reqs, m.RenderSeconds, m.RegenSeconds, m.QueueDepth, m.InFlight)
	if stats != nil {
		reg.MustRegister(storeCollector(stats))
	}
	return m
}

type storeCollector StoreStats

var (
	descPages   = prometheus.NewDesc("kiln_store_pages", "Pages in the store.", nil, nil)
	descDisk    = prometheus.NewDesc("kiln_store_disk_bytes", "Bytes the store uses on disk.", nil, nil)
	descHot     = prometheus.NewDesc("kiln_hot_cache_bytes", "Bytes held by the in-memory hot cache.", nil, nil)
	descHotHits = prometheus.NewDesc("kiln_hot_cache_hits_total", "Hot cache hits.", nil, nil)
	descHotMiss = prometheus.NewDesc("kiln_hot_cache_misses_total", "Hot cache misses.", nil, nil)
	descRatio   = prometheus.NewDesc("kiln_hot_cache_hit_ratio", "Hot cache hits over lookups.", nil, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPages, descDisk, descHot, descHotHits, descHotMiss, descRatio} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	pages, disk, hot, hits, misses := c()
	ch <- prometheus.MustNewConstMetric(descPages, prometheus.GaugeValue, float64(pages))
	ch <- prometheus.MustNewConstMetric(descDisk, prometheus.GaugeValue, float64(disk))
	ch <- prometheus.MustNewConstMetric(descHot, prometheus.GaugeValue, float64(hot))
	ch <- prometheus.MustNewConstMetric(descHotHits, prometheus.CounterValue, float64(hits))
	ch <- prometheus.MustNewConstMetric(descHotMiss, prometheus.CounterValue, float64(misses))
	ratio := 0.0
	if hits+misses > 0 {
		ratio = float64(hits) / float64(hits+misses)
	}
	ch <- prometheus.MustNewConstMetric(descRatio, prometheus.GaugeValue, ratio)
}

// WatchStoreReadOnly registers kiln_store_read_only, read from readOnly
// at each scrape: 1 while the store refuses writes (a full or failing
// disk), stored pages still being served.
func (m *Metrics) WatchStoreReadOnly(readOnly func() bool) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kiln_store_read_only",
		Help: "1 while the store refuses writes after a write error (disk full or failing); stored pages are still served.",
	}, func() float64 { return boolValue(readOnly()) }))
}

// DataSourceState is one data source's health at scrape time.
type DataSourceState struct {
	Name     string
	Up       bool
	Degraded bool
	Restarts int
}

// DataSourceStates is polled at scrape time for the data-source gauges.
type DataSourceStates func() []DataSourceState

var (
	descSourceUp       = prometheus.NewDesc("kiln_data_source_up", "1 when the data source's plugin is running, 0 while it is starting or degraded.", []string{"source"}, nil)
	descSourceDegraded = prometheus.NewDesc("kiln_data_source_degraded", "1 when the data source has failed past the crash-loop limit and is retried at the maximum backoff.", []string{"source"}, nil)
	descSourceRestarts = prometheus.NewDesc("kiln_data_source_restarts_total", "Start attempts of the data source's plugin after the first.", []string{"source"}, nil)
)

// WatchDataSources registers the per-source gauges, read from states at
// each scrape.
func (m *Metrics) WatchDataSources(states DataSourceStates) {
	m.Registry.MustRegister(sourceCollector(states))
}

type sourceCollector DataSourceStates

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSourceUp
	ch <- descSourceDegraded
	ch <- descSourceRestarts
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c() {
		ch <- prometheus.MustNewConstMetric(descSourceUp, prometheus.GaugeValue, boolValue(s.Up), s.Name)
		ch <- prometheus.MustNewConstMetric(descSourceDegraded, prometheus.GaugeValue, boolValue(s.Degraded), s.Name)
		ch <- prometheus.MustNewConstMetric(descSourceRestarts, prometheus.CounterValue, float64(s.Restarts), s.Name)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
