"""`make bench`: run every bench/bench_*.py and write one markdown table to bench/results/latest.md.

A benchmark module defines `run(quick: bool) -> list[Row]`. Each row is one figure measured next
to a baseline taken in the same run, so the ratio is what the table reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import platform
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    figure: str           # what was measured, e.g. "API recommendations p99"
    value: float
    unit: str             # "ms", "req/s", "s", "MiB", ...
    baseline: str         # what it is compared with, e.g. "raw Redis GET p99"
    baseline_value: float
    note: str = ""
    higher_is_better: bool = False

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")


def machine() -> str:
    import os
    return f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def render(rows: list[tuple[str, Row, str]], failures: list[tuple[str, str]]) -> str:
    """rows: (suite label, row, when that suite ran)."""
    out = [f"# Benchmarks\n\nmachine: {machine()}  \nwritten: {now()}\n",
           "Each figure is compared with a baseline measured in the same run of its suite (the `run` column).\n",
           "| suite | figure | value | baseline | baseline value | ratio | note | run |",
           "|---|---|---|---|---|---|---|---|"]
    for suite, r, when in rows:
        out.append(f"| {suite} | {r.figure} | {r.value:.4g} {r.unit} | {r.baseline} | {r.baseline_value:.4g} {r.unit} "
                   f"| {r.ratio:.3g}x | {r.note} | {when} |")
    for suite, err in failures:
        out.append(f"| {suite} | FAILED | | | | | {err} | {now()} |")
    return "\n".join(out) + "\n"


def now() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}"


def suite_of(label: str) -> str:
    return label.removesuffix(" (quick)")


def earlier_rows(path: Path, rerun: set[str]) -> list[tuple[str, Row, str]]:
    """Rows of the suites not run this time, from the last results (so `--only x` updates x's rows only)."""
    if not path.exists():
        return []
    kept = []
    fields = set(Row.__dataclass_fields__)
    for entry in json.loads(path.read_text()):
        if suite_of(entry["suite"]) not in rerun:
            kept.append((entry["suite"], Row(**{k: v for k, v in entry.items() if k in fields}),
                         entry.get("run", "earlier run")))
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    parser.add_argument("--only", nargs="*", help="suite names (bench_<name>.py) to run")
    parser.add_argument("--quick-suites", nargs="*", default=[], help="suites to run at their quick size only")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.md")
    args = parser.parse_args(argv)
    rows: list[tuple[str, Row, str]] = []
    failures: list[tuple[str, str]] = []
    ran: set[str] = set()
    for path in sorted(HERE.glob("bench_*.py")):
        suite = path.stem.removeprefix("bench_")
        if args.only and suite not in args.only:
            continue
        quick = args.quick or suite in args.quick_suites
        label = f"{suite} (quick)" if quick else suite
        print(f"== {label}", flush=True)
        started = time.perf_counter()
        try:
            ran.add(suite)
            when = now()
            for row in load(path).run(quick):
                rows.append((label, row, when))
                print(f"   {row.figure}: {row.value:.4g} {row.unit} vs {row.baseline} {row.baseline_value:.4g} "
                      f"-> {row.ratio:.3g}x", flush=True)
        except Exception as exc:
            traceback.print_exc()
            failures.append((label, f"{type(exc).__name__}: {exc}"[:200]))
        print(f"   ({time.perf_counter() - started:.1f}s)", flush=True)
    if args.only:
        rows = earlier_rows(args.out.with_suffix(".json"), ran) + rows
        rows.sort(key=lambda r: suite_of(r[0]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows, failures))
    args.out.with_suffix(".json").write_text(json.dumps(
        [{"suite": s, **asdict(r), "ratio": r.ratio, "run": when} for s, r, when in rows], indent=2))
    print(f"wrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
