-- Feedback from the API, processed: one row per event (verified or not), and online evaluation per day,
-- published version and source. Built by `animerec etl run` from landing.feedback (etl/feedback.py).
-- Also an unescape function for HTML character references left in crawled text (titles landed before the
-- crawler's parsers unescaped them).

CREATE OR REPLACE FUNCTION etl.html_unescape(t text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m text[];
    pass integer;
BEGIN
    IF t IS NULL OR strpos(t, '&') = 0 THEN
        RETURN t;
    END IF;
    FOR pass IN 1..2 LOOP  -- twice: MAL escapes some text twice ("&amp;#039;")
        t := replace(replace(replace(replace(replace(replace(t,
                 '&quot;', '"'), '&apos;', ''''), '&lt;', '<'), '&gt;', '>'), '&nbsp;', chr(160)), '&amp;', '&');
        FOR m IN SELECT regexp_matches(t, '&#([0-9]{1,7});', 'g') LOOP
            IF m[1]::integer BETWEEN 1 AND 1114111 AND NOT m[1]::integer BETWEEN 55296 AND 57343 THEN
                t := replace(t, '&#' || m[1] || ';', chr(m[1]::integer));
            END IF;
        END LOOP;
        FOR m IN SELECT regexp_matches(t, '&#[xX]([0-9a-fA-F]{1,6});', 'g') LOOP
            t := replace(replace(t, '&#x' || m[1] || ';', chr(('x' || lpad(m[1], 8, '0'))::bit(32)::integer)),
                         '&#X' || m[1] || ';', chr(('x' || lpad(m[1], 8, '0'))::bit(32)::integer));
        END LOOP;
    END LOOP;
    RETURN t;
END $$;

CREATE TABLE IF NOT EXISTS processed.feedback (
    event_id        text PRIMARY KEY,
    user_name       text NOT NULL,
    anime_id        integer NOT NULL,
    action          text NOT NULL CHECK (action IN ('like', 'dislike', 'click')),
    verified        boolean NOT NULL,
    token_status    text,
    source          text NOT NULL,
    model_version   text,
    surface         text,
    position        integer,
    created_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS processed_feedback_user_idx ON processed.feedback (user_name, created_at);

CREATE TABLE IF NOT EXISTS processed.online_evaluation (
    day             date NOT NULL,
    model_version   text NOT NULL,
    source          text NOT NULL,
    clicks          bigint NOT NULL,
    likes           bigint NOT NULL,
    dislikes        bigint NOT NULL,
    users           bigint NOT NULL,
    like_rate       double precision,
    PRIMARY KEY (day, model_version, source)
);

COMMENT ON TABLE processed.feedback IS 'One row per feedback event from the API or the web page (landing.feedback), tokenless and forged ones included for analytics; only verified rows changed lists and train models.';
COMMENT ON COLUMN processed.feedback.event_id IS 'Event id the API gave the feedback';
COMMENT ON COLUMN processed.feedback.user_name IS 'MAL user name, lower-cased (MAL names are case-insensitive)';
COMMENT ON COLUMN processed.feedback.anime_id IS 'MyAnimeList anime id the feedback is about';
COMMENT ON COLUMN processed.feedback.action IS 'like (more like this), dislike (not for me: hidden), click (card opened)';
COMMENT ON COLUMN processed.feedback.verified IS 'true: it carried a valid, unexpired, unused token issued to this user, so it changed the user''s lists; training uses verified rows only';
COMMENT ON COLUMN processed.feedback.token_status IS 'ok, missing, malformed, forged, expired, other_user or replayed';
COMMENT ON COLUMN processed.feedback.source IS 'Source of the answer that showed the anime (model, fold_in, recent_completed, trending, popular); unverified without a valid token';
COMMENT ON COLUMN processed.feedback.model_version IS 'Published version that showed the anime (from the token when verified, else as the client said)';
COMMENT ON COLUMN processed.feedback.surface IS 'web (the page) or api';
COMMENT ON COLUMN processed.feedback.position IS 'Position of the card in what the user saw (0 first)';
COMMENT ON COLUMN processed.feedback.created_at IS 'When the API received the feedback';
COMMENT ON TABLE processed.online_evaluation IS 'Online evaluation: verified clicks, likes and dislikes per day, published version and source (impressions are the Prometheus counter animerec_api_online_events_total{event="impression"}).';
COMMENT ON COLUMN processed.online_evaluation.day IS 'UTC day of the feedback';
COMMENT ON COLUMN processed.online_evaluation.model_version IS 'Published version that served the anime';
COMMENT ON COLUMN processed.online_evaluation.source IS 'Source of the answer: model, fold_in, recent_completed, trending or popular';
COMMENT ON COLUMN processed.online_evaluation.clicks IS 'Verified clicks';
COMMENT ON COLUMN processed.online_evaluation.likes IS 'Verified likes';
COMMENT ON COLUMN processed.online_evaluation.dislikes IS 'Verified dislikes (not for me)';
COMMENT ON COLUMN processed.online_evaluation.users IS 'Distinct users who gave verified feedback';
COMMENT ON COLUMN processed.online_evaluation.like_rate IS 'likes / (likes + dislikes); null without either';
