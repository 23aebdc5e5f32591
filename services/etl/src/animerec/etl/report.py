"""`animerec report online`: like rate and click-through per published version and source, from the streaming
job's live table (processed.stream_online_metrics) when it runs, else the ETL's processed.online_evaluation
(verified feedback either way) and, when given the API's /metrics, its impression counters."""

from __future__ import annotations

import re
import urllib.request
from collections import defaultdict

import click

IMPRESSIONS = re.compile(r'^animerec_api_online_events_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+-]+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def impressions(metrics_text: str) -> dict[tuple[str, str], float]:
    """(version, source) -> impressions, from Prometheus text exposition of the API."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for line in metrics_text.splitlines():
        m = IMPRESSIONS.match(line.strip())
        if not m:
            continue
        labels = dict(LABEL.findall(m.group("labels")))
        if labels.get("event") == "impression":
            out[(labels.get("version", ""), labels.get("source", ""))] += float(m.group("value"))
    return dict(out)


def live_rows(conn, days: int) -> list[tuple]:
    """The streaming job's live counts (processed.stream_online_metrics, per minute), verified feedback only."""
    return conn.execute("""
        SELECT model_version, source, sum(clicks)::bigint, sum(likes)::bigint, sum(dislikes)::bigint, NULL::bigint
        FROM processed.stream_online_metrics
        WHERE minute_utc > (now() AT TIME ZONE 'UTC') - make_interval(days => %s::integer) AND source <> 'unverified'
        GROUP BY 1, 2 ORDER BY 1 DESC, 2""", (days,)).fetchall()


def rows(conn, days: int) -> list[tuple]:
    """Per version and source: the streaming job's live counts when it runs, else the ETL's daily table."""
    return live_rows(conn, days) or daily_rows(conn, days)


def daily_rows(conn, days: int) -> list[tuple]:
    return conn.execute("""
        SELECT model_version, source, sum(clicks)::bigint, sum(likes)::bigint, sum(dislikes)::bigint,
               sum(users)::bigint
        FROM processed.online_evaluation WHERE day > current_date - %s::integer
        GROUP BY 1, 2 ORDER BY 1 DESC, 2""", (days,)).fetchall()


def render(table: list[tuple], shown: dict[tuple[str, str], float]) -> str:
    lines = ["| version | source | impressions | clicks | CTR | likes | dislikes | like rate |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for version, source, clicks, likes, dislikes, _users in table:
        seen = shown.get((version, source))
        ctr = f"{clicks / seen:.2%}" if seen else "-"
        rate = f"{likes / (likes + dislikes):.1%}" if likes + dislikes else "-"
        lines.append(f"| {version} | {source} | {int(seen) if seen else '-'} | {clicks} | {ctr} | {likes} | "
                     f"{dislikes} | {rate} |")
    return "\n".join(lines)


@click.group("report")
def report() -> None:
    """Reports over the processed tables."""


@report.command("online")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@click.option("--metrics-url", default=None, help="The API's /metrics, for impressions and click-through")
@click.pass_context
def online(ctx: click.Context, days: int, metrics_url: str | None) -> None:
    """Like rate and click-through per published version and source (verified feedback only)."""
    from animerec.common import db

    core = ctx.find_root().obj
    with db.connect(core.postgres_url) as conn:
        table = rows(conn, days)
    shown: dict[tuple[str, str], float] = {}
    if metrics_url:
        with urllib.request.urlopen(metrics_url, timeout=10) as response:  # noqa: S310 - an operator's URL
            shown = impressions(response.read().decode())
    click.echo(render(table, shown) if table else f"no verified feedback in the last {days} days")
