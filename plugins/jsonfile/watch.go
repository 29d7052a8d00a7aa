package jsonfile

import (
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// watchFile reloads the data file whenever it changes. It watches the
// directory, so an editor's write-to-temp-and-rename is seen too.
func (s *source) watchFile() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(filepath.Dir(s.path)); err != nil {
		w.Close()
		return err
	}
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == s.path && !ev.Has(fsnotify.Chmod) {
					s.reload()
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Error("file watch failed", "path", s.path, "error", err)
			}
		}
	}()
	return nil
}

// reload re-reads the data file. A missing, half-written or invalid file
// keeps the last good data and logs one error until the file is good again.
func (s *source) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := readData(s.path) // under mu, so it cannot undo a concurrent Put
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Error("keeping last good data", "error", msg)
		}
		return
	}
	if s.lastErr != "" {
		s.lastErr = ""
		s.log.Info("data file is valid again", "path", s.path)
	}
	s.Update(values(data), nil)
}
