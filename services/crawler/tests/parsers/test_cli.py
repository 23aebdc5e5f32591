"""`animerec parse PATH --url URL [--type T]` via click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from animerec.crawler.parsers.cli import parse

PROFILE = "aqua/src/test/resources/parsing/profile.html"


def test_prints_items_as_json_lines(mal_fixtures: Path) -> None:
    result = CliRunner().invoke(parse, [str(mal_fixtures / "MyAnimeList-Database/data/html/1/details.html"),
                                        "--url", "https://myanimelist.net/anime/1",
                                        "--crawled-at", "2021-02-20T00:00:00Z"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["anime"] * 4
    items = [line["item"] for line in lines]
    assert [item["item_type"] for item in items] == ["anime_info"] + ["anime_related"] * 3
    assert items[0]["title"] == "Cowboy Bebop" and items[0]["type"] == "TV"
    assert items[0]["crawled_at"] == "2021-02-20T00:00:00Z"
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["status"] == "ok" and "https://myanimelist.net/anime/5" in summary["links"]


def test_type_overrides_url(mal_fixtures: Path) -> None:
    result = CliRunner().invoke(parse, [str(mal_fixtures / "MyAnimeList-Database/data/html/1/stats.html"),
                                        "--url", "https://myanimelist.net/anime/1/_/stats?redirected=1",
                                        "--type", "anime_stats"])
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["type"] == "anime_stats" and line["item"]["total_count"] == 1251960


def test_reads_stdin_and_reports_status(mal_fixtures: Path) -> None:
    body = (mal_fixtures / "mal-scraper/tests/mal_scraper/manual_responses/user_anime_list_end").read_bytes()
    result = CliRunner().invoke(parse, ["-", "--url", "https://myanimelist.net/animelist/a_b/load.json?offset=300"],
                                input=body)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(result.stderr)["status"] == "empty"


def test_failure_exits_non_zero_with_the_parse_error(mal_fixtures: Path) -> None:
    garbled = mal_fixtures / "mal-scraper/tests/mal_scraper/manual_responses/garbled_user_page"
    result = CliRunner().invoke(parse, [str(garbled), "--url", "https://myanimelist.net/profile/someone"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "cannot parse profile page https://myanimelist.net/profile/someone" in result.stderr
    unknown = CliRunner().invoke(parse, [str(mal_fixtures / PROFILE), "--url", "https://example.org/x"])
    assert unknown.exit_code == 1 and "unknown page type" in unknown.stderr
    bad_type = CliRunner().invoke(parse, [str(mal_fixtures / PROFILE), "--url", "https://myanimelist.net/profile/a_b",
                                          "--type", "manga"])
    assert bad_type.exit_code == 2
