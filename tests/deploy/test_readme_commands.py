"""The README's "Running on a cluster" commands, rendered exactly as written: each `helm install` becomes a
`helm template` with the same flags, each `kubectl apply -k` a `kubectl kustomize`, each skaffold profile must exist,
and what they install must be installable: every check of `make charts` passes on it, an external dependency is
not also deployed, the Secrets it needs are the ones the README creates, the images come from the registry it
names."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from deploy import crossref, install_order, render, skaffold_check

pytestmark = pytest.mark.deploy

SECTION = "## Running on a cluster"
README = render.ROOT / "README.md"


def commands() -> list[list[str]]:
    text = README.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    found = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                found.append(shlex.split(line))
    return found


def helm_installs() -> list[list[str]]:
    return [c for c in commands() if c[:2] in (["helm", "install"], ["helm", "upgrade"])]


def sets(command: list[str]) -> dict[str, str]:
    return dict(command[i + 1].split("=", 1) for i, a in enumerate(command) if a == "--set")


def secrets_created_before(command: list[str]) -> set[str]:
    created = set()
    for c in commands():
        if c is command:
            break
        if c[:1] == ["kubectl"] and "create" in c and "secret" in c:
            created.add(c[c.index("generic") + 1])
    return created


def render_install(command: list[str]) -> render.Render:
    """`helm install NAME CHART flags...` as `helm template NAME CHART flags...` (install-only flags dropped)."""
    args = [a for a in command[2:] if a not in ("--create-namespace", "--wait", "--atomic")]
    name, chart, flags = args[0], render.ROOT / args[1], args[2:]
    assert name == render.RELEASE and chart == render.CHART, "the README installs another release or chart"
    objects = render.parse(render.run([render.tool("helm"), "template", name, str(chart), *flags]))
    return render.Render("readme:" + " ".join(command[2:4]), objects, "helm")


def test_the_readme_shows_the_commands_this_test_renders():
    kinds = {tuple(c[:2]) for c in commands()}
    assert ("helm", "install") in kinds and ("helm", "test") in kinds and ("skaffold", "build") in kinds
    assert len(helm_installs()) == 2


@pytest.mark.parametrize("index", range(2))
def test_each_helm_install_renders_and_installs_in_order(index):
    command = helm_installs()[index]
    r = render_install(command)
    assert install_order.check(r) == []
    failures = {name: errs for name, check in crossref.CHECKS.items() if (errs := check(r))}
    assert failures == {}
    external = {name for kind, name in install_order.replay(list(r.objects)).external if kind == "Secret"}
    assert external <= secrets_created_before(command), "the README does not create every Secret it needs"


@pytest.mark.parametrize("index", range(2))
def test_each_helm_install_deploys_what_it_says(index):
    command = helm_installs()[index]
    r = render_install(command)
    values = sets(command)
    statefulsets = {o["metadata"]["name"] for o in r.of_kind("StatefulSet")}
    for dep in ("kafka", "postgresql", "redis"):
        bundled = f"{render.RELEASE}-{dep}" in statefulsets
        assert bundled == (values.get(f"{dep}.deploy") != "false"), dep
    if "kafka.bootstrap" in values:
        assert crossref.core_config(r)["ANIMEREC_KAFKA_BOOTSTRAP"] == values["kafka.bootstrap"]
    registry = values["image.registry"]
    images = {c["image"] for o in r.objects for _, c in crossref.containers(o)}
    ours = {i for i in images if "/animerec/" in i}
    assert ours and all(i.startswith(f"{registry}/animerec/") for i in ours)
    assert r.get("Pod", f"{render.RELEASE}-test") is not None, "`helm test` needs the test Pod"


def test_skaffold_and_kustomize_commands_exist():
    config = skaffold_check.load()
    profiles = {p["name"] for p in config["profiles"]}
    pushed = None
    for c in commands():
        if c[0] == "skaffold":
            assert {c[i + 1] for i, a in enumerate(c) if a == "-p"} <= profiles, c
            if c[1] == "build":
                pushed = c
        if c[:3] == ["kubectl", "apply", "-k"]:
            assert render.kustomize(render.ROOT / c[3]), c
    # What skaffold pushes is what the helm commands pull: <default-repo>/animerec/<service>:<tag>.
    assert pushed is not None and "--push" in pushed
    repo, tag = pushed[pushed.index("--default-repo") + 1], pushed[pushed.index("--tag") + 1]
    assert tag == yaml.safe_load((render.CHART / "Chart.yaml").read_text())["appVersion"]
    assert all(sets(c)["image.registry"] == repo for c in helm_installs())
