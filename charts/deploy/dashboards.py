"""Grafana dashboards as code: the operations and data dashboards of animerec.

The chart ships the generated JSON (charts/animerec/files/dashboards/*.json) in ConfigMaps labelled for the
Grafana sidecar; nobody edits that JSON by hand. Datasource uids are placeholders the chart replaces with
monitoring.dashboards.*DatasourceUid.

    PYTHONPATH=charts python -m deploy.dashboards           # regenerate the JSON files (make dashboards)
    PYTHONPATH=charts python -m deploy.dashboards --check   # fail when they differ from this code
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import generated

OUT = Path(__file__).resolve().parents[2] / "charts" / "animerec" / "files" / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "__PROMETHEUS_UID__"}
POSTGRES = {"type": "grafana-postgresql-datasource", "uid": "__POSTGRES_UID__"}
NS = 'namespace="$namespace"'
# Page statuses that count as crawl errors (the same matcher as the AnimerecCrawlErrorRateHigh alert).
CRAWL_ERRORS = 'status=~"parse_error|fetch_error|http_.*"'
WIDTH = 24


@dataclass
class Layout:
    """Places panels left to right, wrapping rows, so the code lists panels and never coordinates."""

    x: int = 0
    y: int = 0
    row_height: int = 0
    next_id: int = 1
    panels: list[dict[str, Any]] = field(default_factory=list)

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self.x + w > WIDTH:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel = {"id": self.next_id, "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h}, **panel}
        self.next_id += 1
        self.panels.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        self.panels.append({"id": self.next_id, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"x": 0, "y": self.y, "w": WIDTH, "h": 1}, "panels": []})
        self.next_id += 1
        self.y += 1


def prom(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": PROMETHEUS, "expr": expr, "legendFormat": legend, "range": True}


def sql(query: str, fmt: str = "table", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": POSTGRES, "rawSql": query, "format": fmt, "rawQuery": True,
            "editorMode": "code"}


def timeseries(title: str, targets: list[dict[str, Any]], unit: str = "short", description: str = "",
               stack: bool = False) -> dict[str, Any]:
    custom: dict[str, Any] = {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return {"type": "timeseries", "title": title, "description": description, "datasource": targets[0]["datasource"],
            "targets": targets, "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}}


def stat(title: str, target: dict[str, Any], unit: str = "short", description: str = "",
         thresholds: list[tuple[float | None, str]] | None = None) -> dict[str, Any]:
    steps = [{"value": v, "color": c} for v, c in (thresholds or [(None, "green")])]
    return {"type": "stat", "title": title, "description": description, "datasource": target["datasource"],
            "targets": [target],
            "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "none"}}


def table(title: str, target: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"type": "table", "title": title, "description": description, "datasource": target["datasource"],
            "targets": [target], "fieldConfig": {"defaults": {}, "overrides": []},
            "options": {"showHeader": True, "cellHeight": "sm"}}


def barchart(title: str, target: dict[str, Any], description: str = "", horizontal: bool = False) -> dict[str, Any]:
    return {"type": "barchart", "title": title, "description": description, "datasource": target["datasource"],
            "targets": [target], "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
            "options": {"orientation": "horizontal" if horizontal else "vertical", "showValue": "auto",
                        "legend": {"displayMode": "list", "placement": "bottom"}, "xTickLabelRotation": 0}}


def dashboard(uid: str, title: str, description: str, layout: Layout, variables: list[dict[str, Any]],
              time_from: str, tags: list[str]) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "description": description, "tags": tags, "editable": False,
        "schemaVersion": 39, "version": 1, "timezone": "utc", "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables}, "annotations": {"list": []}, "links": [],
        "panels": layout.panels,
    }


def namespace_variable() -> dict[str, Any]:
    return {"name": "namespace", "label": "namespace", "type": "query", "datasource": PROMETHEUS,
            "query": {"query": "label_values(animerec_api_requests_total, namespace)", "refId": "ns"},
            "definition": "label_values(animerec_api_requests_total, namespace)", "refresh": 2,
            "includeAll": False, "multi": False, "current": {}, "options": [], "sort": 1}


def rate(metric: str, by: str = "", window: str = "5m", extra: str = "") -> str:
    selector = f"{{{NS}{', ' + extra if extra else ''}}}"
    inner = f"rate({metric}{selector}[{window}])"
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def ratio(metric: str, matcher: str, by: str = "", window: str = "5m") -> str:
    """Share of `metric`'s rate whose series match `matcher` (a label matcher such as status=~"5..")."""
    return f"{rate(metric, by, window, matcher)} / {rate(metric, by, window)}"


def lag(metric: str) -> str:
    """Lag per topic from per-partition gauges; max() drops the copies a rebalance leaves on old owners."""
    return f"sum by (topic) (max by (topic, partition) ({metric}{{{NS}}}))"


def quantile(q: float, metric: str, by: str = "", window: str = "5m") -> str:
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{NS}}}[{window}])))"


def operations() -> dict[str, Any]:
    lay = Layout()
    lay.row("Crawl")
    lay.add(timeseries("Pages crawled per second, by outcome",
                       [prom(rate("animerec_crawler_pages_total", "status"), "{{status}}")], "reqps", stack=True,
                       description="Every page the crawler fetched, by status: ok, empty, private, not_found, "
                                   "parse_error, fetch_error or http_<code>."), 12, 8)
    lay.add(timeseries("Crawl error ratio",
                       [prom(ratio("animerec_crawler_pages_total", CRAWL_ERRORS), "errors")], "percentunit",
                       description="Failed pages over all pages; AnimerecCrawlErrorRateHigh fires above the "
                                   "configured ratio."), 6, 8)
    lay.add(timeseries("Items emitted per second, by type",
                       [prom(rate("animerec_crawler_items_total", "item_type"), "{{item_type}}")], "ops",
                       stack=True), 6, 8)
    lay.add(timeseries("Page fetch latency",
                       [prom(quantile(0.5, "animerec_crawler_fetch_duration_seconds"), "p50"),
                        prom(quantile(0.95, "animerec_crawler_fetch_duration_seconds"), "p95", "B")], "s"), 12, 8)
    lay.add(timeseries("URLs scheduled per run, by kind",
                       [prom('sum by (kind) (increase(animerec_scheduler_urls_scheduled_total{job="animerec-scheduler"}'
                             '[1h]))',
                             "{{kind}}")], "short",
                       description="Pushed by the scheduler CronJobs through the Pushgateway."), 6, 8)
    lay.add(timeseries("Schedule backlog, by state",
                       [prom('sum by (kind, state) (animerec_scheduler_backlog_urls{job="animerec-scheduler"})',
                             "{{kind}} {{state}}")], "short"), 6, 8)
    lay.row("Kafka consumer lag")
    lay.add(timeseries("Landing writer lag per topic",
                       [prom(lag("animerec_landing_lag_messages"), "{{topic}}")], "short",
                       description="High watermark minus committed offset of the landing group; KEDA scales on "
                                   "the same lag."), 12, 8)
    lay.add(timeseries("Crawler queue lag per topic",
                       [prom(lag("animerec_crawler_queue_lag_messages"), "{{topic}}")], "short"), 12, 8)
    lay.row("Landing")
    lay.add(timeseries("Messages landed per second, by type",
                       [prom(rate("animerec_landing_messages_landed_total", "type"), "{{type}}")], "ops",
                       stack=True), 12, 8)
    lay.add(timeseries("Rejected and duplicate messages",
                       [prom(rate("animerec_landing_messages_rejected_total"), "rejected"),
                        prom(rate("animerec_landing_messages_duplicate_total"), "duplicate (re-read)", "B")],
                       "ops", description="Rejects go to landing.rejects and the dead-letter topic."), 6, 8)
    lay.add(timeseries("Batch duration",
                       [prom(quantile(0.5, "animerec_landing_batch_duration_seconds"), "p50"),
                        prom(quantile(0.95, "animerec_landing_batch_duration_seconds"), "p95", "B")], "s"), 6, 8)
    lay.row("ETL and pipelines")
    lay.add(stat("Since the last successful ETL run",
                 prom("time() - max(animerec_etl_last_success_timestamp_seconds{job=\"animerec-etl\"} "
                      "or animerec_etl_workflow_last_success_timestamp_seconds{release_namespace=\"$namespace\"} "
                      "or kube_cronjob_status_last_successful_time{namespace=\"$namespace\", cronjob=~\".*-etl\"})"),
                 "s", thresholds=[(None, "green"), (7200, "orange"), (10800, "red")]), 6, 6)
    lay.add(timeseries("ETL validation and runs",
                       [prom('sum by (suite) (animerec_etl_expectations_failed{job="animerec-etl"})', "{{suite}}"),
                        prom("sum by (status) (increase(animerec_etl_workflow_runs_total{release_namespace="
                             "\"$namespace\"}[1h]))", "runs {{status}}", "B")], "short",
                       description="Failed expectations per suite of the last run (pushed by the ETL), and runs by "
                                   "status (emitted by the Argo controller for the CronWorkflow)."), 6, 6)
    lay.add(timeseries("ETL rows per table",
                       [prom('max by (table, step) (animerec_etl_rows{job="animerec-etl"})', "{{step}} {{table}}")],
                       "short",
                       description="Row counts of the last run's steps, pushed by the ETL through the "
                                   "Pushgateway."), 6, 6)
    lay.add(stat("Since the last successful pipeline submission",
                 prom("time() - max(kube_cronjob_status_last_successful_time{namespace=\"$namespace\", "
                      "cronjob=~\".*-pipeline.*\"})"),
                 "s", thresholds=[(None, "green"), (93600, "orange"), (129600, "red")]), 6, 6)
    lay.row("API")
    lay.add(timeseries("Requests per second, by route",
                       [prom(rate("animerec_api_requests_total", "route"), "{{route}}")], "reqps", stack=True), 8, 8)
    lay.add(timeseries("Latency",
                       [prom(quantile(0.5, "animerec_api_request_duration_seconds"), "p50"),
                        prom(quantile(0.99, "animerec_api_request_duration_seconds"), "p99", "B")], "s"), 8, 8)
    lay.add(timeseries("Errors",
                       [prom(ratio("animerec_api_requests_total", 'status=~"5.."'), "5xx ratio"),
                        prom(ratio("animerec_api_requests_total", 'status=~"4.."'), "4xx ratio", "B")],
                       "percentunit"), 8, 8)
    lay.add(timeseries("Fallback answers, by kind",
                       [prom(rate("animerec_api_fallbacks_total", "kind"), "{{kind}}")], "ops",
                       description="Unknown users get popular or trending lists until their profile is crawled."),
            8, 8)
    lay.add(timeseries("Cache hit ratio",
                       [prom(ratio("animerec_api_cache_lookups_total", 'result="hit"', "cache"), "{{cache}}")],
                       "percentunit"), 8, 8)
    lay.add(timeseries("On-demand crawls and feedback",
                       [prom(rate("animerec_api_crawl_requests_total", "outcome"), "crawl {{outcome}}"),
                        prom(rate("animerec_api_feedback_events_total", "action"), "feedback {{action}}", "B")],
                       "ops"), 8, 8)
    lay.row("Online evaluation")  # issue 15: verified feedback per published version (A/B splits show as two)
    online, like, judged = "animerec_api_online_events_total", 'event="like"', 'event=~"like|dislike"'
    click, shown = 'event="click"', 'event="impression"'
    lay.add(timeseries("Like rate, by version",
                       [prom(f"{rate(online, 'version', '1h', like)} / {rate(online, 'version', '1h', judged)}",
                             "{{version}}")],
                       "percentunit", description="Verified likes / (likes + dislikes) over the last hour."), 12, 8)
    lay.add(timeseries("Click-through, by version and source",
                       [prom(f"{rate(online, 'version, source', '1h', click)} / "
                             f"{rate(online, 'version, source', '1h', shown)}", "{{version}} {{source}}")],
                       "percentunit", description="Verified clicks per item served, over the last hour."), 12, 8)
    return dashboard("animerec-operations", "animerec / operations",
                     "Crawl, Kafka lag, landing, ETL, pipelines and API of one animerec release.", lay,
                     [namespace_variable()], "now-6h", ["animerec"])


# The data dashboard reads the processed tables (and the schedule tables for crawl coverage). Every query is
# plain PostgreSQL; tests run each one against a migrated database.
DATA_QUERIES: dict[str, str] = {
    "anime": "SELECT count(*) AS anime FROM processed.anime",
    "users": 'SELECT count(*) AS users FROM processed."user"',
    "ratings": "SELECT count(*) AS interactions FROM processed.user_anime",
    "pairs": "SELECT count(*) AS pairs FROM processed.anime_anime",
    "top_score": (
        "SELECT a.title, a.score, a.score_count AS votes, a.members_count AS members, "
        "array_to_string(a.genres, ', ') AS genres, a.type, a.anime_url AS url\n"
        "FROM processed.anime a\nWHERE a.score IS NOT NULL AND coalesce(a.score_count, 0) >= $min_votes\n"
        "ORDER BY a.score DESC, a.members_count DESC NULLS LAST\nLIMIT 25"
    ),
    "top_completed": (
        "SELECT a.title, count(*) AS completed, round(avg(ua.score), 2) AS mean_user_score\n"
        "FROM processed.user_anime ua JOIN processed.anime a USING (anime_id)\n"
        "WHERE ua.status = 'completed'\nGROUP BY a.anime_id, a.title\nORDER BY completed DESC, a.title\nLIMIT 25"
    ),
    "genres": (
        "SELECT g AS genre, count(*) AS anime\nFROM processed.anime, unnest(genres) AS g\n"
        "GROUP BY g\nORDER BY anime DESC, genre\nLIMIT 30"
    ),
    "score_distribution": (
        "SELECT s.score::text AS score, count(ua.score) AS ratings\n"
        "FROM generate_series(1, 10) AS s(score)\nLEFT JOIN processed.user_anime ua ON ua.score = s.score\n"
        "GROUP BY s.score\nORDER BY s.score"
    ),
    "status_distribution": (
        "SELECT coalesce(status, 'unknown') AS status, count(*) AS entries\nFROM processed.user_anime\n"
        "GROUP BY 1\nORDER BY entries DESC"
    ),
    # Only the processed schema: the datasource's user reads nothing else.
    "coverage": (
        "SELECT kind, known, crawled, round(100.0 * crawled / nullif(known, 0), 1) AS crawled_pct\n"
        "FROM (\n"
        "  SELECT 'anime' AS kind, count(*) AS known, count(a.anime_id) AS crawled\n"
        "  FROM (SELECT anime_id FROM processed.anime UNION SELECT anime_id FROM processed.user_anime) k\n"
        "  LEFT JOIN processed.anime a USING (anime_id)\n"
        "  UNION ALL\n"
        "  SELECT 'user lists', count(*), count(*) FILTER (WHERE EXISTS (\n"
        "    SELECT 1 FROM processed.user_anime ua WHERE ua.user_id = u.user_id))\n"
        "  FROM processed.\"user\" u\n"
        ") c\nORDER BY kind"
    ),
    # Written by the streaming job (services/stream) every minute of event time.
    "live_feedback": (
        "SELECT minute_utc AS time, model_version || ' ' || source AS metric, clicks + likes + dislikes AS value\n"
        "FROM processed.stream_online_metrics WHERE $__timeFilter(minute_utc) AND source <> 'unverified'\n"
        "ORDER BY 1"
    ),
    "live_like_rate": (
        "SELECT model_version, source, sum(likes) AS likes, sum(dislikes) AS dislikes, sum(clicks) AS clicks,\n"
        "       round(sum(likes)::numeric / nullif(sum(likes) + sum(dislikes), 0), 3) AS like_rate\n"
        "FROM processed.stream_online_metrics WHERE $__timeFilter(minute_utc) AND source <> 'unverified'\n"
        "GROUP BY 1, 2\nORDER BY 1 DESC, 2"
    ),
    "stream_poison": (
        "SELECT minute_utc AS time, reason AS metric, events AS value\n"
        "FROM processed.stream_event_counts WHERE kind = 'poison' AND $__timeFilter(minute_utc)\nORDER BY 1"
    ),
    "list_updates_per_day": (
        "SELECT date_trunc('day', last_interaction_date) AS time, 'list updates' AS metric, count(*) AS value\n"
        "FROM processed.user_anime WHERE $__timeFilter(last_interaction_date)\nGROUP BY 1\nORDER BY 1"
    ),
}


def data() -> dict[str, Any]:
    q = DATA_QUERIES
    lay = Layout()
    lay.row("Processed tables")
    lay.add(stat("Anime", sql(q["anime"])), 6, 4)
    lay.add(stat("Users", sql(q["users"])), 6, 4)
    lay.add(stat("User-anime interactions", sql(q["ratings"])), 6, 4)
    lay.add(stat("Anime-anime pairs", sql(q["pairs"])), 6, 4)
    lay.add(table("Top anime by score", sql(q["top_score"]),
                  "MAL score of anime with at least $min_votes votes."), 12, 10)
    lay.add(table("Most completed anime", sql(q["top_completed"]),
                  "Completions among the crawled users, with their mean score."), 12, 10)
    lay.add(barchart("Genres", sql(q["genres"]), "Anime per genre.", horizontal=True), 12, 10)
    lay.add(barchart("User score distribution", sql(q["score_distribution"]), "Ratings per score, 1 to 10."), 6, 10)
    lay.add(barchart("List status distribution", sql(q["status_distribution"])), 6, 10)
    lay.row("Crawl coverage")
    lay.add(table("Crawl coverage of the processed tables", sql(q["coverage"]),
                  "Anime known (catalogued or on a list) and catalogued; users known and with a list."), 12, 6)
    lay.add(timeseries("List updates per day", [sql(q["list_updates_per_day"], "time_series")], "short",
                       stack=True), 12, 6)
    lay.row("Streaming job (live)")
    lay.add(timeseries("Verified feedback per minute, by version and source", [sql(q["live_feedback"], "time_series")],
                       "short", stack=True, description="Clicks, likes and dislikes counted by the streaming job."),
            12, 8)
    lay.add(table("Like rate by version and source (live)", sql(q["live_like_rate"]),
                  "Likes / (likes + dislikes) in the time range, from the streaming job."), 12, 8)
    lay.add(timeseries("Poison events skipped, by reason", [sql(q["stream_poison"], "time_series")], "short",
                       stack=True, description="Messages the streaming job counted and skipped."), 24, 6)
    min_votes = {"name": "min_votes", "label": "minimum votes", "type": "custom", "query": "100,1000,10000",
                 "current": {"text": "1000", "value": "1000"}, "options": [], "includeAll": False, "multi": False}
    return dashboard("animerec-data", "animerec / data",
                     "What the processed tables hold: top anime, genres, score distribution, crawl coverage.",
                     lay, [min_votes], "now-30d", ["animerec", "data"])


DASHBOARDS = {"operations": operations, "data": data}


def rendered() -> Iterator[tuple[Path, str]]:
    for name, build in DASHBOARDS.items():
        yield OUT / f"{name}.json", json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is stale")
    args = parser.parse_args(argv)
    return generated.sync(rendered(), check=args.check, target="dashboards")


if __name__ == "__main__":
    sys.exit(main())
