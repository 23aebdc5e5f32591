"""The install-order replay (charts/deploy/install_order.py): every scenario installs and upgrades in Helm's order,
and the replay catches the orders that hang a live install."""

from __future__ import annotations

import copy

import pytest

from deploy import install_order, render

pytestmark = pytest.mark.deploy

SCENARIOS = list(render.scenarios())
OVERLAYS = [p.name for p in render.overlays()]


@pytest.mark.parametrize("name", [f"helm:{s}" for s in SCENARIOS] + [f"kustomize:{o}" for o in OVERLAYS])
def test_every_scenario_installs_and_upgrades_in_order(renders, name):
    assert install_order.check(renders[name]) == []


def _objects(renders, name):
    return copy.deepcopy(list(renders[name].objects))


def _get(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_pre_install_hook_running_as_a_release_service_account_is_caught(renders):
    """Issue 14 item 1: hook Jobs ran as the chart's ServiceAccount, which Helm creates only after the hooks."""
    objects = _objects(renders, "helm:minimal-external")
    for job in (o for o in objects if o["kind"] == "Job"):
        job["spec"]["template"]["spec"]["serviceAccountName"] = "animerec"
    errors = install_order.replay(objects, "install").errors
    assert any("pre-install hook Job/animerec-migrate" in e and "ServiceAccount/animerec" in e
               and "does not exist yet" in e for e in errors), errors


def test_pre_install_hook_against_the_bundled_database_is_caught(renders):
    """A pre-install migration against the bundled PostgreSQL waits on pods Helm creates after it."""
    objects = _objects(renders, "helm:defaults")
    for o in objects:
        annotations = o["metadata"].get("annotations", {})
        if "helm.sh/hook" in annotations:
            annotations["helm.sh/hook"] = "pre-install,pre-upgrade"
    errors = install_order.replay(objects, "install").errors
    assert any("Job/animerec-migrate connects to Service/animerec-postgresql" in e for e in errors), errors
    assert any("Job/animerec-topics connects to Service/animerec-kafka" in e for e in errors), errors


def test_a_hook_waiting_on_pods_created_after_it_is_caught(renders):
    """The Service exists (created by an earlier hook) but its pods come with the release objects."""
    objects = _objects(renders, "helm:defaults")
    svc = _get(objects, "Service", "animerec-postgresql")
    svc["metadata"]["annotations"] = {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-100"}
    migrate = _get(objects, "Job", "animerec-migrate")
    migrate["metadata"]["annotations"]["helm.sh/hook"] = "pre-install"
    errors = install_order.replay(objects, "install").errors
    assert any("waits on StatefulSet/animerec-postgresql" in e for e in errors), errors


def test_wait_for_a_workload_that_needs_a_post_hook_is_caught(renders):
    """helm install --wait waits for the Deployments before post-install hooks: none may need a hook's object."""
    objects = _objects(renders, "helm:defaults")
    made_by_hook = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "made-by-hook", "annotations": {"helm.sh/hook": "post-install"}}}
    api = _get(objects, "Deployment", "animerec-api")
    api["spec"]["template"]["spec"]["containers"][0]["envFrom"].append({"configMapRef": {"name": "made-by-hook"}})
    errors = install_order.replay([*objects, made_by_hook], "install").errors
    assert any("--wait: Deployment/animerec-api needs ConfigMap/made-by-hook" in e for e in errors), errors
    assert install_order.replay([*objects, made_by_hook], "install", wait=False).errors != []  # still too late


def test_kind_order_and_external_objects(renders):
    objects = _objects(renders, "helm:minimal-external")
    release = next(s for s in install_order.plan(objects, "install") if s.label == "release objects")
    order = [o["kind"] for o in release.objects]
    assert order.index("ServiceAccount") < order.index("ConfigMap") < order.index("Service") < order.index("Deployment")
    result = install_order.replay(objects, "install")
    assert ("Secret", "animerec-postgres") in result.external and ("Secret", "animerec-redis") in result.external


def test_hosts_in_connection_strings():
    assert install_order.hosts_in("postgresql://u:p@animerec-postgresql.animerec.svc:5432/db", "animerec") == {
        "animerec-postgresql"}
    assert install_order.hosts_in("a.animerec.svc.cluster.local:9092,b.other.svc:9092,c:80", "animerec") == {"a", "c"}
    assert install_order.hosts_in("no host here", "animerec") == set()


def test_custom_resources_embedding_pods_are_covered():
    """A FlinkDeployment (or any custom resource with pod templates) is checked like a workload."""
    flink = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
             "metadata": {"name": "job"},
             "spec": {"serviceAccount": "flink-sa", "podTemplate": {"spec": {
                 "containers": [{"name": "flink-main-container",
                                 "envFrom": [{"configMapRef": {"name": "job-config"}}]}],
                 "volumes": [{"name": "cp", "persistentVolumeClaim": {"claimName": "job-checkpoints"}}]}}}}
    late = [{"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "annotations": {
        "helm.sh/hook": "post-install"}}} for kind, name in (("ConfigMap", "job-config"),
                                                             ("PersistentVolumeClaim", "job-checkpoints"),
                                                             ("ServiceAccount", "flink-sa"))]
    errors = install_order.replay([flink, *late], "install", wait=False).errors
    assert len(errors) == 3 and all("FlinkDeployment/job refers to" in e for e in errors), errors
