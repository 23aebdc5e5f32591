"""Run a compiled-in-memory pipeline here with kfp.local: every component in a subprocess of this
Python environment (no Docker), artifacts under `root`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .steps import runtime_env


@dataclass
class LocalRun:
    run_id: str
    promoted: bool
    report: str
    decision: dict
    metrics: dict  # model -> its metrics


def run_local(pipeline_func, pg_url: str, params: dict, root: Path, *, publish: bool = False) -> LocalRun:
    from kfp import local

    from animerec.common import db

    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    for name, value in runtime_env().items():  # the components inherit it, as in the image
        os.environ.setdefault(name, value)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    task = pipeline_func(pg_url=pg_url, params=params, publish=publish)
    run_id = task.output
    with db.connect(pg_url) as conn:
        row = conn.execute("SELECT promoted, report, decision, metrics FROM models.runs WHERE run_id = %s",
                           (run_id,)).fetchone()
    if row is None:
        raise RuntimeError(f"the pipeline finished but run {run_id!r} is not in models.runs")
    return LocalRun(run_id=run_id, promoted=row[0], report=row[1], decision=row[2], metrics=row[3])
