package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/kilnhq/kiln/engine/internal/isr"
	"github.com/kilnhq/kiln/engine/internal/site"
)

func runBuild(args []string) error {
	fs := newFlagSet("build", "[--config site.hcl] [--store DIR] [--nats URLS]",
		"Build the renderers, then prerender every route's build-time paths into the\nstore, in parallel. A stored page newer than the one rendered is kept.")
	var sf siteFlags
	sf.register(fs, false)
	sf.registerNATS(fs)
	cfg, err := sf.parseLoad(fs, args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := site.Open(ctx, cfg, site.Options{Logger: newLogger(os.Stderr), Out: os.Stdout, Executable: executable(), Eager: true})
	if err != nil {
		return err
	}
	defer s.Close()
	var bar *progressbar.ProgressBar
	opts := isr.BuildOptions{}
	if isatty.IsTerminal(os.Stderr.Fd()) {
		opts.Paths = func(paths []string) {
			bar = progressbar.NewOptions(len(paths), progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription("prerendering"), progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish())
		}
		opts.Progress = func(_, _ int) { bar.Add(1) }
	}
	sum, err := s.Engine.Build(ctx, opts)
	if err != nil {
		return err
	}
	for _, e := range sum.Errors {
		fmt.Fprintf(os.Stderr, "error: %v\n", e)
	}
	fmt.Printf("built %d pages in %.2fs (%s), %d kept (newer or unchanged), %d failed\n",
		sum.Pages, sum.Elapsed.Seconds(), bytesString(sum.Bytes), sum.Skipped, sum.Failed)
	if sum.Failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d page(s) failed to render", sum.Failed)}
	}
	return nil
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
