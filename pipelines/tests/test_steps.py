"""The pipeline steps on artifact paths (what the KFP components call)."""

from __future__ import annotations

import json

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
    # The similar-anime pipeline still names its model and baseline: compared on test, publishable if it wins.
    publishable = steps.compare({"pairwise": {M: 0.2}, "co_occurrence": {M: 0.1}}, params, "s",
                                str(tmp_path / "s.md"), str(tmp_path / "s.json"), model="pairwise",
                                baseline="co_occurrence")
    assert publishable and json.loads((tmp_path / "s.json").read_text())["model"] == "pairwise"
