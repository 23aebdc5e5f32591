"""The streaming job's FlinkDeployment: rendered in its scenario, checked strictly (the CRD model and its embedded
pod template as a core/v1 Pod), wired to the same ConfigMap and Secrets as every animerec container."""

from __future__ import annotations

import copy

import pytest

from deploy import validate

pytestmark = pytest.mark.deploy


def flink(renders, scenario="helm:stream"):
    (dep,) = [o for o in renders[scenario].of_kind("FlinkDeployment") if o["metadata"]["name"].endswith("-stream")]
    return dep


def test_stream_scenario_renders_a_checkpointed_application(renders):
    dep = flink(renders)
    assert validate.validate([dep], ["1.29.0", "1.35.0"]) == []
    job = dep["spec"]["job"]
    assert (job["upgradeMode"], job["args"]) == ("last-state", ["-pym", "animerec.stream.main"])
    conf = dep["spec"]["flinkConfiguration"]
    assert conf["execution.checkpointing.dir"] == "file:///flink-data/checkpoints"
    (main,) = dep["spec"]["podTemplate"]["spec"]["containers"]
    env = {e["name"]: e for e in main["env"]}
    assert env["ANIMEREC_POSTGRES_URL"]["valueFrom"]["secretKeyRef"]["key"] == "url"
    assert env["ANIMEREC_STREAM_CHECKPOINT_DIR"]["value"] == conf["execution.checkpointing.dir"]
    claim = dep["spec"]["podTemplate"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    pvcs = {o["metadata"]["name"]: o for o in renders["helm:stream"].of_kind("PersistentVolumeClaim")}
    assert pvcs[claim]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert any(o["metadata"]["name"] == dep["metadata"]["name"] for o in renders["helm:stream"].of_kind("PodMonitor"))
    assert not any(o["kind"] == "FlinkDeployment" and o["metadata"]["name"].endswith("-stream")
                   for o in renders["helm:defaults"].objects)


def test_flink_validation_catches_typos_in_the_resource_and_its_pod_template(renders):
    dep = copy.deepcopy(flink(renders))
    dep["spec"]["job"]["upgradeMod"] = "last-state"
    assert any("upgradeMod" in e for e in validate.validate([dep], ["1.29.0"]))
    dep = copy.deepcopy(flink(renders))
    dep["spec"]["podTemplate"]["spec"]["containers"][0]["envFom"] = []
    assert any("pod template" in e and "envFom" in e for e in validate.validate([dep], ["1.29.0"]))
