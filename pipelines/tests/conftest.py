"""Fixtures of the pipeline tests: a small generated world loaded into a fresh PostgreSQL database,
and tiny training settings (a pipeline run must take seconds, not minutes)."""

from __future__ import annotations

import os
import uuid

import pytest

from animerec.common import db, migrate

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

TINY = {"epochs": 2, "embedding_dim": 8, "batch_size": 128, "candidates": 40, "popular_candidates": 10,
        "ranking_epochs": 3, "ranking_list_size": 16, "als_factors": 8, "als_iterations": 3, "top_n": 10, "k": 10,
        "similar_candidates": 30, "genre_neighbours": 10, "history_length": 20, "tf_threads": 1}


@pytest.fixture()
def tiny_params() -> dict:
    from animerec.pipelines.settings import from_params
    return from_params(TINY).params()


@pytest.fixture()
def small_world():
    from animerec.pipelines import synthetic
    return synthetic.world(300, 120, mean_interactions=15, seed=3)


@pytest.fixture()
def world_db(pg_url, small_world):
    """A database of its own (pipelines record runs in it), migrated, with the small world in it."""
    from animerec.pipelines.data import store_world
    url = db.with_database(pg_url, f"animerec_pl_{uuid.uuid4().hex[:8]}")
    db.ensure_database(url)
    migrate.apply(url)
    store_world(url, small_world)
    yield url
    db.drop_database(url)
