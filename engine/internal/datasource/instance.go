package datasource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/engine/internal/pluginhost"
	"github.com/kilnhq/kiln/engine/internal/render"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// Restart policy.
const (
	backoffMin   = 100 * time.Millisecond
	backoffMax   = 10 * time.Second
	crashWindow  = time.Minute
	crashLimit   = 5 // crashes within crashWindow before giving up
	exitPollTick = 250 * time.Millisecond
)

// instance supervises one data source's plugin process.
type instance struct {
	sup  *Supervisor
	cfg  *config.DataSource
	log  *slog.Logger
	kick chan struct{} // a failed call asks the run loop for a health check

	mu       sync.Mutex
	conn     *conn // nil while down
	down     error // why conn is nil
	caps     plugin.Capabilities
	baseline uint64 // the source's revision when a from-0 Watch began
	crashes  []time.Time

	commitMu  sync.Mutex // serialises commits so the stored revision only grows
	committed uint64
}

func newInstance(s *Supervisor, ds *config.DataSource) *instance {
	return &instance{
		sup: s, cfg: ds, kick: make(chan struct{}, 1),
		log:  s.log.With("datasource", ds.Name),
		down: errors.New("not started"),
	}
}

// first loads the committed revision and starts the plugin. Errors are
// positioned at the data_source block (or the attribute a diagnostic names).
func (in *instance) first(ctx context.Context) error {
	rev, err := in.sup.loadRevision(in.cfg.Name)
	if err == nil {
		in.committed = rev
		err = in.start(ctx)
	}
	var ce configError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	if p := in.cfg.Pos; p.File != "" {
		return fmt.Errorf("%s:%d:%d: data source %q: %w", p.File, p.Line, p.Column, in.cfg.Name, err)
	}
	return fmt.Errorf("data source %q: %w", in.cfg.Name, err)
}

// configError marks errors that are already positioned diagnostics.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// start launches and configures the plugin and marks the source up.
func (in *instance) start(ctx context.Context) error {
	timeout := in.cfg.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := in.launch(ctx, timeout)
	if err != nil {
		return err
	}
	config := in.cfg.Config
	if len(config) == 0 {
		config = []byte("{}")
	}
	ds, err := c.src.ConfigureErr(ctx, config)
	if err == nil {
		if err = configErr(in.cfg, ds, in.log); err != nil {
			err = configError{err}
		}
	}
	if err != nil {
		c.kill()
		return err
	}
	if err := in.startWatch(ctx, c); err != nil {
		c.kill()
		return err
	}
	in.mu.Lock()
	in.conn, in.down, in.caps = c, nil, c.caps
	in.mu.Unlock()
	in.log.Debug("data source started", "pid", c.client.ID())
	return nil
}

// run serves the plugin until ctx is done, restarting it when it crashes.
func (in *instance) run(ctx context.Context) {
	for {
		c := in.current()
		if c == nil {
			return
		}
		cause := in.serve(ctx, c)
		in.setDown(c, cause)
		if ctx.Err() != nil || !in.restart(ctx, cause) {
			return
		}
	}
}

func (in *instance) current() *conn {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.conn
}

// setDown marks the source unavailable and stops the process: gracefully
// when the supervisor is closing, at once when the plugin is dead or stuck.
func (in *instance) setDown(c *conn, cause error) {
	in.mu.Lock()
	if in.conn == c {
		in.conn, in.down = nil, cause
	}
	in.mu.Unlock()
	if errors.Is(cause, ErrClosed) {
		c.kill()
	} else {
		c.abort()
	}
}

// serve watches a running plugin and returns why it is considered dead.
func (in *instance) serve(ctx context.Context, c *conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tick := time.NewTicker(exitPollTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ErrClosed
		case err := <-c.watchErr:
			if err == nil {
				err = errors.New("plugin ended the stream")
			}
			return fmt.Errorf("watch: %w", err)
		case <-tick.C:
			if c.client.Exited() {
				return errors.New("plugin process exited")
			}
		case <-in.kick:
			if err := c.ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}

// restart starts the plugin again after a crash, with exponential backoff,
// until it runs or crashes crashLimit times within crashWindow.
func (in *instance) restart(ctx context.Context, cause error) bool {
	for {
		n := in.recordCrash(time.Now())
		if n >= crashLimit {
			in.giveUp(n, cause)
			return false
		}
		wait := min(backoffMin<<(n-1), backoffMax)
		in.log.Warn("data source crashed; restarting", "error", cause, "crashes", n, "backoff", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		if cause = in.start(ctx); cause == nil {
			return true
		}
		in.setDownErr(cause)
	}
}

func (in *instance) setDownErr(err error) {
	in.mu.Lock()
	in.down = err
	in.mu.Unlock()
}

// recordCrash notes a crash and returns the crashes within the window.
func (in *instance) recordCrash(now time.Time) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	kept := in.crashes[:0]
	for _, t := range in.crashes {
		if now.Sub(t) < crashWindow {
			kept = append(kept, t)
		}
	}
	in.crashes = append(kept, now)
	return len(in.crashes)
}

func (in *instance) giveUp(n int, cause error) {
	err := fmt.Errorf("gave up after %d crashes within %s: %w", n, crashWindow, cause)
	in.log.Error("data source unavailable", "error", err)
	in.setDownErr(err)
}

// stop kills the process for good (Close).
func (in *instance) stop() {
	in.mu.Lock()
	c := in.conn
	in.conn, in.down = nil, ErrClosed
	in.mu.Unlock()
	if c != nil {
		c.kill()
	}
}

// client returns the running plugin, or an error wrapping
// render.ErrUnavailable.
func (in *instance) client() (*pluginhost.Client, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.conn == nil {
		return nil, fmt.Errorf("datasource %s: %w: %w", in.cfg.Name, render.ErrUnavailable, in.down)
	}
	return in.conn.src, nil
}

// callErr wraps a failed call. A transport failure asks for a health
// check, which restarts a dead plugin.
func (in *instance) callErr(ctx context.Context, op string, err error) error {
	if errors.Is(err, pluginhost.ErrTransport) {
		select {
		case in.kick <- struct{}{}:
		default:
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("datasource %s: %s: %w", in.cfg.Name, op, ctx.Err())
	}
	return fmt.Errorf("datasource %s: %s: %w: %w", in.cfg.Name, op, render.ErrUnavailable, err)
}
