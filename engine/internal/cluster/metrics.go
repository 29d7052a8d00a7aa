package cluster

import "github.com/prometheus/client_golang/prometheus"

// Register adds the node's metrics to reg.
func (n *Node) Register(reg *prometheus.Registry) {
	counter := func(name, help string, v func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	gauge := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, v)
	}
	s := &n.stats
	reg.MustRegister(
		gauge("kiln_cluster_connected", "1 while the node reaches NATS.", func() float64 {
			if n.nc.IsConnected() {
				return 1
			}
			return 0
		}),
		gauge("kiln_cluster_joined", "1 once the node has reached NATS since start and set up its buckets.", func() float64 {
			if n.up.Load() {
				return 1
			}
			return 0
		}),
		gauge("kiln_cluster_replication_lag", "Records of the pages bucket not yet applied here, at the last apply.", func() float64 { return float64(n.lag.Load()) }),
		gauge("kiln_cluster_applied_revision", "The last pages-bucket revision applied here.", func() float64 { return float64(n.applied.Load()) }),
		gauge("kiln_cluster_live_nodes", "Nodes with a live heartbeat.", func() float64 { return float64(s.LiveNodes.Load()) }),
		counter("kiln_cluster_published_total", "Page records this node published.", s.Published.Load),
		counter("kiln_cluster_applied_total", "Page records from other nodes applied here.", s.Applied.Load),
		counter("kiln_cluster_publish_conflicts_total", "Publishes that met a newer revision in the bucket.", s.Conflicts.Load),
		counter("kiln_cluster_publish_failures_total", "Publishes that failed (NATS away); published again later.", s.PublishFailures.Load),
		counter("kiln_cluster_leases_taken_total", "Render leases this node took.", s.LeasesTaken.Load),
		counter("kiln_cluster_watch_restarts_total", "Pages watches recreated because they stalled behind the stream or closed (a NATS server lost).", s.Rewatches.Load),
		counter("kiln_cluster_lease_conflicts_total", "Render leases held by another node when asked.", s.LeaseConflicts.Load),
		counter("kiln_cluster_lease_takeovers_total", "Render leases taken over from this node's own released lease whose delete had not applied yet.", s.LeaseTakeovers.Load),
		counter("kiln_cluster_jobs_pulled_total", "Jobs pulled from the work queue.", s.JobsPulled.Load),
		counter("kiln_cluster_jobs_redelivered_total", "Jobs pulled that had been delivered before.", s.JobsRedelivered.Load),
	)
}
