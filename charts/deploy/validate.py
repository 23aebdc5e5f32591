"""Strict schema validation of rendered objects.

Built-in kinds: kubernetes-validate's strict schemas for each stated Kubernetes version (unknown fields fail,
and so does an apiVersion/kind the version does not serve: removed or misspelt APIs). Custom resources: the
pydantic models of KEDA (cloudcoil-models-keda), the Prometheus Operator (cloudcoil-models-prometheus-operator)
and Argo Workflows (hera), plus a round trip that reports fields the model does not know.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pydantic
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, VersionNotSupportedError

# kubernetes-validate re-reads the multi-megabyte definitions file for every object; read each file once.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)


@functools.cache
def crd_models() -> dict[tuple[str, str], Callable[[dict[str, Any]], Any]]:
    from cloudcoil.models.keda import v1alpha1 as keda
    from cloudcoil.models.prometheus_operator import v1 as prom
    from hera.workflows.models import CronWorkflow, Workflow, WorkflowTemplate

    from .flink_crd import FlinkDeployment

    return {
        ("flink.apache.org/v1beta1", "FlinkDeployment"): FlinkDeployment.model_validate,
        ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject.model_validate,
        ("keda.sh/v1alpha1", "ScaledJob"): keda.ScaledJob.model_validate,
        ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication.model_validate,
        ("monitoring.coreos.com/v1", "ServiceMonitor"): prom.ServiceMonitor.model_validate,
        ("monitoring.coreos.com/v1", "PodMonitor"): prom.PodMonitor.model_validate,
        ("monitoring.coreos.com/v1", "PrometheusRule"): prom.PrometheusRule.model_validate,
        ("argoproj.io/v1alpha1", "CronWorkflow"): CronWorkflow.model_validate,
        ("argoproj.io/v1alpha1", "Workflow"): Workflow.model_validate,
        ("argoproj.io/v1alpha1", "WorkflowTemplate"): WorkflowTemplate.model_validate,
    }


def name_of(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def unknown_fields(given: Any, known: Any, path: str = "") -> list[str]:
    """Keys present in `given` but dropped by the model's round trip (pydantic ignores extra keys)."""
    out: list[str] = []
    if isinstance(given, dict) and isinstance(known, dict):
        for key, value in given.items():
            if key not in known:
                out.append(f"{path}.{key}".lstrip("."))
            else:
                out.extend(unknown_fields(value, known[key], f"{path}.{key}"))
    elif isinstance(given, list) and isinstance(known, list):
        for i, (g, k) in enumerate(zip(given, known, strict=False)):
            out.extend(unknown_fields(g, k, f"{path}[{i}]"))
    return out


def validate_crd(obj: dict[str, Any]) -> list[str]:
    model = crd_models()[(obj["apiVersion"], obj["kind"])]
    try:
        parsed = model(obj)
    except pydantic.ValidationError as exc:
        return [f"{name_of(obj)}: {err['loc']}: {err['msg']}" for err in exc.errors()]
    dumped = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [f"{name_of(obj)}: unknown field {field}" for field in unknown_fields(obj, dumped)]


def validate_builtin(obj: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        return [f"{name_of(obj)} (k8s {version}): {where}: {exc.message}"]
    except SchemaNotFoundError:
        return [f"{name_of(obj)}: Kubernetes {version} serves no {obj['apiVersion']} {obj['kind']} "
                "(unknown or removed API)"]
    except VersionNotSupportedError:
        return [f"kubernetes-validate does not know Kubernetes {version}"]
    return []


def pod_templates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The core/v1 Pods a custom resource embeds (a FlinkDeployment's pod templates), to check strictly too."""
    if obj.get("kind") != "FlinkDeployment":
        return []
    spec = obj.get("spec") or {}
    found = [spec.get("podTemplate"), (spec.get("jobManager") or {}).get("podTemplate"),
             (spec.get("taskManager") or {}).get("podTemplate")]
    return [{**t, "metadata": {**(t.get("metadata") or {}), "name": name_of(obj).replace("/", "-").lower()}}
            for t in found if isinstance(t, dict)]


def validate(objects: Iterable[dict[str, Any]], versions: Iterable[str]) -> list[str]:
    versions = list(versions)
    errors: list[str] = []
    for obj in objects:
        if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
            errors.append(f"not a Kubernetes object: {str(obj)[:80]}")
        elif (obj["apiVersion"], obj["kind"]) in crd_models():
            errors.extend(validate_crd(obj))
            for pod in pod_templates(obj):
                for version in versions:
                    errors.extend(f"{name_of(obj)} pod template: {e}" for e in validate_builtin(pod, version))
        else:
            for version in versions:
                errors.extend(validate_builtin(obj, version))
    return errors
