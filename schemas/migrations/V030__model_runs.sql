-- Outputs of the recommendation pipelines: one row per pipeline run (with its metrics, report and
-- promotion decision) and the ranked lists it produced. `animerec publish` copies the lists of the
-- latest promoted run of each pipeline to Redis.
CREATE SCHEMA IF NOT EXISTS models;

CREATE TABLE IF NOT EXISTS models.runs (
    run_id      text PRIMARY KEY,
    pipeline    text NOT NULL CHECK (pipeline IN ('user_anime', 'anime_anime')),
    model       text NOT NULL,
    promoted    boolean NOT NULL,
    decision    jsonb NOT NULL,
    metrics     jsonb NOT NULL,
    report      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS models_runs_latest_idx ON models.runs (pipeline, promoted, created_at DESC);

CREATE TABLE IF NOT EXISTS models.user_recommendations (
    run_id      text NOT NULL REFERENCES models.runs ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    rank        integer NOT NULL CHECK (rank >= 1),
    anime_id    integer NOT NULL,
    score       real NOT NULL,
    PRIMARY KEY (run_id, user_id, rank)
);

CREATE TABLE IF NOT EXISTS models.similar_anime (
    run_id      text NOT NULL REFERENCES models.runs ON DELETE CASCADE,
    anime_id    integer NOT NULL,
    rank        integer NOT NULL CHECK (rank >= 1),
    similar_id  integer NOT NULL,
    score       real NOT NULL,
    PRIMARY KEY (run_id, anime_id, rank)
);
