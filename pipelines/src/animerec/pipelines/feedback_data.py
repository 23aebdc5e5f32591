"""Verified feedback from the API as training signal: a like is a positive (score 10, completed), a "not for me"
a negative (score 1, dropped), overriding what the list said. Unverified feedback (no valid token) is never used.

Hook: `world_from_postgres` can call `apply_feedback(inter, load_feedback(conn))` before normalising."""

from __future__ import annotations

import pandas as pd

COLUMNS = ["user_id", "anime_id", "action", "ts"]


def load_feedback(conn) -> pd.DataFrame:
    """The latest verified like or dislike per (user, anime) of users in processed.user."""
    rows = conn.execute("""
        SELECT DISTINCT ON (u.user_id, f.anime_id) u.user_id, f.anime_id, f.action, f.created_at
        FROM processed.feedback f JOIN processed."user" u ON u.user_name = f.user_name
        WHERE f.verified AND f.action IN ('like', 'dislike')
        ORDER BY u.user_id, f.anime_id, f.created_at DESC, f.event_id DESC""").fetchall()
    return pd.DataFrame(rows, columns=COLUMNS)


def apply_feedback(interactions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Interactions (user_id, anime_id, score, status, ts) with feedback folded in: likes as positives,
    dislikes as negatives; the feedback row replaces the list's row for the same (user, anime)."""
    if feedback.empty:
        return interactions
    like = feedback["action"] == "like"
    rows = pd.DataFrame({"user_id": feedback["user_id"].astype("int64"),
                         "anime_id": feedback["anime_id"].astype("int64"),
                         "score": like.map({True: 10.0, False: 1.0}).astype("float64"),
                         "status": like.map({True: "completed", False: "dropped"}).astype(object),
                         "ts": pd.to_datetime(feedback["ts"], utc=True)})
    keep = ~interactions.set_index(["user_id", "anime_id"]).index.isin(rows.set_index(["user_id", "anime_id"]).index)
    return pd.concat([interactions[keep], rows[[c for c in interactions.columns if c in rows]]],
                     ignore_index=True)
