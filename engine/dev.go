package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/server"
	"github.com/kilnhq/kiln/engine/internal/site"
)

func runDev(args []string) error {
	fs := newFlagSet("dev", "[--config site.hcl] [--listen ADDR] [--store DIR]",
		"Serve every page fresh (X-Kiln-Cache: BYPASS), rebuild renderers when their\nsources change, and reload open browser tabs. Errors show in the page.")
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

// watch starts watching renderer sources, site.hcl and static files.
func (d *devMode) watch(ctx context.Context, s *site.Site, dev *server.Dev, log *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	owners := map[string]string{} // dir -> renderer name
	for _, rc := range s.Config.Renderers {
		for _, dir := range watchDirs(s.Config, rc) {
			owners[dir] = rc.Name
			w.Add(dir)
		}
	}
	w.Add(filepath.Dir(s.Config.File))
	for _, st := range s.Config.Static {
		w.Add(st.Dir)
	}
	go d.loop(ctx, w, owners, s, dev, log)
	return nil
}

func (d *devMode) loop(ctx context.Context, w *fsnotify.Watcher, owners map[string]string, s *site.Site, dev *server.Dev, log *slog.Logger) {
	defer w.Close()
	pending := map[string]bool{}
	debounce := time.NewTimer(time.Hour)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.Events:
			if ev.Name == s.Config.File && ev.Op&(fsnotify.Write|fsnotify.Create) != 0 {
				pending["\x00config"] = true
			} else if name, ok := owners[filepath.Dir(ev.Name)]; ok && !strings.HasSuffix(ev.Name, ".wasm") {
				pending[name] = true
			} else {
				pending["\x00static"] = true
			}
			debounce.Reset(100 * time.Millisecond)
		case err := <-w.Errors:
			log.Error("watch", "err", err)
		case <-debounce.C:
			d.apply(ctx, pending, s, dev, log)
			pending = map[string]bool{}
		}
	}
}

func (d *devMode) apply(ctx context.Context, pending map[string]bool, s *site.Site, dev *server.Dev, log *slog.Logger) {
	if pending["\x00config"] {
		if _, err := config.Load(s.Config.File); err != nil {
			dev.Reload(err.Error())
			return
		}
		select { // open tabs reload when they reconnect to the new server
		case d.restart <- struct{}{}:
		default:
		}
		return
	}
	var errs []string
	for name := range pending {
		if strings.HasPrefix(name, "\x00") {
			continue
		}
		start := time.Now()
		if err := s.Reload(ctx, name, site.Options{Logger: log}); err != nil {
			errs = append(errs, fmt.Sprintf("renderer %s:\n%v", name, err))
			continue
		}
		log.Info("rebuilt renderer", "renderer", name, "duration", time.Since(start).Round(time.Millisecond))
	}
	dev.Reload(strings.Join(errs, "\n\n"))
}

// watchDirs are the directories holding a renderer's sources.
func watchDirs(cfg *config.Site, rc *config.Renderer) []string {
	var dirs []string
	if rc.Source != "" {
		filepath.WalkDir(rc.Source, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	for _, g := range rc.Watch {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && !st.IsDir() {
				dirs = append(dirs, filepath.Dir(m))
			}
		}
	}
	return dirs
}
