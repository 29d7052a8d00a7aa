package markdown

import (
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long the watcher waits for more file events before
// rescanning, so an editor's burst of writes costs one scan.
const settle = 20 * time.Millisecond

// watchDir rescans the folder whenever a Markdown file in it changes.
// Watching the folder (not each file) also sees atomic renames.
func (s *source) watchDir() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(s.dir); err != nil {
		w.Close()
		return err
	}
	s.mu.Lock()
	s.watcher = w
	s.mu.Unlock()
	go s.watchLoop(w)
	return nil
}

func (s *source) watchLoop(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if isPostFile(filepath.Base(ev.Name)) && !ev.Has(fsnotify.Chmod) {
				drain(w.Events)
				s.reload()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Error("folder watch failed", "dir", s.dir, "error", err)
		}
	}
}

// drain swallows the events of one burst.
func drain(events <-chan fsnotify.Event) {
	t := time.NewTimer(settle)
	defer t.Stop()
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
			t.Reset(settle)
		case <-t.C:
			return
		}
	}
}

// reload rescans the folder and publishes the changes.
func (s *source) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	posts, errs, err := scanDir(s.dir, s.prefix)
	if err != nil {
		s.log.Error("cannot read folder; keeping the last good data", "error", err)
		return
	}
	s.logErrors(errs)
	s.Update(posts, errs)
}
