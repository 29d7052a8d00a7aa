package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel the triggers signal; the payload is
// "<schema>.<table> <rev>".
const Channel = "kiln_changes"

// installSQL creates, in the table's schema, the change log, the trigger
// function and the table's triggers. It is idempotent. The trigger takes an
// advisory transaction lock before taking a rev, so revs are handed out
// in commit order and a watcher that has seen rev N never later finds a
// smaller one committed.
const installSQL = `
SELECT pg_advisory_xact_lock(1802071151); -- one installer at a time
CREATE TABLE IF NOT EXISTS {schema}.kiln_changes (
	rev     bigserial PRIMARY KEY,
	tbl     text NOT NULL,
	key     text NOT NULL,
	deleted boolean NOT NULL,
	at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kiln_changes_tbl_key ON {schema}.kiln_changes (tbl, key, rev);

CREATE OR REPLACE FUNCTION {schema}.kiln_record_change() RETURNS trigger
LANGUAGE plpgsql AS $kiln$
DECLARE
	tbl     text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
	old_key text;
	new_key text;
	r       bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(1802071150); -- 'kiln': revs in commit order
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		EXECUTE format('SELECT ($1).%I::text', TG_ARGV[0]) USING OLD INTO old_key;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		EXECUTE format('SELECT ($1).%I::text', TG_ARGV[0]) USING NEW INTO new_key;
	END IF;
	IF old_key IS NOT NULL AND old_key IS DISTINCT FROM new_key THEN
		INSERT INTO {schema}.kiln_changes (tbl, key, deleted) VALUES (tbl, old_key, true) RETURNING rev INTO r;
	END IF;
	IF new_key IS NOT NULL THEN
		INSERT INTO {schema}.kiln_changes (tbl, key, deleted) VALUES (tbl, new_key, false) RETURNING rev INTO r;
	END IF;
	IF r IS NOT NULL THEN
		PERFORM pg_notify('kiln_changes', tbl || ' ' || r);
	END IF;
	RETURN NULL;
END
$kiln$;

DROP TRIGGER IF EXISTS kiln_changes ON {table};
CREATE TRIGGER kiln_changes AFTER INSERT OR DELETE ON {table}
	FOR EACH ROW EXECUTE FUNCTION {schema}.kiln_record_change({key});
DROP TRIGGER IF EXISTS kiln_changes_update ON {table};
CREATE TRIGGER kiln_changes_update AFTER UPDATE ON {table}
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION {schema}.kiln_record_change({key});
`

// InstallSQL returns the SQL that installs change tracking for a table,
// for a DBA to run by hand (with install_triggers = false).
func InstallSQL(schema, table, keyColumn string) string {
	return strings.NewReplacer(
		"{schema}", pgx.Identifier{schema}.Sanitize(),
		"{table}", pgx.Identifier{schema, table}.Sanitize(),
		"{key}", quoteLiteral(keyColumn),
	).Replace(installSQL)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// install runs InstallSQL in one transaction.
func install(ctx context.Context, pool *pgxpool.Pool, t table) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, InstallSQL(t.schema, t.name, t.key))
		return err
	})
}
