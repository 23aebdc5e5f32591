"""The demo's terminal: one line per stage off a terminal, the showcase's user choice and layout."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from animerec.devkit import showcase
from animerec.devkit.console import RichReporter


def test_off_a_terminal_each_stage_prints_one_line():
    buffer = io.StringIO()
    reporter = RichReporter(Console(file=buffer, width=140, force_terminal=False))
    with reporter.stage("crawl profiles") as row:
        for done in range(0, 1001, 50):
            row.update(done=done, total=1000, detail="crawling")
        row.update(detail="1,000/1,000 profiles crawled")
    with pytest.raises(RuntimeError), reporter.stage("etl") as row:
        raise RuntimeError("boom")
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2
    assert "crawl profiles" in lines[0] and "1,000/1,000" in lines[0] and "profiles crawled" in lines[0]
    assert "etl" in lines[1] and "failed" in lines[1]


def test_examples_spread_over_favourite_genres_and_show_what_the_api_serves():
    candidates = [("user1", "Action"), ("user2", "Action"), ("user3", "Romance"), ("user4", "Comedy"),
                  ("user5", "Drama")]

    def sql(query, params=()):
        if "favourite" in query:
            return candidates
        return [("Steins;Gate", 10), ("Clannad", 9)]

    served = {"user1": [{"title": "Gintama", "reason": "because you liked Steins;Gate"}],
              "user3": [], "user4": [{"title": "Toradora!", "reason": None}]}

    def get(path):
        assert path.endswith("/recommendations?n=20&sample=5")  # what the web page asks
        user = path.split("/")[3]
        return (200, {"items": served[user]}) if user in served else (404, {})

    assert showcase.choose_users(sql, 3) == [("user1", "Action"), ("user3", "Romance"), ("user4", "Comedy")]
    found = showcase.examples(sql, get)
    assert [e.user for e in found] == ["user1", "user4"]  # user3 got nothing to show
    assert found[0].picks == [("Gintama", "because you liked Steins;Gate")]
    assert found[0].top_rated == [("Steins;Gate", 10), ("Clannad", 9)]
    buffer = io.StringIO()
    Console(file=buffer, width=140).print(showcase.render(found))
    text = buffer.getvalue()
    assert "user1 (loves Action)" in text and "Gintama" in text and "Steins;Gate" in text


def test_evaluation_table_keeps_the_metrics_and_the_decision():
    from animerec.devkit.cli import evaluation_table
    report = ("# user -> anime models\n\n| model | ndcg@20 |\n|---|---|\n| listwise | 0.31 |\n\n"
              "**Published:** listwise (promoted): beats als\n\nTuned on validation:\n\n- als: factors=64\n- a note\n")
    assert evaluation_table(report) == ("| model | ndcg@20 |\n|---|---|\n| listwise | 0.31 |\n\n"
                                        "Published: listwise (promoted): beats als")
