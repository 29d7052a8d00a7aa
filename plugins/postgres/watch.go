package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// Reconnect backoff bounds for the LISTEN connection.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// catchUpChunk bounds the changes read per catch-up query.
const catchUpChunk = 500

// sendError marks a failed send, which ends Watch instead of reconnecting.
type sendError struct{ err error }

func (e sendError) Error() string { return e.err.Error() }
func (e sendError) Unwrap() error { return e.err }

// watch is the state of one Watch call across reconnects.
type watch struct {
	s       *source
	send    func(plugin.Event) error
	last    uint64 // last revision sent
	started bool   // last is resolved (from = 0 means "now" at first connect)
	from    uint64
}

// Watch sends the latest change of every key changed after from, then live
// changes, until ctx is done or send fails. With from = 0 it first sends a
// bookmark at the current revision. When the connection drops it
// reconnects with backoff and catches up on what changed meanwhile.
func (s *source) Watch(ctx context.Context, from uint64, send func(plugin.Event) error) error {
	if s.pool == nil {
		return errNotConfigured
	}
	if !s.watchable {
		<-ctx.Done() // no change log: nothing will ever change
		return nil
	}
	w := &watch{s: s, send: send, from: from, last: from}
	backoff := minBackoff
	for {
		connected, err := w.session(ctx)
		var se sendError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &se):
			return se.err
		case connected:
			backoff = minBackoff
		}
		s.log.Warn("change listener lost its connection; reconnecting", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session runs one LISTEN connection until it fails. connected reports
// whether it got as far as listening, to reset the backoff.
func (w *watch) session(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, w.s.listen)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	if err := w.start(ctx, conn); err != nil {
		return true, err
	}
	prefix := w.s.tbl.logName() + " "
	for {
		if err := w.catchUp(ctx, conn); err != nil {
			return true, err
		}
		if err := waitFor(ctx, conn, prefix); err != nil {
			return true, err
		}
	}
}

// start resolves the starting revision at the first connection: 0 means
// the current one (announced with a bookmark); a from beyond it means the
// change log was recreated, so everything is sent again.
func (w *watch) start(ctx context.Context, conn *pgx.Conn) error {
	if w.started {
		return nil
	}
	var rev int64
	if err := conn.QueryRow(ctx, w.s.q.lastRev, w.s.tbl.logName()).Scan(&rev); err != nil {
		return fmt.Errorf("last revision: %w", err)
	}
	switch {
	case w.from == 0:
		w.last = uint64(rev)
		if err := w.send(plugin.Event{Revision: w.last, Bookmark: true}); err != nil {
			return sendError{err}
		}
	case w.from > uint64(rev):
		w.s.log.Warn("host is ahead of the change log; resending every change", "host_revision", w.from, "revision", rev)
		w.last = 0
	}
	w.started = true
	return nil
}

// waitFor blocks until a notification for this table arrives.
func waitFor(ctx context.Context, conn *pgx.Conn, prefix string) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		if strings.HasPrefix(n.Payload, prefix) {
			return nil
		}
	}
}

// catchUp sends every logged change after last, in chunks.
func (w *watch) catchUp(ctx context.Context, conn *pgx.Conn) error {
	for {
		evs, err := w.changes(ctx, conn)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := w.send(ev); err != nil {
				return sendError{err}
			}
			w.last = ev.Revision
		}
		if len(evs) < catchUpChunk {
			return nil
		}
	}
}

func (w *watch) changes(ctx context.Context, conn *pgx.Conn) ([]plugin.Event, error) {
	rows, err := conn.Query(ctx, w.s.q.changes, w.s.tbl.logName(), int64(w.last), catchUpChunk)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (plugin.Event, error) {
		var ev plugin.Event
		var rev int64
		var value *string
		err := row.Scan(&rev, &ev.Key, &ev.Deleted, &value)
		ev.Revision, ev.Key = uint64(rev), w.s.fullKey(ev.Key)
		switch {
		case ev.Deleted:
		case value != nil:
			ev.Value = []byte(*value)
		default:
			ev.Value = []byte("null") // as Get reports a NULL value
		}
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return evs, nil
}
