"""Compare models with baselines on one split: the metrics table, its markdown report and the
promotion decision."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from animerec.common.texttable import table

from .settings import PipelineSettings

log = logging.getLogger(__name__)


@dataclass
class Result:
    """One model's figures on one split: `metrics` on test, `val` on the validation split carved from
    train (empty when the model has no honest validation figure), `params` its (tuned) settings."""

    model: str
    baseline: bool
    metrics: dict[str, float]
    seconds: float = 0.0
    note: str = ""
    val: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict:
        return {"model": self.model, "baseline": self.baseline, **self.metrics,
                **{f"val_{k}": v for k, v in self.val.items()}, "seconds": round(self.seconds, 2),
                **({"params": self.params} if self.params else {}), **({"note": self.note} if self.note else {})}


@dataclass
class Decision:
    """`promoted`: a learned model won; `model`: whose lists are published (the winner, else the best
    baseline); `baseline`: the run's best tuned baseline; values are test figures."""

    promoted: bool
    model: str
    baseline: str
    metric: str
    model_value: float
    baseline_value: float
    reason: str = field(default="")
    candidate: str = ""                 # the best learned model on validation ("" when none ran)
    margin: float = 0.0
    val: dict[str, float] = field(default_factory=dict)   # validation figure of each model compared

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def decide(results: list[Result], metric: str, margin: float = 0.0) -> Decision:
    """Honest promotion. The best baseline is the one best on validation. A learned model is promoted
    only if its validation `metric` beats that baseline's by the relative `margin` AND its test
    figure is not below the baseline's; of several such models the best on validation wins. When
    none wins, the best baseline's lists are what gets published (`Decision.model`)."""
    base = [r for r in results if r.baseline and metric in r.val]
    if not base:
        raise ValueError(f"no baseline has a validation {metric}: nothing to compare with")
    best = max(base, key=lambda r: (r.val[metric], r.metrics.get(metric, 0.0)))
    bv, bt = best.val[metric], best.metrics[metric]
    vals = {r.model: r.val[metric] for r in results if metric in r.val}
    learned = [r for r in results if not r.baseline]
    honest = sorted((r for r in learned if metric in r.val), key=lambda r: -r.val[metric])
    skipped = [r.model for r in learned if metric not in r.val]
    notes = [f"without a validation figure, not eligible: {', '.join(skipped)}"] if skipped else []
    bar = bv * (1.0 + margin)
    for r in honest:
        if r.val[metric] > bar and r.metrics[metric] >= bt:
            reason = (f"{r.model} promoted: validation {metric} {r.val[metric]:.4f} > {bar:.4f} (best baseline "
                      f"{best.model} {bv:.4f} + {margin:.1%}), test {r.metrics[metric]:.4f} >= {bt:.4f}")
            return Decision(True, r.model, best.model, metric, r.metrics[metric], bt, "; ".join([reason, *notes]),
                            r.model, margin, vals)
    if honest:
        top = honest[0]
        why = (f"validation {top.val[metric]:.4f} <= {bar:.4f}" if top.val[metric] <= bar
               else f"test {top.metrics[metric]:.4f} < {bt:.4f}")
        reason = (f"no learned model promoted (best: {top.model}, {why}); publishing the best tuned baseline "
                  f"{best.model} (validation {bv:.4f}, test {bt:.4f})")
    else:
        reason = f"no learned model to compare; publishing the best tuned baseline {best.model} (test {bt:.4f})"
    return Decision(False, best.model, best.model, metric, bt, bt, "; ".join([reason, *notes]),
                    honest[0].model if honest else "", margin, vals)


METRIC_ORDER = ("recall", "ndcg", "map", "coverage")
PERSONAL = ("distinct_share", "top1_share", "popularity_pct")


def metric_names(k: int) -> list[str]:
    return [f"{m}@{k}" for m in METRIC_ORDER]


def personal_names(k: int) -> list[str]:
    return [f"distinct_share@{k}", "top1_share", f"popularity_pct@{k}"]


def _columns(results: list[Result], k: int) -> list[tuple[str, str]]:
    """(header, key) of the columns any result has: validation NDCG, test metrics, personalisation."""
    cols = [(f"val_ndcg@{k}", f"val:ndcg@{k}")] if any(r.val for r in results) else []
    cols += [(m, m) for m in metric_names(k)]
    cols += [(m.replace("popularity_pct", "pop_pct").replace("distinct_share", "distinct"), m)
             for m in personal_names(k) if any(m in r.metrics for r in results)]
    return cols


def _cell(r: Result, key: str) -> str:
    v = r.val.get(key[4:]) if key.startswith("val:") else r.metrics.get(key)
    if v is None:
        return "-"
    return f"{v:.1f}" if key.startswith("popularity_pct") else f"{v:.4f}"


def text_table(results: list[Result], k: int) -> str:
    cols = _columns(results, k)
    headers = ["model", "baseline", *(h for h, _ in cols), "users", "seconds"]
    rows = [[r.model, "yes" if r.baseline else "no", *(_cell(r, key) for _, key in cols),
             str(r.metrics.get("users", "")), f"{r.seconds:.1f}"] for r in results]
    return table(rows, headers)


def markdown_table(results: list[Result], k: int) -> str:
    cols = _columns(results, k)
    timed = any(r.seconds for r in results)  # pipeline reports time each step in KFP instead
    out = ["| model | baseline | " + " | ".join(h for h, _ in cols) + " | users |" + (" seconds |" if timed else ""),
           "|---|---|" + "---|" * len(cols) + "---|" + ("---|" if timed else "")]
    for r in results:
        out.append(f"| {r.model} | {'yes' if r.baseline else 'no'} | "
                   + " | ".join(_cell(r, key) for _, key in cols)
                   + f" | {int(r.metrics.get('users', 0))} |" + (f" {r.seconds:.1f} |" if timed else ""))
    return "\n".join(out)


def params_lines(results: list[Result]) -> list[str]:
    """One line per tuned model: its chosen values."""
    return [f"{r.model}: " + ", ".join(f"{k}={v}" for k, v in r.params.items() if k not in ("seed", "threads"))
            for r in results if r.params]


def markdown_report(title: str, results: list[Result], k: int, decision: Decision | None, notes: list[str]) -> str:
    parts = [f"# {title}", "", markdown_table(results, k), ""]
    if decision is not None:
        parts += [f"**Published:** {decision.model} ({'promoted' if decision.promoted else 'not promoted'}): "
                  f"{decision.reason}", ""]
    tuned = params_lines(results)
    if tuned:
        parts += ["Tuned on validation:", "", *(f"- {line}" for line in tuned), ""]
    parts += [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def settings_note(s: PipelineSettings) -> str:
    return (f"split: test {s.test_fraction:.0%} of each user's interactions (most recent when dated, else seeded "
            f"random, seed {s.seed}); positives: completed/watching/unknown status, score >= {s.positive_min_score} "
            f"when scored")
