"""Offline quality: the user-anime models against the best baseline, the same split, on the real
cooperunion ratings sample (../shared/datasets) and on a generated world with taste clusters.
--quick: fewer training epochs."""

from __future__ import annotations

import os
from pathlib import Path

from run import Row

SHARED = Path(os.environ.get("ANIMEREC_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
COOPER = SHARED / "datasets" / "cooperunion-anime-2016"


def _rows(label: str, results, k: int) -> list[Row]:
    baselines = [r for r in results if r.baseline]
    rows = []
    for metric in (f"ndcg@{k}", f"recall@{k}"):
        best = max(baselines, key=lambda r: r.metrics[metric])
        for r in results:
            if not r.baseline:
                rows.append(Row(f"{label}: {r.model} {metric}", r.metrics[metric], "", f"{best.model} (best baseline)",
                                best.metrics[metric], f"{r.metrics['users']} users", higher_is_better=True))
    return rows


def run(quick: bool) -> list[Row]:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from animerec.pipelines import synthetic
    from animerec.pipelines.compare import evaluate_user_anime
    from animerec.pipelines.data import world_from_csv
    from animerec.pipelines.settings import load

    s = load(epochs=3, ranking_epochs=5) if quick else load()
    rows = []
    if COOPER.is_dir():
        world = world_from_csv(COOPER / "ratings_sample_35k.csv", COOPER / "anime.csv")
        rows += _rows("cooperunion 35k", evaluate_user_anime(world, s)[0], s.k)
    generated = synthetic.world(2_000 if quick else 20_000, 500 if quick else 2_000, seed=5)
    rows += _rows("generated", evaluate_user_anime(generated, s)[0], s.k)
    return rows
