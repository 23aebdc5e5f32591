"""Feedback from landing into processed: every event (verified or not, for analytics) into processed.feedback,
then the online evaluation per day, published version and source (verified feedback only)."""

from __future__ import annotations

from .steps import Statement


def feedback_steps() -> list[Statement]:
    return [
        Statement("processed.feedback", """
            INSERT INTO processed.feedback (event_id, user_name, anime_id, action, verified, token_status, source,
                                            model_version, surface, position, created_at)
            SELECT f.event_id, lower(btrim(f.user_name)), f.anime_id, f.action,
                   coalesce((f.context ->> 'verified')::boolean, false), f.context ->> 'token_status',
                   CASE WHEN coalesce((f.context ->> 'verified')::boolean, false)
                        THEN coalesce(f.context ->> 'source', 'unverified') ELSE 'unverified' END,
                   f.context ->> 'model_version', f.context ->> 'surface',
                   CASE WHEN jsonb_typeof(f.context -> 'position') = 'number'
                        THEN (f.context ->> 'position')::numeric::integer END,
                   f.created_at
            FROM landing.feedback f
            ON CONFLICT (event_id) DO NOTHING;
            ANALYZE processed.feedback;"""),
        Statement("processed.online_evaluation", """
            DELETE FROM processed.online_evaluation;  -- not TRUNCATE: readers keep a consistent snapshot
            INSERT INTO processed.online_evaluation (day, model_version, source, clicks, likes, dislikes, users,
                                                     like_rate)
            SELECT (created_at AT TIME ZONE 'UTC')::date, coalesce(model_version, 'unknown'), source,
                   count(*) FILTER (WHERE action = 'click'), count(*) FILTER (WHERE action = 'like'),
                   count(*) FILTER (WHERE action = 'dislike'), count(DISTINCT user_name),
                   count(*) FILTER (WHERE action = 'like')::float8
                       / nullif(count(*) FILTER (WHERE action IN ('like', 'dislike')), 0)
            FROM processed.feedback WHERE verified
            GROUP BY 1, 2, 3;"""),
    ]
