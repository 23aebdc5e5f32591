-- Crawl schedule: one row per anime or profile URL the crawler knows about.
-- The scheduler picks rows by the policy in services/scheduler; these indexes serve that query.
CREATE TABLE IF NOT EXISTS anime_schedule (
    url                 text PRIMARY KEY,
    last_scheduled_date timestamptz,
    scheduled_count     integer NOT NULL DEFAULT 0 CHECK (scheduled_count >= 0),
    last_crawled_date   timestamptz,
    crawled_count       integer NOT NULL DEFAULT 0 CHECK (crawled_count >= 0),
    last_inspected_date timestamptz,
    inspected_count     integer NOT NULL DEFAULT 0 CHECK (inspected_count >= 0),
    error_count         integer NOT NULL DEFAULT 0 CHECK (error_count >= 0),  -- consecutive failures
    last_error          text,
    last_error_date     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS profile_schedule (LIKE anime_schedule INCLUDING ALL);

-- Never-scheduled URLs come first: a partial index keeps that scan small.
CREATE INDEX IF NOT EXISTS anime_schedule_never_idx ON anime_schedule (created_at) WHERE last_scheduled_date IS NULL;
CREATE INDEX IF NOT EXISTS profile_schedule_never_idx ON profile_schedule (created_at) WHERE last_scheduled_date IS NULL;
-- Then longest since crawled, most recently and most often inspected.
CREATE INDEX IF NOT EXISTS anime_schedule_order_idx
    ON anime_schedule (last_crawled_date ASC NULLS FIRST, last_inspected_date DESC NULLS LAST, inspected_count DESC);
CREATE INDEX IF NOT EXISTS profile_schedule_order_idx
    ON profile_schedule (last_crawled_date ASC NULLS FIRST, last_inspected_date DESC NULLS LAST, inspected_count DESC);
