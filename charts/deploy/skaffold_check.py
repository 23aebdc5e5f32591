"""skaffold.yaml against the project's schema (charts/deploy/schemas/skaffold.schema.json) and against the repository:
Dockerfiles, chart values and overlays it names exist; every animerec image the chart renders has an artifact;
profiles dev and prod map onto the overlays; the port-forward names a rendered Service port."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import yaml

from deploy.render import CHART, ROOT, Render

SKAFFOLD = ROOT / "skaffold.yaml"
SCHEMA = ROOT / "charts" / "deploy" / "schemas" / "skaffold.schema.json"


def load() -> dict[str, Any]:
    return yaml.safe_load(SKAFFOLD.read_text())


def schema_errors(config: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    return [f"skaffold.yaml {e.json_path}: {e.message}" for e in validator.iter_errors(config)]


def has_value(values: dict[str, Any], dotted: str) -> bool:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def repository_errors(config: dict[str, Any], default_render: Render, missing_ok: set[str] = frozenset()) -> list[str]:
    errors = []
    artifacts = config["build"]["artifacts"]
    images = {a["image"] for a in artifacts}
    for a in artifacts:
        dockerfile = ROOT / a.get("context", ".") / a.get("docker", {}).get("dockerfile", "Dockerfile")
        if not dockerfile.exists() and a["image"] not in missing_ok:
            errors.append(f"artifact {a['image']}: {dockerfile.relative_to(ROOT)} does not exist")
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for release in config.get("manifests", {}).get("helm", {}).get("releases", []):
        if not (ROOT / release["chartPath"] / "Chart.yaml").exists():
            errors.append(f"helm release {release['name']}: no chart at {release['chartPath']}")
        for key in [*release.get("setValueTemplates", {}), *release.get("setValues", {})]:
            if not has_value(values, key):
                errors.append(f"helm release {release['name']}: {key} is not a chart value")
        templated = {v.split("}}")[0].removeprefix("{{.IMAGE_REPO_") for k, v in
                     release.get("setValueTemplates", {}).items() if k.endswith(".repository")}
        for image in images:
            if image.replace("/", "_").replace("-", "_") not in templated:
                errors.append(f"helm release {release['name']}: no setValueTemplates for artifact {image}")
    rendered = {c["image"].split(":")[0] for o in default_render.objects for c in _containers(o)
                if c["image"].startswith("animerec/")}
    for image in sorted(rendered - images):
        errors.append(f"the chart runs image {image} but skaffold builds no such artifact")
    profiles = {p["name"]: p for p in config.get("profiles", [])}
    errors.extend(gpu_profile_errors(config, values))
    for name in ("dev", "prod"):
        paths = profiles.get(name, {}).get("manifests", {}).get("kustomize", {}).get("paths", [])
        if paths != [f"kustomize/overlays/{name}"]:
            errors.append(f"profile {name} must render kustomize/overlays/{name}, renders {paths}")
    for profile in profiles.values():
        for path in profile.get("manifests", {}).get("kustomize", {}).get("paths", []):
            if not (ROOT / path / "kustomization.yaml").exists():
                errors.append(f"profile {profile['name']}: no kustomization in {path}")
    for fwd in config.get("portForward", []):
        if fwd["resourceType"] == "service":
            svc = default_render.get("Service", fwd["resourceName"])
            if svc is None or not any(p["port"] == fwd["port"] for p in svc["spec"]["ports"]):
                errors.append(f"portForward: no rendered Service {fwd['resourceName']} with port {fwd['port']}")
    return errors


def gpu_profile_errors(config: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Profile gpu builds the chart's GPU training image with GPU TensorFlow and trains on GPUs; the default
    build trains on CPU (its setValues), so it never deploys a GPU image it did not build."""
    errors = []
    release = config["manifests"]["helm"]["releases"][0]
    if str(release.get("setValues", {}).get("pipelines.gpu.count")) != "0":
        errors.append("the default skaffold deploy must set pipelines.gpu.count: \"0\" (it builds no GPU image)")
    gpu = next((p for p in config.get("profiles", []) if p["name"] == "gpu"), None)
    if gpu is None:
        return [*errors, "no skaffold profile gpu (GPU TensorFlow pipelines image)"]
    added = [op["value"] for op in gpu.get("patches", []) if op["path"] == "/build/artifacts/-"]
    wanted = values["pipelines"]["image"]["gpuRepository"]
    built = [a for a in added if a["image"] == wanted]
    if not built or built[0].get("docker", {}).get("buildArgs", {}).get("TENSORFLOW") != "gpu":
        errors.append(f"profile gpu does not build {wanted} with --build-arg TENSORFLOW=gpu")
    sets = {op["path"].rsplit("/", 1)[-1]: op.get("value") for op in gpu.get("patches", [])}
    if sets.get("pipelines.gpu.count") in (None, "0"):
        errors.append("profile gpu does not train on GPUs (pipelines.gpu.count)")
    if "pipelines.image.gpuRepository" not in sets:
        errors.append("profile gpu does not point pipelines.image.gpuRepository at the image it builds")
    return errors


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    from deploy.crossref import containers

    return [c for _, c in containers(obj)]
