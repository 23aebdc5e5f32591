"""The pipeline steps on artifact paths (what the KFP components call)."""

from __future__ import annotations

import json

import pytest

from animerec.pipelines import steps
from animerec.pipelines.settings import from_params

M = "ndcg@20"


def test_pipeline_compare_decides_honestly_from_validation_figures(tmp_path):
    params = from_params({"k": 20, "promote_margin": 0.01}).params()
    results = {
        "popularity": {M: 0.11, f"val_{M}": 0.10, "users": 9},
        "ease": {M: 0.29, f"val_{M}": 0.30, "users": 9, "params": {"l2": 400.0}},
        "retrieval": {M: 0.40, f"val_{M}": 0.302, "users": 9},
        "listwise": {M: 0.50, "users": 9},
    }
    publishable = steps.compare(results, params, "t", str(tmp_path / "r.md"), str(tmp_path / "d.json"))
    decision = json.loads((tmp_path / "d.json").read_text())
    assert publishable and decision["publishable"] and not decision["promoted"]
    assert decision["model"] == "ease" and decision["baseline"] == "ease"
    report = (tmp_path / "r.md").read_text()
    assert "**Published:** ease" in report and "ease: l2=400.0" in report


def test_pipeline_compare_without_a_baselines_validation_figure_is_a_clear_error(tmp_path):
    params = from_params({"k": 20}).params()
    results = {"popularity": {M: 0.11, "users": 9}, "ranker": {M: 0.5, f"val_{M}": 0.4, "users": 9}}
    with pytest.raises(ValueError, match="no baseline has a validation ndcg@20"):
        steps.compare(results, params, "t", str(tmp_path / "r.md"), str(tmp_path / "d.json"))
    assert not (tmp_path / "d.json").exists()
