"""The checks issue 14 added to `make charts` catch what they are for: each is run on a scenario with the
defect put back (and the scenarios as shipped pass them: tests/deploy/test_chart.py runs every check on every
render)."""

from __future__ import annotations

import copy

import pytest

from deploy import crossref, render

pytestmark = pytest.mark.deploy


def _mutated(r: render.Render, change) -> render.Render:
    objects = copy.deepcopy(list(r.objects))
    change(objects)
    return render.Render(r.name, tuple(objects), r.source)


def _get(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _etl(objects):
    workflow = _get(objects, "CronWorkflow", "animerec-etl")
    return workflow["spec"]["workflowSpec"]["templates"][0]["container"]


def test_etl_results_on_the_read_only_root_are_caught(renders):
    def drop_results_dir(objects):
        container = _etl(objects)
        container["env"] = [e for e in container["env"] if e["name"] != "ANIMEREC_ETL_RESULTS_DIR"]

    errors = crossref.check_writable_dirs(_mutated(renders["helm:keda-monitoring-argo"], drop_results_dir))
    assert errors == ["CronWorkflow animerec-etl container main: ANIMEREC_ETL_RESULTS_DIR=/app/.animerec/etl is on "
                      "the read-only root filesystem (writable: ['/tmp'])"]


def test_argo_container_without_command_is_caught(renders):
    r = _mutated(renders["helm:argo-monitoring"], lambda objects: _etl(objects).pop("command"))
    assert crossref.check_argo_templates(r) == ["CronWorkflow animerec-etl template etl: container has no command"]


def test_etl_on_argo_gets_its_settings(renders):
    env = crossref.env_of(_etl(list(renders["helm:keda-monitoring-argo"].objects)))
    assert env["ANIMEREC_ETL_RESULTS_DIR"] == "/tmp/animerec/etl"
    assert env["ANIMEREC_ETL_PUSHGATEWAY_URL"] == "prometheus-pushgateway.monitoring.svc:9091"


def test_a_scrape_the_network_policies_refuse_is_caught(renders):
    def api_only(objects):
        policy = _get(objects, "NetworkPolicy", "animerec-crawler-http")
        policy["spec"]["ingress"][0]["from"] = policy["spec"]["ingress"][0]["from"][:1]

    errors = crossref.check_scrape_allowed(_mutated(renders["helm:keda-monitoring-argo"], api_only))
    assert errors == ["ServiceMonitor animerec-crawler-http: no NetworkPolicy lets Prometheus reach port 'http' of "
                      "Deployment animerec-crawler-http"]


def test_a_kafka_client_without_the_security_settings_is_caught(renders):
    def plain_keda(objects):
        for so in (o for o in objects if o["kind"] == "ScaledObject"):
            for trigger in so["spec"]["triggers"]:
                trigger.pop("authenticationRef")

    def no_ca(objects):
        api = _get(objects, "Deployment", "animerec-api")["spec"]["template"]["spec"]["containers"][0]
        api["volumeMounts"] = [m for m in api["volumeMounts"] if m["name"] != "kafka-ca"]

    base = renders["helm:keda-monitoring-argo"]
    assert any("without authenticationRef" in e for e in crossref.check_kafka_security(_mutated(base, plain_keda)))
    assert crossref.check_kafka_security(_mutated(base, no_ca)) == [
        "Deployment animerec-api container api: the Kafka CA bundle /etc/animerec/kafka-ca/ca.crt is not mounted"]


def test_gpu_training_in_a_cpu_image_is_caught(renders):
    def cpu_image(objects):
        for cron in (o for o in objects if o["kind"] == "CronJob" and "pipeline-" in o["metadata"]["name"]):
            cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = (
                "animerec/pipelines:0.1.0")

    errors = crossref.check_gpu_image(_mutated(renders["helm:all-in-one"], cpu_image))
    assert len(errors) == 2 and all("requests a GPU but runs animerec/pipelines:0.1.0" in e for e in errors)


def test_statefulset_without_a_headless_service_and_secret_on_argv_are_caught(renders):
    def old_redis(objects):
        redis = _get(objects, "StatefulSet", "animerec-redis")
        redis["spec"]["serviceName"] = "animerec-redis"
        container = redis["spec"]["template"]["spec"]["containers"][0]
        container["args"] = ["--requirepass", "$(REDIS_PASSWORD)"]
        container["env"] = [{"name": "REDIS_PASSWORD",
                             "valueFrom": {"secretKeyRef": {"name": "animerec-redis", "key": "password"}}}]

    r = _mutated(renders["helm:defaults"], old_redis)
    assert crossref.check_services(r) == ["StatefulSet animerec-redis: serviceName 'animerec-redis' is not a "
                                          "rendered headless Service"]
    assert any("Secret value REDIS_PASSWORD on the command line" in e for e in crossref.check_hardening(r))


def test_bundled_servers_read_their_passwords_from_files(renders):
    r = renders["helm:defaults"]
    pg = _get(list(r.objects), "StatefulSet", "animerec-postgresql")["spec"]["template"]["spec"]
    env = crossref.env_of(pg["containers"][0])
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgresql/password" and "POSTGRES_PASSWORD" not in env
    redis = _get(list(r.objects), "StatefulSet", "animerec-redis")["spec"]["template"]["spec"]
    assert redis["containers"][0]["args"][0] == "/run/redis/auth.conf"
    assert not redis["containers"][0].get("env")


def test_grafana_reaches_the_bundled_postgresql_when_dashboards_are_on():
    objects = render.helm_template(None, "--set", "monitoring.enabled=true")
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "animerec-postgresql")
    selectors = [s.get("namespaceSelector", {}).get("matchLabels") for s in policy["spec"]["ingress"][0]["from"]]
    assert {"kubernetes.io/metadata.name": "monitoring"} in selectors


def test_gpu_tolerations_keep_operator_and_seconds():
    """Issue 14 item 9: the compiled tolerations lost `operator` and `tolerationSeconds`."""
    from animerec.pipelines.components import toleration

    objects = render.helm_template(
        None, "--set", "pipelines.kfpEndpoint=http://kfp", "--set-json",
        'pipelines.gpu.tolerations=[{"key":"gpu","operator":"Equal","value":"a100","effect":"NoExecute",'
        '"tolerationSeconds":300},{"key":"nvidia.com/gpu","operator":"Exists"}]')
    cron = next(o for o in objects if o["kind"] == "CronJob" and o["metadata"]["name"] == "animerec-pipelines")
    env = crossref.env_of(crossref.pod_spec(cron)["containers"][0])
    specs = env["ANIMEREC_PIPELINES_GPU_TOLERATIONS"].split(",")
    assert [toleration(s) for s in specs] == [
        {"key": "gpu", "operator": "Equal", "value": "a100", "effect": "NoExecute", "toleration_seconds": 300},
        {"key": "nvidia.com/gpu", "operator": "Exists", "value": None, "effect": None, "toleration_seconds": None}]


def test_gitops_renders_are_stable_with_existing_secrets():
    """`helm template` cannot read a generated password back (no cluster): it would make a new one on every render,
    and Argo CD would rotate it under the running database. With existingSecret nothing is generated, so two
    renders are identical and the bundled servers read the password key of the user's Secret."""
    generated = [render.helm_template(None) for _ in range(2)]
    secret = [next(o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == "animerec-postgresql")
              for objs in generated]
    assert secret[0]["data"] != secret[1]["data"], "generated passwords differ per render (the GitOps problem)"
    flags = ("--set", "postgresql.existingSecret=animerec-postgres", "--set", "redis.existingSecret=animerec-redis",
             "--set", "postgresql.passwordKey=pw",
             # the API's feedback-token key is generated too, unless it comes from a Secret of the user's
             "--set", "api.feedbackSecret.existingSecret=animerec-api-feedback")
    first, second = render.helm_template(None, *flags), render.helm_template(None, *flags)
    assert first == second and not [o for o in first if o["kind"] == "Secret"]
    pg = next(o for o in first if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "animerec-postgresql")
    volume = next(v for v in pg["spec"]["template"]["spec"]["volumes"] if v["name"] == "password")
    assert volume["secret"]["secretName"] == "animerec-postgres" and volume["secret"]["items"][0]["key"] == "pw"
