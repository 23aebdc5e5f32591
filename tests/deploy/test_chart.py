"""The Helm chart, its scenarios and the kustomize overlays: lint, strict schemas, CRDs, cross-references."""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml

from deploy import crossref, dashboards, kustomize_gen, render, validate, values_schema

pytestmark = pytest.mark.deploy

SCENARIOS = list(render.scenarios())
OVERLAYS = [p.name for p in render.overlays()]
RENDER_NAMES = [f"helm:{s}" for s in SCENARIOS] + [f"kustomize:{o}" for o in OVERLAYS]


def test_scenarios_and_overlays_exist():
    assert {"defaults", "minimal-external", "all-in-one", "keda-monitoring-argo"} <= set(SCENARIOS)
    assert {"dev", "prod"} <= set(OVERLAYS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_strict(scenario):
    render.helm_lint(render.scenarios()[scenario])


@pytest.mark.parametrize("name", RENDER_NAMES)
def test_objects_validate_strictly(renders, name):
    assert validate.validate(renders[name].objects, render.kubernetes_versions()) == []


@pytest.mark.parametrize("check", list(crossref.CHECKS))
@pytest.mark.parametrize("name", RENDER_NAMES)
def test_cross_references(renders, name, check):
    assert crossref.CHECKS[check](renders[name]) == []


def test_scenarios_render_what_they_promise(renders):
    kinds = {n: {o["kind"] for o in r.objects} for n, r in renders.items()}
    assert {"ScaledObject", "ServiceMonitor", "PrometheusRule", "CronWorkflow"} <= kinds["helm:keda-monitoring-argo"]
    assert {"StatefulSet", "Ingress"} <= kinds["helm:all-in-one"]
    assert "StatefulSet" not in kinds["helm:minimal-external"]
    assert "CronWorkflow" not in kinds["helm:minimal-external"]
    assert {"ScaledObject", "ServiceMonitor", "PrometheusRule"} <= kinds["kustomize:prod"]
    assert "StatefulSet" in kinds["kustomize:dev"] and "ScaledObject" not in kinds["kustomize:dev"]
    dashboards_cm = [o for o in renders["helm:keda-monitoring-argo"].of_kind("ConfigMap")
                     if o["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert sorted(o["metadata"]["name"] for o in dashboards_cm) == ["animerec-dashboard-data",
                                                                   "animerec-dashboard-operations"]


def test_gpu_settings_reach_training(renders):
    local = [o for o in renders["helm:all-in-one"].of_kind("CronJob") if "pipeline-" in o["metadata"]["name"]]
    assert len(local) == 2
    for cron in local:
        pod = crossref.pod_spec(cron)
        assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    prod = renders["kustomize:prod"].get("CronJob", "animerec-pipelines")
    env = crossref.env_of(crossref.pod_spec(prod)["containers"][0])
    assert env["ANIMEREC_PIPELINES_GPU_COUNT"] == "1"
    assert env["ANIMEREC_PIPELINES_GPU_TOLERATIONS"] == "nvidia.com/gpu:NoSchedule"
    kfp = renders["helm:keda-monitoring-argo"].get("CronJob", "animerec-pipelines")
    env = crossref.env_of(crossref.pod_spec(kfp)["containers"][0])
    assert env["ANIMEREC_PIPELINES_GPU_NODE_SELECTOR"] == "nvidia.com/gpu.present=true"
    assert env["ANIMEREC_PIPELINES_GPU_TOLERATIONS"] == "nvidia.com/gpu:NoSchedule"
    # The GPU TensorFlow build, from the scenario's registry, pinned by digest.
    assert env["ANIMEREC_PIPELINES_IMAGE"].startswith("registry.example.test/animerec/pipelines-gpu:0.1.0@sha256:")


def test_generated_files_are_current():
    assert values_schema.main(["--check"]) == 0, "run: make chart-docs"
    assert dashboards.main(["--check"]) == 0, "run: make dashboards"
    assert kustomize_gen.main(["--check"]) == 0, "run: make kustomize"


# --- the checks fail when they should ------------------------------------------------------------------------


def test_values_schema_rejects_a_typo():
    with pytest.raises(render.RenderError, match="replica"):
        render.helm_template(None, "--set", "api.replica=3")


def test_keda_refuses_more_replicas_than_partitions():
    with pytest.raises(render.RenderError, match=r"exceeds the partitions of topic animerec\.schedule\.anime"):
        render.helm_template(None, "--set", "keda.enabled=true", "--set", "keda.crawler.maxReplicas=7")


def test_external_dependencies_need_their_secrets():
    with pytest.raises(render.RenderError, match=r"postgresql\.existingSecret is required"):
        render.helm_template(None, "--set", "postgresql.deploy=false")


def test_undocumented_value_is_refused(tmp_path):
    shutil.copytree(render.CHART, tmp_path / "chart")
    values = tmp_path / "chart" / "values.yaml"
    values.write_text(values.read_text() + "\nundocumented: 1\n")
    with pytest.raises(values_schema.ValuesError, match="undocumented"):
        values_schema.generate(tmp_path / "chart")


def test_validator_rejects_unknown_fields_and_removed_apis(renders):
    deployment = copy.deepcopy(renders["helm:defaults"].get("Deployment", "animerec-api"))
    deployment["spec"]["replica"] = 2
    assert any("replica" in e for e in validate.validate([deployment], ["1.29.0"]))
    ingress = {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "old"}, "spec": {}}
    assert any("unknown or removed API" in e for e in validate.validate([ingress], ["1.29.0"]))
    scaled = copy.deepcopy(renders["helm:keda-monitoring-argo"].of_kind("ScaledObject")[0])
    scaled["spec"]["maxReplicas"] = 3
    assert validate.validate([scaled], ["1.29.0"]) == [f"ScaledObject/{scaled['metadata']['name']}: "
                                                       "unknown field spec.maxReplicas"]
    workflow = copy.deepcopy(renders["helm:keda-monitoring-argo"].of_kind("CronWorkflow")[0])
    del workflow["spec"]["workflowSpec"]["metrics"]["prometheus"][0]["gauge"]["realtime"]
    assert any("realtime" in e for e in validate.validate([workflow], ["1.29.0"]))


def _mutated(r: render.Render, change) -> render.Render:
    objects = copy.deepcopy(list(r.objects))
    change(objects)
    return render.Render(r.name, tuple(objects), r.source)


def test_cross_reference_checks_catch_mismatches(renders):
    base = renders["helm:keda-monitoring-argo"]

    def wrong_group(objs):
        next(o for o in objs if o["kind"] == "ScaledObject")["spec"]["triggers"][0]["metadata"]["consumerGroup"] = "x"

    def wrong_topic(objs):
        next(o for o in objs if o["kind"] == "ScaledObject")["spec"]["triggers"][0]["metadata"]["topic"] = "a.b"

    def wrong_port(objs):
        next(o for o in objs if o["kind"] == "ServiceMonitor")["spec"]["endpoints"][0]["port"] = "nope"

    def missing_target(objs):
        objs[:] = [o for o in objs if not (o["kind"] == "Deployment" and o["metadata"]["name"] == "animerec-landing")]

    def root_container(objs):
        api = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "animerec-api")
        api["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False

    assert any("consumerGroup 'x'" in e for e in crossref.check_scaledobjects(_mutated(base, wrong_group)))
    assert any("a.b is not in schemas/topics.yaml" in e
               for e in crossref.check_scaledobjects(_mutated(base, wrong_topic)))
    assert any("no port named 'nope'" in e for e in crossref.check_servicemonitors(_mutated(base, wrong_port)))
    assert any("not a rendered Deployment" in e for e in crossref.check_scaledobjects(_mutated(base, missing_target)))
    assert any("not read-only" in e for e in crossref.check_hardening(_mutated(base, root_container)))


def test_alerts_and_dashboards_use_metrics_the_services_define(renders):
    rules = renders["kustomize:prod"].of_kind("PrometheusRule")
    used = crossref.used_metrics([yaml.safe_dump(r["spec"]) for r in rules])
    assert {"animerec_api_requests_total", "animerec_crawler_pages_total", "animerec_landing_lag_messages"} <= used
    assert used - crossref.ARGO_METRICS <= crossref.defined_metrics()
