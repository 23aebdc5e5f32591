"""`animerec publish`: the latest promoted run of each pipeline (models.*), anime cards, popular and
trending lists and per-user seen lists -> one new Redis version, switched live atomically by the
shared `animerec.common.recstore.RecStore`.

Each pipeline can publish its own part: a version always holds the latest promoted run of both pipelines, so a
user -> anime run published alone refreshes the users' lists and keeps the similar lists of the latest promoted
anime -> anime run (and the other way round); a pipeline with no promoted run yet contributes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from animerec.common import cache, db
from animerec.common.recstore import RecStore

from . import foldin_export, franchise

log = logging.getLogger(__name__)

# Entries published per list: the API filters up to this many candidates (its `candidates` setting) before n.
LIST_LENGTH = 300


class PublishError(RuntimeError):
    pass


@dataclass
class Payload:
    user_run: str | None
    anime_run: str | None
    user_recs: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    similar: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)
    popular: list[int] = field(default_factory=list)
    trending: list[int] = field(default_factory=list)
    seen: dict[str, list[int]] = field(default_factory=dict)
    neighbours: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # fold-in weights for the API
    models: dict[str, str] = field(default_factory=dict)  # pipeline -> the model that made its lists

    def provenance(self) -> dict[str, str]:
        """What the version's meta records: which run and which model made each part."""
        out = {}
        for part, pipeline, run in (("user", "user_anime", self.user_run), ("similar", "anime_anime", self.anime_run)):
            if run:
                out[f"{part}_run"] = run
                out[f"{part}_model"] = self.models.get(pipeline, "")
        return out


def latest_run(conn, pipeline: str, *, promoted_only: bool) -> str | None:
    row = conn.execute("SELECT run_id FROM models.runs WHERE pipeline = %s AND (promoted OR NOT %s) "
                       "ORDER BY created_at DESC, run_id DESC LIMIT 1", (pipeline, promoted_only)).fetchone()
    return row[0] if row else None


def gather(pg_url: str, *, user_run: str | None = None, anime_run: str | None = None,
           allow_unpromoted: bool = False, list_length: int = LIST_LENGTH, trending_days: int = 30) -> Payload:
    with db.connect(pg_url) as conn:
        runs = {}
        for pipeline, chosen in (("user_anime", user_run), ("anime_anime", anime_run)):
            if chosen:
                row = conn.execute("SELECT pipeline FROM models.runs WHERE run_id = %s", (chosen,)).fetchone()
                if not row or row[0] != pipeline:
                    raise PublishError(f"no {pipeline} run {chosen!r} in models.runs")
                runs[pipeline] = chosen
            else:
                runs[pipeline] = latest_run(conn, pipeline, promoted_only=not allow_unpromoted)
        if not any(runs.values()):
            raise PublishError(f"no {'' if allow_unpromoted else 'promoted '}run of either pipeline to publish: run "
                               "`animerec pipeline run user-anime` or `anime-anime` first"
                               + ("" if allow_unpromoted else " (or pass --allow-unpromoted)"))
        p = Payload(user_run=runs["user_anime"], anime_run=runs["anime_anime"])
        for pipeline, run in runs.items():
            if run:
                row = conn.execute("SELECT model FROM models.runs WHERE run_id = %s", (run,)).fetchone()
                p.models[pipeline] = str(row[0]) if row else ""
        for name, anime_id, score in conn.execute(
                """SELECT u.user_name, r.anime_id, r.score FROM models.user_recommendations r
                   JOIN processed."user" u USING (user_id) WHERE r.run_id = %s AND r.rank <= %s
                   ORDER BY u.user_name, r.rank""", (p.user_run or "", list_length)):
            p.user_recs.setdefault(name, []).append((int(anime_id), float(score)))
        for anime_id, similar_id, score in conn.execute(
                "SELECT anime_id, similar_id, score FROM models.similar_anime WHERE run_id = %s AND rank <= %s "
                "ORDER BY anime_id, rank", (p.anime_run or "", list_length)):
            p.similar.setdefault(int(anime_id), []).append((int(similar_id), float(score)))
        for row in conn.execute("""SELECT anime_id, title, main_pic, score::float8, genres, anime_url, type,
                                          num_episodes, members_count, start_date, status FROM processed.anime"""):
            anime_id, title, pic, score, genres, url, kind, episodes, members, start, status = row
            p.cards[int(anime_id)] = {"title": title, "main_pic": pic, "score": score, "genres": list(genres or []),
                                      "url": url, "type": kind, "num_episodes": episodes, "members": members,
                                      "start_date": start.isoformat() if start else None, "status": status}
        # One franchise id per card (titles confirmed by genres, crawled relations): the API's sampled picks
        # keep one franchise from filling them.
        related = [(int(a), int(b)) for a, b in conn.execute(
            "SELECT anime_a, anime_b FROM processed.anime_anime WHERE related")]
        ids = list(p.cards)
        groups = franchise.catalogue_groups(ids, [p.cards[a]["title"] for a in ids],
                                            [p.cards[a]["genres"] for a in ids], related)
        for anime_id, group in groups.items():
            p.cards[anime_id]["franchise"] = group
        p.popular = [r[0] for r in conn.execute(
            """SELECT anime_id FROM processed.user_anime
               WHERE status IS DISTINCT FROM 'dropped' AND status IS DISTINCT FROM 'plan_to_watch'
               GROUP BY anime_id ORDER BY count(*) DESC, anime_id LIMIT %s""", (list_length,))]
        # Trending: most interactions in the last `trending_days` before the newest dated interaction
        # (not before now(): an old dataset still has a trend); popular when nothing is dated.
        p.trending = [r[0] for r in conn.execute(
            """WITH newest AS (SELECT max(last_interaction_date) AS t FROM processed.user_anime)
               SELECT anime_id FROM processed.user_anime, newest
               WHERE last_interaction_date > newest.t - make_interval(days => %s)
               GROUP BY anime_id ORDER BY count(*) DESC, anime_id LIMIT %s""", (trending_days, list_length))]
        if not p.trending:
            p.trending = list(p.popular)
        # Seen is the user's whole list, plan_to_watch included: the pipeline's final filter keeps planned anime
        # in models.user_recommendations (they are good ranking signal and analysts want them), but what users
        # are served never repeats an anime already on their list (the API's contract). RecStore drops seen ones.
        for name, ids in conn.execute(
                """SELECT u.user_name, array_agg(ua.anime_id ORDER BY ua.anime_id) FROM processed.user_anime ua
                   JOIN processed."user" u USING (user_id) GROUP BY u.user_name"""):
            p.seen[name] = [int(a) for a in ids]
        p.neighbours = foldin_export.load(conn)
    return p


def publish(pg_url: str, redis_url: str, redis_prefix: str, *, grace_seconds: int = 3600,
            **options) -> tuple[str, Payload]:
    payload = gather(pg_url, **options)
    store = RecStore(cache.client(redis_url, socket_timeout=30.0), redis_prefix)
    version = store.publish(user_recs=payload.user_recs, similar=payload.similar, cards=payload.cards,
                            popular=payload.popular, trending=payload.trending, seen=payload.seen,
                            grace_seconds=grace_seconds, neighbours=payload.neighbours,
                            provenance=payload.provenance())
    log.info("published", extra={"version": version, "user_run": payload.user_run, "anime_run": payload.anime_run,
                                 "users": len(payload.user_recs), "similar": len(payload.similar)})
    return version, payload


def publish_run(pipeline: str, run_id: str, *, grace_seconds: int = 3600) -> str:
    """Publish after one pipeline's promoted run: its part from `run_id`, the other pipeline's latest promoted run.
    The last step of each pipeline on a cluster; the URLs come from ANIMEREC_POSTGRES_URL and ANIMEREC_REDIS_URL
    (Secrets, never run parameters)."""
    from animerec.common import config

    if pipeline not in ("user_anime", "anime_anime"):
        raise PublishError(f"unknown pipeline {pipeline!r}")
    from animerec.pipelines.settings import load as load_settings

    core = config.core()
    chosen = {"user_run": run_id} if pipeline == "user_anime" else {"anime_run": run_id}
    version, _ = publish(core.postgres_url, core.redis_url, core.redis_prefix, grace_seconds=grace_seconds, **chosen)
    gateway = load_settings().pushgateway_url
    if gateway:
        push_published(gateway, pipeline, core.metrics_push_labels)
    return version


def push_published(gateway: str, pipeline: str, labels: str = "") -> None:
    """The publish time of a pipeline's promoted run, for the pipeline-overdue alert (a Kubeflow run's pods are
    never scraped). Grouped by pipeline, so each keeps its own time."""
    import time

    from prometheus_client import CollectorRegistry

    from animerec.common import metrics

    registry = CollectorRegistry()
    published = metrics.gauge("pipelines", "last_publish_timestamp_seconds",
                              "Unix time a promoted run of the pipeline was last published", registry=registry)
    published.set(time.time())
    metrics.push(gateway, "animerec-pipelines", registry, labels=labels, grouping={"pipeline": pipeline})
