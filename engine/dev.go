package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

func runDev(args []string) error {
	fs := newFlagSet("dev", "[--config site.hcl] [--listen ADDR] [--store DIR]",
		"Serve every page fresh (X-Kiln-Cache: BYPASS). Watch what each renderer is built\nfrom (for a Go renderer, every local package it imports), site.hcl and the static\nfiles; rebuild the renderers a change touches, in parallel, and reload open\nbrowser tabs. Build errors show in the terminal and in the page.")
	var sf siteFlags
	sf.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	for {
		cfg, err := sf.load()
		if err != nil {
			return err
		}
		err = serve(cfg, &devMode{restart: make(chan struct{}, 1)})
		if !errors.Is(err, errRestart) {
			return err
		}
		fmt.Println("kiln dev: site.hcl changed, restarting")
	}
}

// errRestart makes `kiln dev` reload site.hcl and start again.
var errRestart = errors.New("restart")

// devMode watches sources and reloads renderers and browser tabs.
type devMode struct {
	restart chan struct{} // a valid new site.hcl: serve returns errRestart
}

// watch starts watching renderer inputs, site.hcl and static files.
// loadErr is how loading the renderers at start went: when it failed, each
// renderer is built again, so its own error shows until it is fixed.
func (d *devMode) watch(ctx context.Context, s *site.Site, dev *server.Dev, log *slog.Logger, loadErr error) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dw := &devWatch{
		w: w, cfg: s.Config, dev: dev, log: log, term: os.Stderr, restart: d.restart,
		reload:  func(ctx context.Context, name string) error { return s.Reload(ctx, name, site.Options{Logger: log}) },
		statics: s.Assets.Reload,
		errs:    map[string]string{},
	}
	if loadErr != nil {
		var names []string
		for _, rc := range s.Config.Renderers {
			names = append(names, rc.Name)
		}
		dw.rebuild(ctx, names)
		dev.Reload(dw.buildErrors())
	}
	dw.refresh()
	w.Add(filepath.Dir(s.Config.File))
	for _, st := range s.Config.Static {
		dw.addTree(st.Dir)
	}
	go dw.loop(ctx)
	return nil
}

// devWatch is the state of `kiln dev`'s watcher.
type devWatch struct {
	w       *fsnotify.Watcher
	cfg     *config.Site
	dev     *server.Dev
	log     *slog.Logger
	term    io.Writer // build errors, for the terminal
	restart chan struct{}
	reload  func(ctx context.Context, renderer string) error // rebuild and swap in
	statics func() error                                     // read the static files again

	owners map[string][]string // watched file or directory -> renderers built from it
	errs   map[string]string   // renderer -> its current build error
}

// refresh recomputes which renderers each input belongs to, and watches
// any input not watched yet. It runs after every rebuild: an edit may add
// an import.
func (d *devWatch) refresh() {
	d.owners = map[string][]string{}
	for _, rc := range d.cfg.Renderers {
		for _, in := range rendererInputs(d.cfg, rc) {
			d.addTree(in)
			filepath.WalkDir(in, func(p string, e fs.DirEntry, err error) error {
				if err == nil && e.IsDir() && p != in && strings.HasPrefix(e.Name(), ".") {
					return filepath.SkipDir
				}
				if err == nil && (e.IsDir() || p == in) {
					d.owners[p] = append(d.owners[p], rc.Name)
				}
				return nil
			})
		}
	}
}

// rendererInputs is what a renderer is built from, as the staleness check
// of `kiln serve` sees it: a Go package and the local packages it imports
// (with go.mod and go.sum), the files a build command watches, or a
// prebuilt module.
func rendererInputs(cfg *config.Site, rc *config.Renderer) []string {
	switch {
	case rc.Source != "":
		in, err := render.GoInputs(rc.Source)
		if err != nil {
			return []string{rc.Source}
		}
		return in
	case len(rc.Build) > 0:
		var in []string
		for _, g := range rc.Watch {
			matches, _ := filepath.Glob(g)
			in = append(in, matches...)
		}
		return in
	}
	return []string{rc.Wasm}
}

// addTree watches dir and the directories under it, or a file's directory.
func (d *devWatch) addTree(path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	if !fi.IsDir() {
		d.w.Add(filepath.Dir(path))
		return
	}
	filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		if p != path && strings.HasPrefix(e.Name(), ".") {
			return filepath.SkipDir
		}
		d.w.Add(p)
		return nil
	})
}

func (d *devWatch) loop(ctx context.Context) {
	defer d.w.Close()
	var pending change
	debounce := time.NewTimer(time.Hour)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-d.w.Events:
			if ev.Op&fsnotify.Create != 0 {
				d.addTree(ev.Name) // a new directory under a watched one
			}
			if d.classify(ev.Name, &pending) {
				debounce.Reset(100 * time.Millisecond)
			}
		case err := <-d.w.Errors:
			d.log.Error("watch", "err", err)
		case <-debounce.C:
			d.apply(ctx, pending)
			pending = change{}
		}
	}
}

// change is what a burst of file events touched.
type change struct {
	config, static bool
	renderers      []string
}

// classify records what a changed path touches; it reports false for
// paths that touch nothing (a renderer's own output).
func (d *devWatch) classify(path string, c *change) bool {
	if path == d.cfg.File {
		c.config = true
		return true
	}
	for _, rc := range d.cfg.Renderers {
		if len(rc.Build) > 0 && path == rc.Wasm {
			return false // a build command's output, next to its sources
		}
	}
	owners := slices.Concat(d.owners[path], d.owners[filepath.Dir(path)])
	for _, name := range owners {
		if !slices.Contains(c.renderers, name) {
			c.renderers = append(c.renderers, name)
		}
	}
	for _, st := range d.cfg.Static {
		if within(path, st.Dir) {
			c.static = true
		}
	}
	return true // anything else (data next to site.hcl, say) reloads the tabs
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// apply acts on a burst of changes: a new site.hcl restarts the server;
// otherwise the renderers it touched are rebuilt in parallel, the static
// files are read again, and the open tabs reload.
func (d *devWatch) apply(ctx context.Context, c change) {
	if c.config {
		if _, err := config.Load(d.cfg.File); err != nil {
			fmt.Fprintf(d.term, "kiln dev: %s is not valid; still serving the last one:\n%v\n", d.cfg.File, err)
			d.dev.Reload(err.Error())
			return
		}
		select { // open tabs reload when they reconnect to the new server
		case d.restart <- struct{}{}:
		default:
		}
		return
	}
	if len(c.renderers) > 0 {
		d.rebuild(ctx, c.renderers)
		d.refresh()
	}
	if c.static {
		if err := d.statics(); err != nil {
			fmt.Fprintf(d.term, "kiln dev: static files: %v\n", err)
		}
	}
	d.dev.Reload(d.buildErrors())
}

// rebuild rebuilds the named renderers in parallel and records their
// build errors, printing each new one in the terminal.
func (d *devWatch) rebuild(ctx context.Context, names []string) {
	slices.Sort(names)
	start := time.Now()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = d.reload(ctx, name) })
	}
	wg.Wait()
	for i, name := range names {
		if errs[i] != nil {
			d.errs[name] = errs[i].Error()
			fmt.Fprintf(d.term, "kiln dev: renderer %s failed to build:\n%v\n", name, errs[i])
			continue
		}
		delete(d.errs, name)
		d.log.Info("rebuilt renderer", "renderer", name)
	}
	d.log.Info("rebuild done", "renderers", strings.Join(names, ","), "duration", time.Since(start).Round(time.Millisecond))
}

// buildErrors is every renderer's current build error, for the page.
func (d *devWatch) buildErrors() string {
	var names []string
	for name := range d.errs {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "renderer %s:\n%s", name, d.errs[name])
	}
	return b.String()
}
