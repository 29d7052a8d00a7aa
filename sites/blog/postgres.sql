-- The example blog's data in PostgreSQL, for postgres.hcl: one row per
-- data key, the value as jsonb. Creates the table and loads data.json
-- (or any file genposts writes) into it, replacing rows with the same key:
--
--   psql -v data="$(cat sites/blog/data.json)" -f sites/blog/postgres.sql \
--        postgres://postgres@127.0.0.1:5432/test
--
-- The postgres plugin installs triggers on the table, so later INSERTs,
-- UPDATEs and DELETEs regenerate the pages that read the changed rows.
CREATE TABLE IF NOT EXISTS blog_items (
  key   text PRIMARY KEY COLLATE "C", -- byte order, as Kiln lists keys
  value jsonb NOT NULL
);

INSERT INTO blog_items (key, value)
SELECT key, value FROM jsonb_each(:'data'::jsonb)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
