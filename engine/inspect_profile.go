package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kilnhq/kiln/engine/internal/assets"
	"github.com/kilnhq/kiln/engine/internal/builtin"
	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/datasource"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/router"
	"github.com/kilnhq/kiln/engine/internal/site"
)

// profileTop is how many functions the profile table shows.
const profileTop = 25

// profileOpts are inspect's --profile flags.
type profileOpts struct {
	on      bool
	renders int
	pprof   string
}

func profileFlags(fs *flag.FlagSet) *profileOpts {
	o := &profileOpts{}
	fs.BoolVar(&o.on, "profile", false, "render PATH here instead (nothing is stored), its renderer under the guest\nprofiler, and show where the render's time goes, per guest function")
	fs.IntVar(&o.renders, "renders", 100, "with --profile, how many renders to record")
	fs.StringVar(&o.pprof, "pprof", "", "with --profile, also write a pprof profile to `FILE`")
	return o
}

func (o *profileOpts) run(ctx context.Context, cfg *config.Site, path string) error {
	if o.renders < 1 {
		return &exitError{code: 2, err: fmt.Errorf("--renders must be at least 1")}
	}
	p := &profileRun{cfg: cfg, path: path, renders: o.renders, pprof: o.pprof, out: os.Stdout}
	return p.run(ctx)
}

// profileRun is `kiln inspect --profile`: it renders one path in this
// process, with the route's renderer compiled for the guest profiler and
// its data source started, and shows where the renders spend their time.
// Nothing is stored.
type profileRun struct {
	cfg     *config.Site
	path    string
	renders int
	pprof   string // a pprof file to write; "" for none
	out     io.Writer
}

func (p *profileRun) run(ctx context.Context) error {
	routes, err := router.New(p.cfg.Routes)
	if err != nil {
		return err
	}
	route, params, ok := routes.Match(p.path)
	if !ok {
		return fmt.Errorf("no route matches %s", p.path)
	}
	rc := rendererBlock(p.cfg, route.Renderer)
	if rc == nil {
		return fmt.Errorf("route %s has no renderer to profile", route.Pattern)
	}
	prof := render.NewProfiler()
	r, closeAll, err := p.load(ctx, rc, prof)
	if err != nil {
		return err
	}
	defer closeAll()
	req := render.Request{Route: route.Pattern, Path: p.path, Params: params, Mode: render.ModePreview}
	if _, err := r.Render(ctx, req); err != nil { // warm-up: first-use costs stay out
		return err
	}
	prof.Reset()
	for range p.renders {
		if _, err := r.Render(ctx, req); err != nil {
			return err
		}
	}
	fmt.Fprintf(p.out, "renderer %q, %s (route %s)\n", rc.Name, p.path, route.Pattern)
	if err := prof.WriteTop(p.out, profileTop); err != nil {
		return err
	}
	return p.writePprof(prof)
}

func rendererBlock(cfg *config.Site, name string) *config.Renderer {
	for _, rc := range cfg.Renderers {
		if rc.Name == name {
			return rc
		}
	}
	return nil // config.Load checked every route's renderer
}

// load builds the renderer if stale, starts its data source and loads it
// with the profiler, on the store's compilation cache.
func (p *profileRun) load(ctx context.Context, rc *config.Renderer, prof *render.Profiler) (render.Renderer, func(), error) {
	if _, err := site.BuildRenderer(ctx, p.cfg, rc); err != nil {
		return nil, nil, fmt.Errorf("build renderer %q: %w", rc.Name, err)
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var dirs []assets.Dir
	for _, st := range p.cfg.Static {
		dirs = append(dirs, assets.Dir{Prefix: st.Prefix, Path: st.Dir})
	}
	set, err := assets.Load(dirs)
	if err != nil {
		return nil, nil, err
	}
	data, sup, err := startSource(ctx, p.cfg, rc.Data)
	if err != nil {
		return nil, nil, err
	}
	if sup != nil {
		closers = append(closers, func() { sup.Close() })
	}
	logger := newLogger(os.Stderr)
	rt, err := render.NewRuntime(ctx, filepath.Join(p.cfg.StoreDir, "wazero"), logger)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, func() { rt.Close(context.Background()) })
	rcfg := site.RenderConfig(p.cfg, rc, data, set.Lookup)
	rcfg.Pool, rcfg.Profiler = 1, prof
	r, err := rt.Load(ctx, rcfg)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, func() { r.Close(context.Background()) })
	return r, closeAll, nil
}

// startSource starts the one data source a renderer reads, if any.
func startSource(ctx context.Context, cfg *config.Site, name string) (render.Data, *datasource.Supervisor, error) {
	for _, ds := range cfg.DataSources {
		if ds.Name != name {
			continue
		}
		sup, err := datasource.Start(ctx, []*config.DataSource{ds}, datasource.Options{
			Logger: newLogger(io.Discard), Executable: executable(), Builtins: builtin.Names(), Revisions: &memMeta{},
		})
		if err != nil {
			return nil, nil, err
		}
		return sup.Data(name), sup, nil
	}
	return nil, nil, nil
}

func (p *profileRun) writePprof(prof *render.Profiler) error {
	if p.pprof == "" {
		return nil
	}
	f, err := os.Create(p.pprof)
	if err != nil {
		return err
	}
	if err := prof.Profile().Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(p.out, "\nwrote %s: go tool pprof -top %s, or -http=: for a flame graph\n", p.pprof, p.pprof)
	return nil
}
