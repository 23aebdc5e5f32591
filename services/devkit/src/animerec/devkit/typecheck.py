"""`python -m animerec.devkit.typecheck` (run by `make lint`): mypy over every package, with a ratchet.

mypy runs once over all packages with the settings of the root pyproject.toml ([tool.mypy]: strict for the
packages listed there). Its errors are counted per package (services/<name>, pipelines) and compared with
typecheck-baseline.json: a package with more errors than its baseline fails the check; a package missing from
the baseline may have none. `--lower` writes the counts that went down into the baseline (never up), so the
numbers only fall; commit the file with the fix.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from animerec.common.datasets import repo_dir
from animerec.common.texttable import table

BASELINE = "typecheck-baseline.json"
_ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: ")


@dataclass(frozen=True)
class Package:
    name: str        # "scheduler", "pipelines", ...
    src: Path        # the folder holding animerec/<module>
    module: str      # "animerec.scheduler"


def packages(root: Path) -> list[Package]:
    """Every installable package of the checkout (the Makefile's PACKAGES) with its import name."""
    found = []
    for project in sorted([*root.glob("services/*/pyproject.toml"), root / "pipelines" / "pyproject.toml"]):
        src = project.parent / "src"
        for module in sorted(p for p in (src / "animerec").glob("*") if p.is_dir() and any(p.glob("*.py"))):
            found.append(Package(project.parent.name, src, f"animerec.{module.name}"))
    return found


def count(lines: Iterable[str], pkgs: list[Package], root: Path) -> Counter[str]:
    """mypy's error lines -> errors per package (by the file each names)."""
    errors: Counter[str] = Counter()
    for line in lines:
        match = _ERROR.match(line)
        if not match:
            continue
        path = (root / match["path"]).resolve()
        owner = next((p.name for p in pkgs if path.is_relative_to(p.src.resolve())), "other")
        errors[owner] += 1
    return errors


def compare(current: Mapping[str, int], baseline: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """(packages over their baseline, packages under it)."""
    names = sorted(set(current) | set(baseline))
    worse = [n for n in names if current.get(n, 0) > baseline.get(n, 0)]
    better = [n for n in names if current.get(n, 0) < baseline.get(n, 0)]
    return worse, better


def lowered(current: Mapping[str, int], baseline: Mapping[str, int]) -> dict[str, int]:
    """The baseline with every count that fell replaced by the new one; a rise is never written."""
    return {n: min(current.get(n, 0), baseline[n]) for n in sorted(baseline)}


def run_mypy(root: Path, pkgs: list[Package]) -> list[str]:
    env = {**os.environ, "MYPYPATH": os.pathsep.join(sorted({str(p.src) for p in pkgs}))}
    args = [sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml"), "--no-error-summary",
            "--no-pretty", *[a for p in pkgs for a in ("-p", p.module)]]
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):   # 2: mypy itself failed (bad config, crash)
        raise SystemExit(f"mypy failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lower", action="store_true", help="write the counts that went down into the baseline")
    parser.add_argument("--show", action="store_true", help="print every error, not only the counts")
    args = parser.parse_args(argv)
    root = repo_dir() or Path.cwd()
    pkgs = packages(root)
    lines = run_mypy(root, pkgs)
    current = count(lines, pkgs, root)
    baseline_file = root / BASELINE
    baseline: dict[str, int] = json.loads(baseline_file.read_text()) if baseline_file.is_file() else {}
    worse, better = compare(current, baseline)
    if args.show or worse:
        shown = [line for line in lines if _ERROR.match(line)]
        if not args.show:
            shown = [line for line in shown if count([line], pkgs, root).keys() & set(worse)]
        print("\n".join(shown))
    rows = [[name, current.get(name, 0), baseline.get(name, 0),
             "over the baseline" if name in worse else ("lower it: --lower" if name in better else "")]
            for name in sorted(set(current) | set(baseline) | {p.name for p in pkgs})]
    print(table(rows, ["package", "errors", "allowed", ""]))
    if args.lower and better:
        baseline_file.write_text(json.dumps(lowered(current, baseline), indent=2) + "\n")
        print(f"{BASELINE}: lowered {', '.join(better)}")
    if worse:
        print(f"mypy: more errors than {BASELINE} allows in {', '.join(worse)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
