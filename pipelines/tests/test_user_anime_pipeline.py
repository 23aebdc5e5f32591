"""The user-anime pipeline, run whole with kfp.local on a small generated world, and compiled."""

from __future__ import annotations

import pytest
import yaml

from animerec.common import db
from animerec.pipelines.user_anime_pipeline import user_anime_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_runs_end_to_end_and_records_ranked_lists(world_db, pipeline_runs, small_world):
    run, params = pipeline_runs["user_anime"]

    baselines = ("popularity", "item_knn", "ease", "rp3beta", "als")
    for model in (*baselines, "retrieval", "ranker"):
        assert f"| {model} |" in run.report
    # Honest promotion: the best tuned baseline on validation is the bar; the run always publishes the
    # decided model's lists (a learned model that cleared the bar, else that baseline), labelled with its name.
    d, results = run.decision, run.metrics
    best = max(baselines, key=lambda n: results[n]["val_ndcg@10"])
    assert d["baseline"] == best and run.promoted and d["publishable"]
    if d["promoted"]:
        assert results[d["model"]]["val_ndcg@10"] > results[best]["val_ndcg@10"] * (1 + params["promote_margin"])
        assert results[d["model"]]["ndcg@10"] >= results[best]["ndcg@10"]
    else:
        assert d["model"] == best
    for name in baselines[1:]:
        assert results[name]["params"], f"{name} has no tuned values recorded"

    with db.connect(world_db) as conn:
        recorded = conn.execute("SELECT model FROM models.runs WHERE run_id = %s", (run.run_id,)).fetchone()[0]
        assert recorded == d["model"]
        rows = conn.execute("SELECT user_id, rank, anime_id FROM models.user_recommendations WHERE run_id = %s",
                            (run.run_id,)).fetchall()
        names = dict(conn.execute('SELECT user_id, user_name FROM processed."user"').fetchall())
        status = {(u, a): s for u, a, s in conn.execute("SELECT user_id, anime_id, status FROM processed.user_anime")}
    assert rows, "no recommendations recorded"
    by_user: dict[int, list[tuple[int, int]]] = {}
    for user_id, rank, anime_id in rows:
        by_user.setdefault(user_id, []).append((rank, anime_id))
    music = set(small_world.anime.loc[small_world.anime["type"] == "Music", "anime_id"])
    for user_id, recs in by_user.items():
        ranks = sorted(r for r, _ in recs)
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= params["top_n"]
        for _, anime_id in recs:
            assert anime_id not in music, "an excluded type was recommended"
            # Already in the list: only plan_to_watch may come back.
            assert status.get((user_id, anime_id), "plan_to_watch") == "plan_to_watch"
    assert set(by_user) <= set(names)


def test_compiles_with_gpu_requests_for_training_steps(tmp_path):
    from kfp import compiler
    path = tmp_path / "user-anime.yaml"
    compiler.Compiler().compile(user_anime_pipeline, str(path))
    docs = list(yaml.safe_load_all(path.read_text()))
    spec = docs[0]
    executors = spec["deploymentSpec"]["executors"]
    gpu = {name for name, e in executors.items() if e["container"].get("resources", {}).get("accelerator")}
    assert gpu == {"exec-train-retrieval", "exec-train-ranker"}
    for e in executors.values():
        env = {v["name"]: v["value"] for v in e["container"].get("env", [])}
        assert env["TF_USE_LEGACY_KERAS"] == "1"
    platform = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    # GPU steps get tolerations and a node selector; the others at most their Secrets
    assert gpu <= set(platform)
    for name, e in platform.items():
        placed = bool(e.get("tolerations")) and bool(e.get("nodeSelector", {}).get("labels"))
        assert placed == (name in gpu), name
