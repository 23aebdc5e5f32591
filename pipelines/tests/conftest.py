"""Fixtures of the pipeline tests: a small generated world loaded into a fresh PostgreSQL database,
and tiny training settings (a pipeline run must take seconds, not minutes)."""

from __future__ import annotations

import os

import pytest

from animerec.devkit.fixtures import migrated_database

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

TINY = {"epochs": 2, "embedding_dim": 8, "batch_size": 128, "candidates": 40, "popular_candidates": 10,
        "top_n": 10, "k": 10, "similar_candidates": 30, "history_length": 20, "tf_threads": 1,
        "tune_trials": 2, "ranker_candidates": 40, "ranker_epochs": 3, "ranker_hidden": 16}


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    from animerec.pipelines.settings import from_params
    return from_params(TINY).params()


@pytest.fixture(scope="session")
def small_world():
    from animerec.pipelines import synthetic
    return synthetic.world(300, 120, mean_interactions=15, seed=3)


@pytest.fixture(scope="session")
def pipeline_runs(world_db, tiny_params, tmp_path_factory) -> dict:
    """Each pipeline run once on the small world, on first use (a run takes a while: the tests share
    it, and each test's time limit covers only its own pipeline)."""
    from animerec.pipelines.anime_anime_pipeline import anime_anime_pipeline
    from animerec.pipelines.localrun import run_local
    from animerec.pipelines.user_anime_pipeline import user_anime_pipeline
    root = tmp_path_factory.mktemp("kfp")
    plans = {"user_anime": (user_anime_pipeline, {**tiny_params, "excluded_types": ["Music"]}),
             "anime_anime": (anime_anime_pipeline, {**tiny_params, "excluded_genres": ["Horror"]})}

    class Runs(dict):
        def __missing__(self, name):
            pipeline, params = plans[name]
            self[name] = (run_local(pipeline, world_db, params, root), params)
            return self[name]

    return Runs()


@pytest.fixture(scope="session")
def world_db(small_world):
    """A database of its own (pipelines record runs in it), migrated, with the small world in it."""
    from animerec.pipelines.data import store_world
    with migrated_database("pl") as url:
        store_world(url, small_world)
        yield url
