// Package postgres is a Kiln data source serving the rows of a PostgreSQL
// table or view as items, one per row, keyed by a key column.
//
// Changes are recorded by triggers into a change-log table, kiln_changes,
// in the table's schema (the plugin installs them unless told not to).
// Each change gets the next rev of a sequence, which is the item's
// revision, and a NOTIFY on channel kiln_changes wakes the plugin. Watch
// catches up from the log after any revision, so changes made while the
// plugin or its connection was away are not lost.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kilnhq/kiln/sdk/plugin"
)

var errNotConfigured = errors.New("postgres: not configured")

var (
	_ plugin.Source      = (*source)(nil)
	_ plugin.BatchGetter = (*source)(nil)
)

type source struct {
	log hclog.Logger

	// Set once by Configure.
	pool      *pgxpool.Pool
	listen    *pgx.ConnConfig // for the LISTEN connection
	tbl       table
	prefix    string // key prefix
	watchable bool   // the schema has a kiln_changes table
	q         queries
}

// New returns an unconfigured postgres source.
func New() plugin.Source {
	return &source{log: plugin.Logger().Named("postgres")}
}

func (s *source) Capabilities() plugin.Capabilities {
	return plugin.Capabilities{Watch: true}
}

func (s *source) Schema() plugin.Schema {
	return plugin.Schema{Attributes: []plugin.Attribute{
		{Name: "dsn", Type: plugin.TypeString, Required: true, Description: "connection string (postgres://... or key=value)"},
		{Name: "table", Type: plugin.TypeString, Required: true, Description: "table or view, optionally schema-qualified"},
		{Name: "key_column", Type: plugin.TypeString, Required: true, Description: "column whose text is the item key"},
		{Name: "value_column", Type: plugin.TypeString, Description: "json, jsonb or text column holding the value; default: the whole row as JSON"},
		{Name: "key_prefix", Type: plugin.TypeString, Description: "prefix added to every key"},
		{Name: "install_triggers", Type: plugin.TypeBool, Description: "install the change-log table and triggers; default true"},
	}}
}

// settings is the decoded config block.
type settings struct {
	DSN             string `json:"dsn"`
	Table           string `json:"table"`
	KeyColumn       string `json:"key_column"`
	ValueColumn     string `json:"value_column"`
	KeyPrefix       string `json:"key_prefix"`
	InstallTriggers *bool  `json:"install_triggers"`
}

func parseSettings(config []byte) (settings, plugin.Diagnostics) {
	var st settings
	if err := json.Unmarshal(config, &st); err != nil {
		return st, diag("", "invalid config", err.Error())
	}
	var ds plugin.Diagnostics
	for _, req := range []struct{ name, value string }{{"dsn", st.DSN}, {"table", st.Table}, {"key_column", st.KeyColumn}} {
		if req.value == "" {
			ds = append(ds, diag(req.name, "missing required attribute", "")...)
		}
	}
	if st.InstallTriggers == nil {
		yes := true
		st.InstallTriggers = &yes
	}
	return st, ds
}

func diag(attr, summary, detail string) plugin.Diagnostics {
	return plugin.Diagnostics{{Severity: plugin.SeverityError, Summary: summary, Detail: detail, Attribute: attr}}
}

func (s *source) Configure(ctx context.Context, config []byte) plugin.Diagnostics {
	if s.pool != nil {
		return diag("", "already configured", "")
	}
	st, ds := parseSettings(config)
	if ds != nil {
		return ds
	}
	pool, ds := connect(ctx, st.DSN)
	if ds != nil {
		return ds
	}
	ds = s.setup(ctx, pool, st)
	if ds.HasErrors() {
		pool.Close()
		return ds
	}
	s.pool, s.listen, s.prefix = pool, pool.Config().ConnConfig.Copy(), st.KeyPrefix
	return ds
}

func connect(ctx context.Context, dsn string) (*pgxpool.Pool, plugin.Diagnostics) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, diag("dsn", "invalid connection string", err.Error())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unreachable(err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, unreachable(err)
	}
	return pool, nil
}

// unreachable is a transient diagnostic: the database may come back, and
// the engine retries.
func unreachable(err error) plugin.Diagnostics {
	ds := diag("dsn", "cannot connect", err.Error())
	ds[0].Transient = true
	return ds
}

// setup resolves the table and columns, installs the triggers if asked and
// checks the change log is there.
func (s *source) setup(ctx context.Context, pool *pgxpool.Pool, st settings) plugin.Diagnostics {
	tbl, ds := resolve(ctx, pool, st)
	if ds.HasErrors() {
		return ds
	}
	if *st.InstallTriggers {
		if tbl.view {
			return diag("install_triggers", "cannot install triggers on a view",
				"set install_triggers = false and record changes of the underlying tables into kiln_changes (see the plugin README)")
		}
		if err := install(ctx, pool, tbl); err != nil {
			return diag("install_triggers", "cannot install change triggers", err.Error())
		}
	}
	ok, err := hasChangeLog(ctx, pool, tbl.schema)
	if err != nil {
		return diag("table", "cannot look up kiln_changes", err.Error())
	}
	if !ok {
		ds = append(ds, plugin.Diagnostic{Severity: plugin.SeverityWarning, Summary: "changes are not watched",
			Detail: fmt.Sprintf("no kiln_changes table in schema %q; set install_triggers = true or create it", tbl.schema), Attribute: "install_triggers"})
	}
	s.tbl, s.watchable, s.q = tbl, ok, buildQueries(tbl, ok)
	return ds
}

// table is a resolved table or view and its columns.
type table struct {
	schema, name string
	key, value   string // value is "" for the whole row
	view         bool
}

// qualified is the table's quoted name for SQL.
func (t table) qualified() string { return pgx.Identifier{t.schema, t.name}.Sanitize() }

// logName is the name the triggers record in kiln_changes.tbl.
func (t table) logName() string { return t.schema + "." + t.name }

func resolve(ctx context.Context, pool *pgxpool.Pool, st settings) (table, plugin.Diagnostics) {
	var t table
	var kind string
	err := pool.QueryRow(ctx, `SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, st.Table).Scan(&t.schema, &t.name, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, diag("table", "no such table or view", st.Table)
	}
	if err != nil {
		return t, diag("table", "cannot look up table", err.Error())
	}
	t.view = kind == "v" || kind == "m"
	t.key, t.value = st.KeyColumn, st.ValueColumn
	var ds plugin.Diagnostics
	for _, c := range []struct{ attr, name string }{{"key_column", t.key}, {"value_column", t.value}} {
		if c.name == "" {
			continue
		}
		if err := checkColumn(ctx, pool, t, c.name); err != nil {
			ds = append(ds, diag(c.attr, "bad column", err.Error())...)
		}
	}
	return t, ds
}

func checkColumn(ctx context.Context, pool *pgxpool.Pool, t table, col string) error {
	var n int
	err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1)
		AND attname = $2 AND attnum > 0 AND NOT attisdropped`, t.qualified(), col).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s has no column %q", t.logName(), col)
	}
	return nil
}

func hasChangeLog(ctx context.Context, pool *pgxpool.Pool, schema string) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, pgx.Identifier{schema, "kiln_changes"}.Sanitize()).Scan(&ok)
	return ok, err
}

// Close closes the connection pool.
func (s *source) Close() error {
	if s.pool != nil {
		s.pool.Close()
	}
	return nil
}

// fullKey and colKey convert between item keys and key-column text.
func (s *source) fullKey(col string) string { return s.prefix + col }

func (s *source) colKey(key string) (string, bool) {
	return strings.CutPrefix(key, s.prefix)
}
