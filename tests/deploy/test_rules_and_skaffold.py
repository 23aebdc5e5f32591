"""Alert rules (promtool check + unit tests), skaffold.yaml, and the chart's pipeline submitter."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from deploy import crossref, render, skaffold_check, verify

pytestmark = pytest.mark.deploy


def _need_promtool():
    if shutil.which("promtool") is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI (Debian package prometheus, installed by .ci/run)")
        pytest.skip("promtool not installed (apt-get install prometheus)")


@pytest.mark.parametrize("name", ["helm:keda-monitoring-argo", "kustomize:prod"])
def test_alert_rules_pass_promtool_and_their_unit_tests(renders, name, tmp_path):
    _need_promtool()
    assert verify.rule_groups(renders[name]), f"{name} renders no alert rules"
    assert verify.run_promtool(renders[name], tmp_path) == []


def test_promtool_unit_tests_can_fail(renders, tmp_path):
    """Raise a threshold: the tests written for the shipped one must now fail."""
    _need_promtool()
    r = renders["helm:keda-monitoring-argo"]
    objects = [yaml.safe_load(yaml.safe_dump(o)) for o in r.objects]
    for rule in (x for o in objects if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for x in g["rules"]):
        if rule.get("alert") == "AnimerecApi5xxRatioHigh":
            rule["expr"] = rule["expr"].replace("> 0.01", "> 0.5")
    errors = verify.run_promtool(render.Render(r.name, tuple(objects), r.source), tmp_path)
    assert len(errors) == 1 and "AnimerecApi5xxRatioHigh" in errors[0]


def test_missing_promtool_is_a_clear_skip_here_and_a_failure_in_ci(renders, monkeypatch, tmp_path):
    """`make charts` must not fail where promtool cannot be installed, and CI must never skip it."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no promtool on it
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(verify.Skipped, match="alert rules NOT tested"):
        verify.run_promtool(renders["helm:keda-monitoring-argo"], tmp_path)
    monkeypatch.setenv("CI", "true")
    assert verify.run_promtool(renders["helm:keda-monitoring-argo"], tmp_path) == [
        "promtool not found (Debian package prometheus; .ci/run installs it)"]


def test_skaffold_yaml_matches_schema_and_repository(renders):
    config = skaffold_check.load()
    assert skaffold_check.schema_errors(config) == []
    assert skaffold_check.repository_errors(config, renders["helm:defaults"]) == []


def test_skaffold_schema_rejects_a_typo():
    config = skaffold_check.load()
    config["build"]["artifacts"][0]["dockerfle"] = "x"
    config["profiles"][0]["name"] = ""
    errors = skaffold_check.schema_errors(config)
    assert any("dockerfle" in e for e in errors) and any("profiles[0].name" in e for e in errors)


def _submit_module():
    spec = importlib.util.spec_from_file_location("submit_pipelines", render.CHART / "files" / "submit_pipelines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_pipeline_submitter_compiles_with_the_charts_gpu_settings(renders, monkeypatch, tmp_path):
    """Run the CronJob's script with the rendered env: real `animerec pipeline compile`, a recording kfp client."""
    if shutil.which("animerec", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the animerec command is not installed in this environment")
    try:
        import kfp

        import animerec.pipelines.cli  # noqa: F401
    except ImportError:
        pytest.skip("the pipelines package is not installed (make setup)")
    cron = renders["helm:keda-monitoring-argo"].get("CronJob", "animerec-pipelines")
    container = crossref.pod_spec(cron)["containers"][0]
    env = {k: v for k, v in crossref.env_of(container).items() if isinstance(v, str)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KFP_PACKAGE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    submitted = []

    class Client:
        def __init__(self, host):
            self.host = host

        def create_run_from_pipeline_package(self, package, arguments, run_name, experiment_name):
            submitted.append((self.host, Path(package), run_name, experiment_name, arguments))
            return type("Run", (), {"run_id": f"run-{len(submitted)}"})()

    monkeypatch.setattr(kfp, "Client", Client)
    assert _submit_module().main() == 0
    assert [(h, p.name, e) for h, p, _, e, _ in submitted] == [
        ("http://ml-pipeline.kubeflow.svc:8888", "user-anime.yaml", "animerec"),
        ("http://ml-pipeline.kubeflow.svc:8888", "anime-anime.yaml", "animerec")]
    compiled = (tmp_path / "user-anime.yaml").read_text()
    assert "nvidia.com/gpu" in compiled and "animerec/pipelines-gpu:0.1.0" in compiled  # the GPU TensorFlow build
    # Issue 14 item 3: every input the pipelines require is passed, and no URL or password is a run argument;
    # the tasks that reach PostgreSQL and Redis read the URLs from the chart's Secrets.
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    for _, package, _, _, arguments in submitted:
        assert arguments == {"publish": True}
        docs = list(yaml.safe_load_all(package.read_text()))
        params = docs[0]["root"]["inputDefinitions"]["parameters"]
        assert {n for n, p in params.items() if not p.get("isOptional")} <= set(arguments)
        assert "postgresql://" not in package.read_text() and "redis://" not in package.read_text()
        executors = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        bound = {name: {(s["secretName"], k["secretKey"], k["envVar"]) for s in spec.get("secretAsEnv", [])
                        for k in s["keyToEnv"]} for name, spec in executors.items()}
        pg, redis = ((secrets[var]["name"], secrets[var]["key"], var)
                     for var in ("ANIMEREC_POSTGRES_URL", "ANIMEREC_REDIS_URL"))
        assert pg in bound["exec-extract-world"] and pg in bound["exec-record-run"]
        assert {pg, redis} <= bound["exec-publish-lists"]
