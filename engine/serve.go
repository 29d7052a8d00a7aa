package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

func runServe(args []string) error {
	fs := newFlagSet("serve", "[--config site.hcl] [--listen ADDR] [--store DIR] [--nats URLS]",
		"Build the renderers that are missing or stale, prerender the build-time paths\nnot yet stored, and serve the site.")
	var sf siteFlags
	sf.register(fs, true)
	sf.registerNATS(fs)
	cfg, err := sf.parseLoad(fs, args)
	if err != nil {
		return err
	}
	return serve(cfg, nil)
}

// serve runs the site until SIGINT or SIGTERM. dev is non-nil for `kiln dev`.
func serve(cfg *config.Site, dev *devMode) error {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := os.Stdout
	fmt.Fprintf(out, "kiln: starting %s\n", cfg.File)
	log := newLogger(os.Stderr)
	s, err := site.Open(ctx, cfg, site.Options{Logger: log, Out: out, Executable: executable(), Background: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if dev == nil {
		// A store with pages serves them at once, while the renderers load
		// and the missing build-time pages render behind it; an empty store
		// (the first start) is prerendered before the server listens.
		if s.Store.Stats().Pages == 0 {
			if err := prerender(ctx, s, out); err != nil {
				return err
			}
		} else {
			var bg sync.WaitGroup
			defer bg.Wait() // before s.Close: the store outlives the prerender
			bg.Go(func() {
				if err := prerender(ctx, s, out); err != nil && ctx.Err() == nil {
					log.Error("prerender", "err", err)
				}
			})
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	opts := server.Options{
		Engine: s.Engine, Metrics: s.Metrics, Assets: s.Assets, Logger: log,
		AdminSecret: os.Getenv(cfg.AdminSecretEnv), PreviewSecret: os.Getenv(cfg.PreviewSecretEnv),
		AdminSecretEnv: cfg.AdminSecretEnv,
		MetricsApart:   cfg.MetricsListen != "",
		Routes:         func() any { return routeTable(cfg) },
		Degraded:       s.Degraded,
		MaxAdminBody:   cfg.MaxAdminBody, MaxConns: cfg.MaxConnections, MaxConnsPerIP: cfg.MaxConnectionsPerIP,
	}
	if s.Cluster != nil {
		opts.Ready = s.Cluster.Serving
		opts.WaitAll = s.Cluster.WaitAll
	}
	if s.Plugins != nil {
		opts.Data = site.DataAdmin{Plugins: s.Plugins}
	}
	if dev != nil {
		opts.Dev = server.NewDev()
		// A renderer that fails to build is shown, not fatal: fix it and save.
		if err := dev.watch(ctx, s, opts.Dev, log, s.RenderersLoaded()); err != nil {
			return err
		}
	}
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("metrics_listen: %w", err)
		}
	}
	srv := server.New(opts)
	errc := make(chan error, 2)
	if metricsLn != nil {
		go func() { errc <- srv.ServeMetrics(metricsLn) }()
	}
	defer serveAdminSocket(srv, cfg.StoreDir, log)() // before the first answer on ln
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "kiln: ready in %s on %s\n", time.Since(start).Round(time.Millisecond), displayURL(ln.Addr()))
	if metricsLn != nil {
		fmt.Fprintf(out, "  metrics on %s/metrics\n", displayURL(metricsLn.Addr()))
	}
	if opts.AdminSecret == "" {
		fmt.Fprintf(out, "  HTTP admin API off: set %s to enable /_kiln/revalidate (kiln commands on this machine need no secret)\n", cfg.AdminSecretEnv)
	}
	var restart <-chan struct{}
	if dev != nil {
		restart = dev.restart
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	case <-restart:
		srv.Shutdown()
		return errRestart
	}
	fmt.Fprintf(out, "kiln: shutting down\n")
	return srv.Shutdown()
}

func displayURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if host == "" || host == "::" || host == "0.0.0.0" || strings.HasPrefix(host, "[") {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// prerender renders the build-time paths that are not stored yet.
func prerender(ctx context.Context, s *site.Site, out io.Writer) error {
	if err := s.RenderersLoaded(); err != nil {
		return err
	}
	sum, err := s.Engine.Build(ctx, isr.BuildOptions{OnlyMissing: true})
	// The check loaded every renderer with a paths export: unload them
	// until a page needs them (stored pages need none). Compiling the
	// renderers and prerendering leave a heap the server no longer needs:
	// give it back to the OS now rather than over the scavenger's minutes.
	s.ReleaseRenderers(ctx)
	debug.FreeOSMemory()
	if err != nil {
		return err
	}
	if sum.Pages > 0 || sum.Failed > 0 {
		fmt.Fprintf(out, "  prerendered %d page(s) (%d already stored, %d failed) in %s\n",
			sum.Pages, sum.Skipped, sum.Failed, sum.Elapsed.Round(time.Millisecond))
	}
	for _, e := range sum.Errors {
		fmt.Fprintf(out, "  build error: %v\n", e)
	}
	return nil
}
