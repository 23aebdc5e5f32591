"""Offline quality of the user-anime pipeline on real MAL data: the 5,000 complete user lists
(data/mal/ratings_5000users.csv.gz, full size) with the 2021 catalogue (plus the 2016 rows it lacks).

One `compare.run_user_anime` run, the same code path as `animerec evaluate` / `recommend`: the five
baselines tuned on a validation split carved from train, every learned model, the honest promotion
decision. Every figure is compared with the best tuned baseline (best on validation) of the same run:
test NDCG@20 / recall@20 of each model and of what gets published, the personalisation metrics,
the run's wall time against the 15-minute target, retrieval seconds per epoch and peak memory.
Then the similar-anime comparison (`animerec evaluate --similar`) on the same data: the tuned
baselines and the blend on the anchor protocol, and what gets published.
--quick: the first 1,000 users and 3 trials per baseline (a smoke run; figures not comparable).
"""

from __future__ import annotations

import os
import resource
import time

from run import Row

TARGET_SECONDS = 15 * 60


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def world(quick: bool):
    """The 5,000 lists on the 2021 catalogue plus the 2016 rows it lacks (so no rating is dropped)."""
    import pandas as pd

    from animerec.common import datasets
    from animerec.pipelines.data import World, read_anime_csv, read_ratings_csv

    catalogue = read_anime_csv(datasets.path("anime"))
    extra = datasets.find("anime_2016")
    if extra is not None:
        old = read_anime_csv(extra)
        catalogue = pd.concat([catalogue, old[~old["anime_id"].isin(catalogue["anime_id"])]], ignore_index=True)
    inter = read_ratings_csv(datasets.path("ratings"))
    inter = inter[inter["anime_id"].isin(catalogue["anime_id"])]
    if quick:
        inter = inter[inter["user_id"].isin(inter["user_id"].drop_duplicates().sort_values().head(1000))]
    return World(anime=catalogue, interactions=inter.reset_index(drop=True))


def rows_of(ev, k: int, label: str, seconds: float, peak_mib: float, cpu_seconds: float = 0.0) -> list[Row]:
    d = ev.decision
    by_name = {r.model: r for r in ev.results}
    best = by_name[d.baseline]
    n_users = int(best.metrics.get("users", best.metrics.get("anchors", 0)))
    out = []
    for metric in (f"ndcg@{k}", f"recall@{k}"):
        for r in ev.results:
            if r.model == best.model:
                continue
            val = f"val {r.val[f'ndcg@{k}']:.4f} vs {best.val[f'ndcg@{k}']:.4f}" if f"ndcg@{k}" in r.val else "no val"
            out.append(Row(f"{label}: {r.model} test {metric}", r.metrics[metric], "",
                           f"{best.model} (best tuned baseline)", best.metrics[metric],
                           f"{n_users} users; {val}", higher_is_better=True))
        out.append(Row(f"{label}: published ({d.model}) test {metric}", by_name[d.model].metrics[metric], "",
                       f"{best.model} (best tuned baseline)", best.metrics[metric],
                       "promoted" if d.promoted else "no learned model beat it", higher_is_better=True))
    pub = by_name[d.model]
    if not hasattr(ev, "bank"):  # the similar-anime evaluation: its wall time only
        out.append(Row(f"{label}: evaluate --similar wall time", ev.seconds.get("total", 0.0), "s",
                       "15-minute target", TARGET_SECONDS,
                       "; ".join(f"{n} {v:.0f}s" for n, v in ev.seconds.items() if n != "total")))
        return out
    for metric, better in ((f"distinct_share@{k}", True), ("top1_share", False), (f"popularity_pct@{k}", False)):
        if metric not in pub.metrics:  # similar anime: lists per anchor, no per-user personalisation
            continue
        out.append(Row(f"{label}: published ({d.model}) {metric}", pub.metrics[metric], "",
                       f"{best.model} (best tuned baseline)", best.metrics[metric], "personalisation",
                       higher_is_better=better))
    params = "; ".join(f"{r.model}: " + ", ".join(f"{k2}={v}" for k2, v in r.params.items()
                                                  if k2 not in ("seed", "threads"))
                       for r in ev.results if r.baseline and r.params)
    out.append(Row(f"{label}: run_user_anime wall time (evaluate, tuning included)", seconds, "s",
                   "15-minute target", TARGET_SECONDS,
                   "; ".join(f"{n} {v:.0f}s" for n, v in ev.seconds.items())
                   + f"; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"))
    # CPU seconds do not depend on what else the machine runs: on idle cores the wall time is at most
    # about this (less where TensorFlow and BLAS use both cores).
    out.append(Row(f"{label}: run_user_anime CPU time (user + system, all threads)", cpu_seconds, "s",
                   "15-minute target", TARGET_SECONDS, "an idle machine's wall time is at most about this"))
    out.append(Row(f"{label}: baseline tuning wall time", ev.seconds.get("tuning", 0.0), "s", "15-minute target",
                   TARGET_SECONDS, f"tuned: {params}"))
    epoch = [r.metrics["seconds_per_epoch"] for r in ev.results if "seconds_per_epoch" in r.metrics]
    if epoch:
        out.append(Row(f"{label}: retrieval seconds per epoch", epoch[0], "s", "baseline tuning wall time",
                       ev.seconds.get("tuning", 0.0), ""))
    out.append(Row(f"{label}: peak memory (RSS)", peak_mib, "MiB", "16 GiB training pod limit", 16 * 1024, ""))
    return out


def run(quick: bool) -> list[Row]:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from animerec.pipelines.compare import run_user_anime
    from animerec.pipelines.settings import load

    s = load(tune_trials=3) if quick else load()
    w = world(quick)
    started, cpu0 = time.perf_counter(), _cpu()
    ev = run_user_anime(w, s, s.k)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    label = "MAL 5,000 users" + (" (first 1,000)" if quick else "")
    rows = rows_of(ev, s.k, label, seconds, peak_mib, cpu_seconds)
    # Similar anime on the same data: the six tuned baselines and the blend, anchor protocol.
    from animerec.pipelines.anime_anime import evaluate_world
    similar = evaluate_world(w, s, s.k)
    return rows + rows_of(similar, s.k, label + ", similar anime", similar.seconds.get("total", 0.0), peak_mib)
