
SELECT pg_advisory_xact_lock(1802071151); -- one installer at a time
CREATE TABLE IF NOT EXISTS "public".kiln_changes (
	rev     bigserial PRIMARY KEY,
	tbl     text NOT NULL,
	key     text NOT NULL,
	deleted boolean NOT NULL,
	at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kiln_changes_tbl_key ON "public".kiln_changes (tbl, key, rev);

CREATE OR REPLACE FUNCTION "public".kiln_record_change() RETURNS trigger
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
		INSERT INTO "public".kiln_changes (tbl, key, deleted) VALUES (tbl, old_key, true) RETURNING rev INTO r;
	END IF;
	IF new_key IS NOT NULL THEN
		INSERT INTO "public".kiln_changes (tbl, key, deleted) VALUES (tbl, new_key, false) RETURNING rev INTO r;
	END IF;
	IF r IS NOT NULL THEN
		PERFORM pg_notify('kiln_changes', tbl || ' ' || r);
	END IF;
	RETURN NULL;
END
$kiln$;

DROP TRIGGER IF EXISTS kiln_changes ON "public"."posts";
CREATE TRIGGER kiln_changes AFTER INSERT OR DELETE ON "public"."posts"
	FOR EACH ROW EXECUTE FUNCTION "public".kiln_record_change('slug');
DROP TRIGGER IF EXISTS kiln_changes_update ON "public"."posts";
CREATE TRIGGER kiln_changes_update AFTER UPDATE ON "public"."posts"
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION "public".kiln_record_change('slug');
