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

// exitPollTick is how often a running plugin's process is checked.
const exitPollTick = 250 * time.Millisecond

// instance supervises one data source's plugin process.
type instance struct {
	sup  *Supervisor
	cfg  *config.DataSource
	log  *slog.Logger
	kick chan struct{} // a failed call asks the run loop for a health check

	mu         sync.Mutex
	conn       *conn // nil while down
	down       error // why conn is nil
	caps       plugin.Capabilities
	known      bool   // caps are known: the plugin has been up once
	baseline   uint64 // the source's revision when a from-0 Watch began
	state      State
	since      time.Time
	lastErr    error
	lastErrAt  time.Time
	restarts   int
	fails      []time.Time   // recent failures, for the policy
	wait       time.Duration // before the next start
	suppressed int           // repeated failures not logged yet
	summaryAt  time.Time     // when repeats were last summarised

	commitMu  sync.Mutex // serialises commits so the stored revision only grows
	committed uint64
}

func newInstance(s *Supervisor, ds *config.DataSource) *instance {
	return &instance{
		sup: s, cfg: ds, kick: make(chan struct{}, 1),
		log:   s.log.With("datasource", ds.Name),
		down:  errors.New("not started"),
		state: StateStarting, since: s.clock.Now(),
	}
}

// fatalError marks a first-start error the user must fix in site.hcl: a
// config the plugin rejects, an unknown built-in. Start fails on it.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// first loads the committed revision and starts the plugin. An error the
// user must fix in site.hcl is returned, positioned at the data_source
// block (or the attribute a diagnostic names); any other failure leaves
// the source down, to be retried by run.
func (in *instance) first(ctx context.Context) error {
	rev, err := in.sup.loadRevision(in.cfg.Name)
	if err != nil {
		return in.position(err)
	}
	in.committed = rev
	err = in.start(ctx)
	var fe fatalError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return in.position(fe.error)
	}
	in.failed(in.position(err))
	return nil
}

// position prefixes an error with the data_source block's position, unless
// it is a plugin's diagnostics, which are positioned already.
func (in *instance) position(err error) error {
	var ce configError
	if errors.As(err, &ce) {
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
	if err := in.configure(ctx, c); err != nil {
		c.kill()
		return err
	}
	if err := in.startWatch(ctx, c); err != nil {
		c.kill()
		return err
	}
	in.up(c)
	return nil
}

// configure sends the config block. Error diagnostics are fatal at the
// first start unless every one is transient.
func (in *instance) configure(ctx context.Context, c *conn) error {
	config := in.cfg.Config
	if len(config) == 0 {
		config = []byte("{}")
	}
	ds, err := c.src.ConfigureErr(ctx, config)
	if err != nil {
		return err
	}
	if err := configErr(in.cfg, ds, in.log); err != nil {
		if transientOnly(ds) {
			return configError{err}
		}
		return fatalError{configError{err}}
	}
	return nil
}

// run serves the plugin until ctx is done, restarting it whenever it
// crashes or fails to start, for as long as the supervisor runs.
func (in *instance) run(ctx context.Context) {
	for {
		if c := in.current(); c != nil {
			cause := in.serve(ctx, c)
			in.setDown(c, cause)
			if ctx.Err() != nil {
				return
			}
			in.failed(cause)
		}
		if !in.sleep(ctx) {
			return
		}
		in.mu.Lock()
		in.restarts++
		in.mu.Unlock()
		if err := in.start(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			in.failed(err)
		}
	}
}

// sleep waits for the backoff the last failure decided; false if ctx ended.
func (in *instance) sleep(ctx context.Context) bool {
	in.mu.Lock()
	wait := in.wait
	in.mu.Unlock()
	select {
	case <-ctx.Done():
		return false
	case <-in.sup.clock.After(wait):
		return true
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
