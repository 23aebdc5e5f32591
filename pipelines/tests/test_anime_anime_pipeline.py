"""The anime-anime pipeline, run whole with kfp.local on a small generated world, and compiled."""

from __future__ import annotations

import pytest
import yaml

from animerec.common import db
from animerec.pipelines.anime_anime_pipeline import anime_anime_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_runs_end_to_end_and_records_similar_lists(world_db, pipeline_runs, small_world):
    run, _ = pipeline_runs["anime_anime"]
    for model in ("popularity", "co_occurrence", "genre_cosine", "retrieval", "pairwise"):
        assert f"| {model} |" in run.report
    assert run.decision["model"] == "pairwise" and run.decision["baseline"] == "co_occurrence"
    assert run.promoted == (run.decision["model_value"] > run.decision["baseline_value"])
    # On this world the anime of a taste cluster share genres and users: the ranker has signal to find.
    assert run.metrics["pairwise"]["ndcg@10"] > run.metrics["popularity"]["ndcg@10"]

    with db.connect(world_db) as conn:
        rows = conn.execute("SELECT anime_id, rank, similar_id FROM models.similar_anime WHERE run_id = %s",
                            (run.run_id,)).fetchall()
    horror = {a for a, gs in zip(small_world.anime["anime_id"], small_world.anime["genres"], strict=True)
              if "Horror" in list(gs)}
    lists: dict[int, list[tuple[int, int]]] = {}
    for anime_id, rank, similar_id in rows:
        lists.setdefault(anime_id, []).append((rank, similar_id))
    assert len(lists) > len(small_world.anime) // 2
    for anime_id, items in lists.items():
        assert sorted(r for r, _ in items) == list(range(1, len(items) + 1))
        similar = [s for _, s in items]
        assert anime_id not in similar and len(set(similar)) == len(similar)
        assert not set(similar) & horror, "an excluded genre was listed"


def test_compiles_with_gpu_requests_for_training_steps(tmp_path):
    from kfp import compiler
    path = tmp_path / "anime-anime.yaml"
    compiler.Compiler().compile(anime_anime_pipeline, str(path))
    spec, platform = list(yaml.safe_load_all(path.read_text()))
    executors = spec["deploymentSpec"]["executors"]
    gpu = {name for name, e in executors.items() if e["container"].get("resources", {}).get("accelerator")}
    assert gpu == {"exec-train-similar-retrieval", "exec-train-pairwise-ranker"}
    assert set(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]) == gpu
