"""Feedback from landing into processed.feedback and processed.online_evaluation; HTML entities in landed titles
cleaned by the ETL."""

import datetime as dt
import json

import pytest

from animerec.common import db
from animerec.etl import runner
from animerec.etl.feedback import feedback_steps

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def event(i, user, action, verified, source="fold_in", version="v7"):
    ctx = {"surface": "web", "position": i % 5, "verified": verified,
           "token_status": "ok" if verified else "forged", "source": source if verified else "unverified",
           "model_version": version}
    return (f"e-{i:04d}", user, 100 + i, action, json.dumps(ctx), NOW)


def test_feedback_tables(etl_db):
    rows = [event(1, "Alice", "like", True), event(2, "alice", "dislike", True), event(3, "Bob", "like", True),
            event(4, "Bob", "click", True, source="model"), event(5, "Mallory", "dislike", False),
            event(6, "Bob", "like", True, version="v8")]
    with db.connect(etl_db) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO landing.feedback (event_id, user_name, anime_id, action, context, created_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s)", rows)
        for _ in range(2):  # idempotent: a second run adds nothing
            runner._execute(conn, "feedback", feedback_steps())
        fb = conn.execute("SELECT event_id, user_name, verified, source, position FROM processed.feedback "
                          "ORDER BY event_id").fetchall()
        online = conn.execute("SELECT model_version, source, clicks, likes, dislikes, users, like_rate "
                              "FROM processed.online_evaluation ORDER BY 1, 2").fetchall()
    assert len(fb) == 6 and fb[1][1] == "alice" and fb[4][2:4] == (False, "unverified") and fb[0][4] == 1
    assert online == [("v7", "fold_in", 0, 2, 1, 2, 2 / 3), ("v7", "model", 1, 0, 0, 1, None),
                      ("v8", "fold_in", 0, 1, 0, 1, 1.0)]  # Mallory's forged dislike counts nowhere


@pytest.mark.parametrize("raw, clean", [
    ("Black Lagoon: Roberta&#039;s Blood Trail", "Black Lagoon: Roberta's Blood Trail"),
    ("Roberta&amp;#039;s", "Roberta's"), ("&quot;Odd&quot; &amp; Co", '"Odd" & Co'),
    ("Girls & Panzer", "Girls & Panzer"), ("a &#x2014; b", "a \u2014 b"), (None, None)])
def test_html_unescape_in_sql(etl_db, raw, clean):
    with db.connect(etl_db) as conn:
        assert conn.execute("SELECT etl.html_unescape(%s)", (raw,)).fetchone()[0] == clean


def test_report_online(etl_db):
    from animerec.etl import report
    rows = [event(1, "Alice", "like", True), event(2, "Bob", "dislike", True), event(3, "Bob", "click", True)]
    with db.connect(etl_db) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO landing.feedback (event_id, user_name, anime_id, action, context, created_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s)", rows)
        runner._execute(conn, "feedback", feedback_steps())
        table = report.rows(conn, 36500)
    metrics = ('animerec_api_online_events_total{event="impression",source="fold_in",version="v7"} 40.0\n'
               'animerec_api_online_events_total{event="click",source="fold_in",version="v7"} 1.0\n')
    text = report.render(table, report.impressions(metrics))
    assert "| v7 | fold_in | 40 | 1 | 2.50% | 1 | 1 | 50.0% |" in text


def test_report_online_prefers_the_streaming_jobs_live_counts(etl_db):
    from animerec.etl import report
    minute = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
    with db.connect(etl_db) as conn:
        conn.execute("INSERT INTO processed.stream_online_metrics VALUES (%s, 'v9', 'model', 3, 2, 1), "
                     "(%s, 'v9', 'model', 1, 0, 0), (%s, 'v9', 'unverified', 50, 50, 0), "
                     "(%s, 'v1', 'model', 7, 7, 7)",
                     (minute, minute - dt.timedelta(minutes=1), minute, minute - dt.timedelta(days=40)))
        try:
            table = report.rows(conn, 30)
        finally:
            conn.execute("DELETE FROM processed.stream_online_metrics")
            conn.commit()
    assert table == [("v9", "model", 4, 2, 1, None)]  # forged feedback and rows outside the window left out
