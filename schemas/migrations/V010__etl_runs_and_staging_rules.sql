-- ETL bookkeeping and working area, and a staging area whose rules are checked by Great Expectations.
CREATE SCHEMA IF NOT EXISTS etl;

-- One row per `animerec etl run`: what each step produced and, when validation failed, why.
CREATE TABLE IF NOT EXISTS etl.runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'promoted', 'failed_validation', 'error')),
    row_counts   jsonb NOT NULL DEFAULT '{}',
    validation   jsonb,
    error        text
);

-- Staging is scratch space that each run rebuilds and the expectation suites then check (unique keys,
-- ranges, allowed values, not-null, referential integrity). Its keys and checks move from the table
-- definitions into those suites, so a defect becomes a readable validation report instead of an error
-- halfway through a run. processed.* keeps every constraint (it was created LIKE staging in V003), as a
-- last guard at promotion. staging.user_ids is not scratch: it keeps its keys (stable user ids).
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.conrelid::regclass AS tbl, c.conname
        FROM pg_constraint c
        WHERE c.connamespace = 'staging'::regnamespace
          AND c.conrelid <> 'staging.user_ids'::regclass
          AND c.contype IN ('p', 'u', 'c')
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    FOR r IN
        SELECT table_name, column_name
        FROM information_schema.columns
        WHERE table_schema = 'staging' AND table_name <> 'user_ids' AND is_nullable = 'NO'
    LOOP
        EXECUTE format('ALTER TABLE staging.%I ALTER COLUMN %I DROP NOT NULL', r.table_name, r.column_name);
    END LOOP;
END $$;

-- The expectation suites look pairs and ids up in these.
CREATE INDEX IF NOT EXISTS staging_user_anime_key_idx ON staging.user_anime (user_id, anime_id);
CREATE INDEX IF NOT EXISTS staging_anime_key_idx ON staging.anime (anime_id);
CREATE INDEX IF NOT EXISTS staging_user_key_idx ON staging."user" (user_id);
