"""Compare models with baselines on one split: the metrics table, its markdown report and the
promotion decision."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from .settings import BASELINES, PipelineSettings

log = logging.getLogger(__name__)


@dataclass
class Result:
    model: str
    baseline: bool
    metrics: dict[str, float]
    seconds: float = 0.0
    note: str = ""

    def row(self) -> dict:
        return {"model": self.model, "baseline": self.baseline, **self.metrics, "seconds": round(self.seconds, 2)}


@dataclass
class Decision:
    promoted: bool
    model: str
    baseline: str
    metric: str
    model_value: float
    baseline_value: float
    reason: str = field(default="")

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def decide(results: list[Result], model: str, baseline: str, metric: str) -> Decision:
    """Promote `model` only if it is strictly better than `baseline` on `metric`."""
    by_name = {r.model: r for r in results}
    if model not in by_name or baseline not in by_name:
        missing = model if model not in by_name else baseline
        return Decision(False, model, baseline, metric, float("nan"), float("nan"), f"no result for {missing}")
    mv, bv = by_name[model].metrics[metric], by_name[baseline].metrics[metric]
    promoted = mv > bv
    verdict = "beats" if promoted else "does not beat"
    reason = f"{model} {metric} {mv:.4f} {verdict} {baseline} {bv:.4f}"
    return Decision(promoted, model, baseline, metric, mv, bv, reason)


METRIC_ORDER = ("recall", "ndcg", "map", "coverage")


def metric_names(k: int) -> list[str]:
    return [f"{m}@{k}" for m in METRIC_ORDER]


def text_table(results: list[Result], k: int) -> str:
    headers = ["model", "baseline", *metric_names(k), "users", "seconds"]
    rows = [[r.model, "yes" if r.baseline else "no", *(f"{r.metrics[m]:.4f}" for m in metric_names(k)),
             str(r.metrics.get("users", "")), f"{r.seconds:.1f}"] for r in results]
    widths = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [headers, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: list[Result], k: int) -> str:
    names = metric_names(k)
    timed = any(r.seconds for r in results)  # pipeline reports time each step in KFP instead
    out = ["| model | baseline | " + " | ".join(names) + " | users |" + (" seconds |" if timed else ""),
           "|---|---|" + "---|" * len(names) + "---|" + ("---|" if timed else "")]
    for r in results:
        out.append(f"| {r.model} | {'yes' if r.baseline else 'no'} | "
                   + " | ".join(f"{r.metrics[m]:.4f}" for m in names)
                   + f" | {int(r.metrics.get('users', 0))} |" + (f" {r.seconds:.1f} |" if timed else ""))
    return "\n".join(out)


def markdown_report(title: str, results: list[Result], k: int, decision: Decision | None, notes: list[str]) -> str:
    parts = [f"# {title}", "", markdown_table(results, k), ""]
    if decision is not None:
        parts += [f"**Promotion:** {'promoted' if decision.promoted else 'not promoted'}: {decision.reason}", ""]
    parts += [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def is_baseline(name: str) -> bool:
    return name in BASELINES or name in ("genre_cosine", "co_occurrence")


def settings_note(s: PipelineSettings) -> str:
    return (f"split: test {s.test_fraction:.0%} of each user's interactions (most recent when dated, else seeded "
            f"random, seed {s.seed}); positives: completed/watching/unknown status, score >= {s.positive_min_score} "
            f"when scored")
