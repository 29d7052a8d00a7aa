package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kilnhq/kiln/sdk/plugin"
)

// maxLimit caps a List page.
const maxLimit = 1000

// queries are the SQL statements for one resolved table.
type queries struct {
	get, getMany, list, listReverse, listAfter, listBefore string
	changes, lastRev                                       string
}

// buildQueries writes the statements once. Keys compare as text in the C
// collation, which is byte order, the order List promises.
func buildQueries(t table, watchable bool) queries {
	key := "t." + pgx.Identifier{t.key}.Sanitize() + "::text"
	value := "row_to_json(t)::text"
	if t.value != "" {
		value = "t." + pgx.Identifier{t.value}.Sanitize() + "::text"
	}
	changes := pgx.Identifier{t.schema, "kiln_changes"}.Sanitize()
	rev := "0::bigint"
	if watchable {
		rev = fmt.Sprintf("coalesce((SELECT max(c.rev) FROM %s c WHERE c.tbl = %s AND c.key = %s), 0)", changes, quoteLiteral(t.logName()), key)
	}
	sel := fmt.Sprintf("SELECT %s, %s, %s FROM %s t", key, value, rev, t.qualified())
	order := fmt.Sprintf(" ORDER BY %s COLLATE \"C\"", key)
	prefix := fmt.Sprintf(" WHERE starts_with(%s, $1)", key)
	return queries{
		get:         sel + fmt.Sprintf(" WHERE %s = $1 LIMIT 1", key),
		getMany:     sel + fmt.Sprintf(" WHERE %s = ANY($1::text[])", key),
		list:        sel + prefix + order + " LIMIT $2",
		listReverse: sel + prefix + order + " DESC LIMIT $2",
		listAfter:   sel + prefix + fmt.Sprintf(" AND %s COLLATE \"C\" > $3", key) + order + " LIMIT $2",
		listBefore:  sel + prefix + fmt.Sprintf(" AND %s COLLATE \"C\" < $3", key) + order + " DESC LIMIT $2",
		// The latest change of each key after $2, with the current value,
		// in revision order. A missing row is a delete (e.g. TRUNCATE).
		changes: fmt.Sprintf(`SELECT c.rev, c.key, c.deleted OR t IS NULL, %s
			FROM (SELECT DISTINCT ON (key) rev, key, deleted FROM %s WHERE tbl = $1 AND rev > $2 ORDER BY key, rev DESC) c
			LEFT JOIN %s t ON %s = c.key ORDER BY c.rev LIMIT $3`, value, changes, t.qualified(), key),
		lastRev: fmt.Sprintf("SELECT coalesce(max(rev), 0) FROM %s WHERE tbl = $1", changes),
	}
}

func (s *source) Get(ctx context.Context, key string) (plugin.Item, bool, error) {
	if s.pool == nil {
		return plugin.Item{}, false, errNotConfigured
	}
	col, ok := s.colKey(key)
	if !ok {
		return plugin.Item{}, false, nil
	}
	var items []plugin.Item
	err := s.retry(ctx, func() (err error) {
		items, err = s.query(ctx, s.q.get, col)
		return err
	})
	if err != nil || len(items) == 0 {
		return plugin.Item{}, false, err
	}
	return items[0], true, nil
}

// GetMany reads every key in one query and returns one item per key, in
// the order of keys.
func (s *source) GetMany(ctx context.Context, keys []string) ([]plugin.Item, []bool, error) {
	if s.pool == nil {
		return nil, nil, errNotConfigured
	}
	cols := make([]string, 0, len(keys))
	for _, k := range keys {
		if col, ok := s.colKey(k); ok {
			cols = append(cols, col)
		}
	}
	var rows []plugin.Item
	if len(cols) > 0 {
		err := s.retry(ctx, func() (err error) {
			rows, err = s.query(ctx, s.q.getMany, cols)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
	}
	byKey := make(map[string]plugin.Item, len(rows))
	for _, it := range rows {
		byKey[it.Key] = it
	}
	items, found := make([]plugin.Item, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		items[i], found[i] = byKey[k]
	}
	return items, found, nil
}

func (s *source) List(ctx context.Context, req plugin.ListRequest) (plugin.ListPage, error) {
	if s.pool == nil {
		return plugin.ListPage{}, errNotConfigured
	}
	sql, args, ok, err := s.listQuery(req)
	if err != nil || !ok {
		return plugin.ListPage{}, err
	}
	var items []plugin.Item
	err = s.retry(ctx, func() (err error) {
		items, err = s.query(ctx, sql, args...)
		return err
	})
	if err != nil {
		return plugin.ListPage{}, err
	}
	limit := args[1].(int)
	var page plugin.ListPage
	if len(items) == limit {
		items = items[:limit-1]
		page.Next = encodeCursor(items[len(items)-1].Key)
	}
	page.Items = items
	return page, nil
}

// listQuery picks the statement and arguments for req; ok is false when no
// key can match the prefix. The limit asked of the database is one more
// than the page, to learn whether another page follows.
func (s *source) listQuery(req plugin.ListRequest) (string, []any, bool, error) {
	prefix, ok := s.columnPrefix(req.Prefix)
	if !ok {
		return "", nil, false, nil
	}
	limit := min(max(req.Limit, 1), maxLimit) + 1
	if req.Cursor == "" {
		if req.Reverse {
			return s.q.listReverse, []any{prefix, limit}, true, nil
		}
		return s.q.list, []any{prefix, limit}, true, nil
	}
	after, err := decodeCursor(req.Cursor)
	if err != nil {
		return "", nil, false, err
	}
	col, ok := s.colKey(after)
	if !ok {
		return "", nil, false, errCursor
	}
	if req.Reverse {
		return s.q.listBefore, []any{prefix, limit, col}, true, nil
	}
	return s.q.listAfter, []any{prefix, limit, col}, true, nil
}

// columnPrefix maps a key prefix to a key-column prefix.
func (s *source) columnPrefix(p string) (string, bool) {
	if rest, ok := strings.CutPrefix(p, s.prefix); ok {
		return rest, true
	}
	return "", strings.HasPrefix(s.prefix, p)
}

func (s *source) query(ctx context.Context, sql string, args ...any) ([]plugin.Item, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (plugin.Item, error) {
		var it plugin.Item
		var value *string
		var rev int64
		if err := row.Scan(&it.Key, &value, &rev); err != nil {
			return it, err
		}
		it.Key, it.Revision = s.fullKey(it.Key), uint64(rev)
		if value != nil {
			it.Value = []byte(*value)
		} else {
			it.Value = []byte("null")
		}
		return it, nil
	})
}

// retry runs a read once more when its connection failed (dropped, or
// ended by the server with a FATAL error) rather than the SQL; the pool
// then dials a fresh connection.
func (s *source) retry(ctx context.Context, read func() error) error {
	err := read()
	var pgErr *pgconn.PgError
	if err == nil || ctx.Err() != nil || errors.As(err, &pgErr) && pgErr.Severity != "FATAL" {
		return err
	}
	return read()
}

// errCursor is returned for a cursor this plugin did not hand out.
var errCursor = errors.New("postgres: invalid cursor")

// A cursor is "k" + base64url of the last key returned.
func encodeCursor(key string) string {
	return "k" + base64.RawURLEncoding.EncodeToString([]byte(key))
}

func decodeCursor(c string) (string, error) {
	if !strings.HasPrefix(c, "k") {
		return "", errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c[1:])
	if err != nil {
		return "", errCursor
	}
	return string(b), nil
}
