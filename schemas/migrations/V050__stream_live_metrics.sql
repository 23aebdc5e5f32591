-- Written by the streaming job (services/stream, PyFlink) through its JDBC upsert sinks; it owns these tables.
-- Rows are per minute of event time (UTC) and are upserted with the running totals from the job's checkpointed
-- state, so a restart from a checkpoint rewrites the same totals: every event counts once.

CREATE TABLE IF NOT EXISTS processed.stream_online_metrics (
    minute_utc     timestamp   NOT NULL,
    model_version  text        NOT NULL,
    source         text        NOT NULL,
    clicks         bigint      NOT NULL DEFAULT 0,
    likes          bigint      NOT NULL DEFAULT 0,
    dislikes       bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (minute_utc, model_version, source)
);

CREATE TABLE IF NOT EXISTS processed.stream_event_counts (
    minute_utc  timestamp  NOT NULL,
    kind        text       NOT NULL,   -- trend, feedback, poison
    reason      text       NOT NULL,   -- poison: json, schema, timestamp, empty, unknown_anime; else ''
    events      bigint     NOT NULL,
    PRIMARY KEY (minute_utc, kind, reason)
);

COMMENT ON TABLE processed.stream_online_metrics IS
    'Live online metrics from the streaming job: clicks, likes and dislikes per minute (UTC, event time), published '
    'model version and answer source. Impressions are counted by the API (animerec_api_online_events_total).';
COMMENT ON TABLE processed.stream_event_counts IS
    'Events the streaming job read per minute (UTC, event time): trend signals, feedback and poison by reason.';
COMMENT ON COLUMN processed.stream_online_metrics.minute_utc IS 'Minute of the feedback events (event time, UTC)';
COMMENT ON COLUMN processed.stream_online_metrics.model_version IS 'Published version that served the answer';
COMMENT ON COLUMN processed.stream_online_metrics.source IS 'Answer source: model, fold_in, recent_completed, ...';
COMMENT ON COLUMN processed.stream_online_metrics.clicks IS 'Cards opened';
COMMENT ON COLUMN processed.stream_online_metrics.likes IS 'Likes';
COMMENT ON COLUMN processed.stream_online_metrics.dislikes IS '"Not for me"';
COMMENT ON COLUMN processed.stream_event_counts.minute_utc IS 'Minute of the events (event time, UTC)';
COMMENT ON COLUMN processed.stream_event_counts.kind IS 'trend, feedback or poison';
COMMENT ON COLUMN processed.stream_event_counts.reason IS 'Why a poison event was skipped; empty otherwise';
COMMENT ON COLUMN processed.stream_event_counts.events IS 'Events counted';
