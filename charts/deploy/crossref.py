"""Cross-reference and hardening checks over one rendered scenario.

Each check returns a list of error strings (empty: fine). They look at what the objects say about each other:
a ScaledObject must target a rendered Deployment and never scale past its topics' partitions; a ServiceMonitor
must select a Service whose port really reaches a container port; KEDA triggers, the topic Job and the apps
must agree on topic names and consumer groups; every container must be hardened, limited and probed.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from deploy.render import ROOT, Render

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")
# Secrets the chart expects to exist (created by an operator or charts/deploy/dev-secrets.sh), by scenario source.
EXTERNAL_SECRETS = {"animerec-postgres", "animerec-redis", "animerec-api-feedback", "animerec-tls", "animerec-kafka",
                    "animerec-kafka-ca"}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Pod":
        return obj["spec"]
    return None


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    kind = obj.get("kind")
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"].get("metadata", {}).get("labels", {})
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"].get("metadata", {}).get("labels", {})
    if kind == "CronWorkflow":
        return obj["spec"]["workflowSpec"].get("podMetadata", {}).get("labels", {})
    if kind == "Pod":
        return obj["metadata"].get("labels", {})
    return {}


def containers(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = pod_spec(obj)
    if spec is not None:
        for c in spec.get("initContainers", []):
            yield "init", c
        for c in spec.get("containers", []):
            yield "main", c
    if obj.get("kind") == "CronWorkflow":
        for template in obj["spec"]["workflowSpec"].get("templates", []):
            if "container" in template:
                yield "main", template["container"]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def configmap_env(render: Render, container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            cm = render.get("ConfigMap", ref["name"])
            env.update((cm or {}).get("data", {}))
    env.update({k: v for k, v in env_of(container).items() if isinstance(v, str)})
    return env


def workloads(render: Render) -> list[dict[str, Any]]:
    return [o for o in render.objects if o.get("kind") in (*WORKLOADS, "CronWorkflow")]


def topics_file(prefix: str) -> dict[str, dict[str, Any]]:
    """schemas/topics.yaml, keyed by full topic name (the file the apps and the topic Job read)."""
    spec = yaml.safe_load((ROOT / "schemas" / "topics.yaml").read_text())["topics"]
    return {f"{prefix}{t['name']}": {"key": key, **t} for key, t in spec.items()}


def core_config(render: Render) -> dict[str, str]:
    cm = next((o for o in render.of_kind("ConfigMap") if o["metadata"]["name"].endswith("-config")), None)
    return (cm or {}).get("data", {})


# --- checks -------------------------------------------------------------------------------------------------


def check_scaledobjects(render: Render) -> list[str]:
    errors = []
    prefix = core_config(render).get("ANIMEREC_TOPIC_PREFIX", "animerec.")
    topics = topics_file(prefix)
    for so in render.of_kind("ScaledObject"):
        name = so["metadata"]["name"]
        ref = so["spec"]["scaleTargetRef"]
        target = render.get(ref.get("kind", "Deployment"), ref["name"])
        if target is None or ref.get("kind", "Deployment") != "Deployment":
            errors.append(f"ScaledObject {name} targets {ref}, which is not a rendered Deployment")
            continue
        if "replicas" in target["spec"]:
            errors.append(f"Deployment {ref['name']} sets replicas although KEDA ScaledObject {name} owns them")
        bootstrap = core_config(render).get("ANIMEREC_KAFKA_BOOTSTRAP")
        app_env = {}
        for _, c in containers(target):
            app_env.update(configmap_env(render, c))
        max_replicas = so["spec"].get("maxReplicaCount", 100)
        for trigger in so["spec"]["triggers"]:
            if trigger["type"] != "kafka":
                continue
            meta = trigger["metadata"]
            topic = meta["topic"]
            if topic not in topics:
                errors.append(f"ScaledObject {name}: topic {topic} is not in schemas/topics.yaml (prefix {prefix!r})")
            elif topics[topic]["partitions"] < max_replicas:
                errors.append(f"ScaledObject {name}: maxReplicaCount {max_replicas} exceeds the "
                              f"{topics[topic]['partitions']} partitions of {topic}")
            if meta.get("bootstrapServers") != bootstrap:
                errors.append(f"ScaledObject {name}: bootstrapServers {meta.get('bootstrapServers')!r} is not the "
                              f"apps' ANIMEREC_KAFKA_BOOTSTRAP {bootstrap!r}")
            groups = {v for k, v in app_env.items() if k.endswith("_GROUP")}
            if meta.get("consumerGroup") not in groups:
                errors.append(f"ScaledObject {name}: consumerGroup {meta.get('consumerGroup')!r} is not the group "
                              f"the target's containers use ({sorted(groups) or 'none set'})")
    return errors


def check_servicemonitors(render: Render) -> list[str]:
    errors = []
    for sm in render.of_kind("ServiceMonitor"):
        name = sm["metadata"]["name"]
        selector = sm["spec"]["selector"].get("matchLabels", {})
        namespaces = sm["spec"].get("namespaceSelector", {}).get("matchNames")
        services = [s for s in render.of_kind("Service") if matches(selector, s["metadata"].get("labels", {}))
                    and (not namespaces or s["metadata"].get("namespace") in namespaces)]
        if not services:
            errors.append(f"ServiceMonitor {name} selects no rendered Service ({selector})")
        for endpoint in sm["spec"]["endpoints"]:
            for svc in services:
                port = next((p for p in svc["spec"]["ports"] if p.get("name") == endpoint.get("port")), None)
                if port is None:
                    errors.append(f"ServiceMonitor {name}: Service {svc['metadata']['name']} has no port named "
                                  f"{endpoint.get('port')!r}")
                    continue
                errors.extend(service_reaches_container(render, svc, port, f"ServiceMonitor {name}"))
    return errors


def service_reaches_container(render: Render, svc: dict[str, Any], port: dict[str, Any], who: str) -> list[str]:
    selector = svc["spec"].get("selector", {})
    pods = [w for w in workloads(render) if matches(selector, pod_labels(w))]
    if not pods:
        return [f"{who}: Service {svc['metadata']['name']} selects no pods"]
    target = port.get("targetPort", port["port"])
    errors = []
    for w in pods:
        ports = [p for _, c in containers(w) for p in c.get("ports", [])]
        if not any(p.get("name") == target or p.get("containerPort") == target for p in ports):
            errors.append(f"{who}: Service {svc['metadata']['name']} port {target!r} is no container port of "
                          f"{w['kind']} {w['metadata']['name']}")
    return errors


def check_services(render: Render) -> list[str]:
    errors = []
    for svc in render.of_kind("Service"):
        for port in svc["spec"]["ports"]:
            errors.extend(service_reaches_container(render, svc, port, "Service"))
    for sts in render.of_kind("StatefulSet"):
        governing = render.get("Service", sts["spec"].get("serviceName", ""))
        if governing is None or governing["spec"].get("clusterIP") != "None":
            errors.append(f"StatefulSet {sts['metadata']['name']}: serviceName {sts['spec'].get('serviceName')!r} "
                          "is not a rendered headless Service")
    for kind in ("HorizontalPodAutoscaler",):
        for hpa in render.of_kind(kind):
            ref = hpa["spec"]["scaleTargetRef"]
            if render.get(ref["kind"], ref["name"]) is None:
                errors.append(f"HPA {hpa['metadata']['name']} targets missing {ref['kind']} {ref['name']}")
    for pdb in render.of_kind("PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        if not any(matches(selector, pod_labels(w)) for w in workloads(render)):
            errors.append(f"PDB {pdb['metadata']['name']} selects no pods")
    for ing in render.of_kind("Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                svc = render.get("Service", backend["name"])
                if svc is None or not any(p.get("name") == backend["port"].get("name") for p in svc["spec"]["ports"]):
                    errors.append(f"Ingress {ing['metadata']['name']} routes to missing {backend}")
    return errors


def check_references(render: Render) -> list[str]:
    """Every Secret and ConfigMap a pod reads is rendered, or one of the documented external Secrets."""
    errors = []
    secrets = {o["metadata"]["name"] for o in render.of_kind("Secret")} | EXTERNAL_SECRETS
    configmaps = {o["metadata"]["name"] for o in render.of_kind("ConfigMap")}
    for w in workloads(render):
        who = f"{w['kind']} {w['metadata']['name']}"
        for _, c in containers(w):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref and ref["secretKeyRef"]["name"] not in secrets:
                    errors.append(f"{who}: reads unknown Secret {ref['secretKeyRef']['name']}")
                if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in configmaps:
                    errors.append(f"{who}: reads unknown ConfigMap {ref['configMapKeyRef']['name']}")
            for source in c.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                    errors.append(f"{who}: envFrom unknown ConfigMap {source['configMapRef']['name']}")
        spec = pod_spec(w) or w.get("spec", {}).get("workflowSpec", {})
        for volume in spec.get("volumes", []):
            if "configMap" in volume and volume["configMap"]["name"] not in configmaps:
                errors.append(f"{who}: mounts unknown ConfigMap {volume['configMap']['name']}")
        account = spec.get("serviceAccountName")
        if account and account != "default" and render.get("ServiceAccount", account) is None:
            errors.append(f"{who}: runs as missing ServiceAccount {account}")
    return errors


def check_topics(render: Render) -> list[str]:
    """values.yaml's topics match schemas/topics.yaml; the topic Job uses the apps' prefix and broker."""
    errors = []
    values = yaml.safe_load((ROOT / "charts" / "animerec" / "values.yaml").read_text())["topics"]
    spec = yaml.safe_load((ROOT / "schemas" / "topics.yaml").read_text())["topics"]
    camel = {re.sub(r"_(\w)", lambda m: m[1].upper(), k): k for k in spec}
    if set(camel) != set(values):
        errors.append(f"values.yaml topics {sorted(values)} differ from schemas/topics.yaml {sorted(camel)}")
    for key, topic in values.items():
        file_topic = spec.get(camel.get(key, ""), {})
        for field in ("name", "partitions"):
            if file_topic and topic[field] != file_topic[field]:
                errors.append(f"topic {key}: values.yaml {field}={topic[field]!r} but schemas/topics.yaml has "
                              f"{file_topic[field]!r}")
    config = core_config(render)
    for job in render.of_kind("Job"):
        for _, c in containers(job):
            if c.get("args") == ["topics", "create"]:
                env = configmap_env(render, c)
                for var in ("ANIMEREC_TOPIC_PREFIX", "ANIMEREC_KAFKA_BOOTSTRAP", "ANIMEREC_KAFKA_REPLICATION_FACTOR",
                            "ANIMEREC_KAFKA_MIN_INSYNC_REPLICAS", "ANIMEREC_KAFKA_TOPIC_OVERRIDES"):
                    if env.get(var) != config.get(var):
                        errors.append(f"topic Job {job['metadata']['name']}: {var}={env.get(var)!r} but the apps "
                                      f"use {config.get(var)!r}")
    return errors


def check_app_config(render: Render) -> list[str]:
    """Consumer groups the chart passes agree with the apps' own defaults (where the service is installed)."""
    errors = []
    defaults = setting_defaults()
    for w in workloads(render):
        for _, c in containers(w):
            for var, value in env_of(c).items():
                if var in defaults and var.endswith("_GROUP") and value != defaults[var]:
                    errors.append(f"{w['kind']} {w['metadata']['name']}: {var}={value!r} differs from the app's "
                                  f"default {defaults[var]!r} (KEDA and dashboards follow the chart's value)")
    return errors


def setting_defaults() -> dict[str, Any]:
    """ANIMEREC_<SVC>_<FIELD> -> default, read statically from every services/*/src/**/*.py settings class."""
    found: dict[str, Any] = {}
    for path in ROOT.glob("services/*/src/animerec/*/**/*.py"):
        tree = ast.parse(path.read_text())
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            prefix = None
            for stmt in cls.body:
                if isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "env_prefix" for t in stmt.targets):
                    prefix = ast.literal_eval(stmt.value)
            if not prefix:
                continue
            for stmt in cls.body:
                if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, ast.Call)
                        and getattr(stmt.value.func, "id", "") == "setting" and stmt.value.args):
                    default = stmt.value.args[0]
                    if (isinstance(default, ast.Call) and getattr(default.func, "id", "") == "Path"
                            and len(default.args) == 1):
                        default = default.args[0]  # Path("x"): the path's text
                    with contextlib.suppress(ValueError):  # a computed default: nothing to compare
                        found[f"{prefix}{stmt.target.id.upper()}"] = ast.literal_eval(default)
    return found


def check_hardening(render: Render) -> list[str]:
    errors = []
    for w in workloads(render):
        who = f"{w['kind']} {w['metadata']['name']}"
        spec = pod_spec(w) or w["spec"].get("workflowSpec", {})
        pod_ctx = spec.get("securityContext", {})
        if not pod_ctx.get("runAsNonRoot"):
            errors.append(f"{who}: pod securityContext lacks runAsNonRoot")
        if spec.get("automountServiceAccountToken") is not False and w["kind"] != "CronWorkflow":
            account = render.get("ServiceAccount", spec.get("serviceAccountName", ""))
            if not account or account.get("automountServiceAccountToken") is not False:
                errors.append(f"{who}: mounts a service account token it does not need")
        for role, c in containers(w):
            cwho = f"{who} container {c.get('name', role)}"
            from_secrets = {e["name"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
            for arg in [*c.get("command", []), *c.get("args", [])]:
                for var in re.findall(r"\$\((\w+)\)", str(arg)):
                    if var in from_secrets:
                        errors.append(f"{cwho}: Secret value {var} on the command line (visible in ps and events)")
            ctx = c.get("securityContext", {})
            if ctx.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{cwho}: root filesystem not read-only")
            if ctx.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{cwho}: allowPrivilegeEscalation not false")
            if "ALL" not in ctx.get("capabilities", {}).get("drop", []):
                errors.append(f"{cwho}: capabilities not dropped")
            if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
                errors.append(f"{cwho}: may run as root")
            resources = c.get("resources", {})
            for part in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in resources.get(part, {}):
                        errors.append(f"{cwho}: no {res} {part}")
            image = c.get("image", "")
            if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
                errors.append(f"{cwho}: image {image!r} has no pinned tag")
            if w["kind"] in LONG_RUNNING and role == "main":
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in c:
                        errors.append(f"{cwho}: no {probe}")
    return errors


# The service each `animerec <command>` runs, for the settings it reads (ANIMEREC_<SERVICE>_*).
COMMAND_SERVICE = {"etl": "ETL", "crawl": "CRAWLER", "land": "LANDING", "api": "API", "schedule": "SCHEDULER",
                   "pipeline": "PIPELINES", "mirror": "MALMIRROR"}
# Folders the services only read; every other *_DIR setting is written to.
READ_ONLY_DIRS = {"ANIMEREC_SCHEMAS_DIR", "ANIMEREC_DATA_DIR"}
IMAGE_WORKDIR = "/app"  # WORKDIR of every animerec image


def check_writable_dirs(render: Render) -> list[str]:
    """On a read-only root filesystem every folder a service writes to (its *_DIR settings, as set or by default)
    lies on a writable volume."""
    defaults = setting_defaults()
    errors = []
    for w in workloads(render):
        for _, c in containers(w):
            if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
                continue
            args = [*c.get("command", []), *c.get("args", [])]
            if "animerec" in args:
                args = args[args.index("animerec") + 1:]
            service = COMMAND_SERVICE.get(args[0]) if args else None
            if service is None:
                continue
            env = configmap_env(render, c)
            wanted = {k: v for k, v in defaults.items() if k.startswith(f"ANIMEREC_{service}_") and k.endswith("_DIR")}
            wanted |= {k: v for k, v in env.items() if k.endswith("_DIR") and k.startswith("ANIMEREC_")}
            mounts = [m["mountPath"].rstrip("/") for m in c.get("volumeMounts", []) if not m.get("readOnly")]
            for var, value in sorted(wanted.items()):
                if var in READ_ONLY_DIRS or value in (None, ""):
                    continue
                path = str(value) if str(value).startswith("/") else f"{c.get('workingDir', IMAGE_WORKDIR)}/{value}"
                if not any(path == m or path.startswith(m + "/") for m in mounts):
                    errors.append(f"{w['kind']} {w['metadata']['name']} container {c.get('name', 'main')}: {var}="
                                  f"{path} is on the read-only root filesystem (writable: {mounts or 'nothing'})")
    return errors


def check_argo_templates(render: Render) -> list[str]:
    """Argo's emissary executor runs a container template's `command`: an image ENTRYPOINT is looked up in the
    registry at run time, which private registries refuse."""
    return [f"CronWorkflow {w['metadata']['name']} template {t['name']}: container has no command"
            for w in render.of_kind("CronWorkflow") for t in w["spec"]["workflowSpec"].get("templates", [])
            if "container" in t and not t["container"].get("command")]


# Namespace labels of Prometheus and Grafana in every scenario (the values' defaults).
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}


def _admits(policy: dict[str, Any], namespace_labels: dict[str, str], port: Any) -> bool:
    for rule in policy["spec"].get("ingress", []):
        sources = rule.get("from")
        ports = rule.get("ports")
        if ports and not any(p.get("port") == port for p in ports):
            continue
        if not sources or any("namespaceSelector" in s and "podSelector" not in s and
                              s["namespaceSelector"].get("matchLabels", {}).items() <= namespace_labels.items()
                              for s in sources):
            return True
    return False


def check_scrape_allowed(render: Render) -> list[str]:
    """Every pod a ServiceMonitor scrapes admits Prometheus's namespace on that port through its NetworkPolicies."""
    policies = [p for p in render.of_kind("NetworkPolicy") if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    if not policies:
        return []
    errors = []
    for sm in render.of_kind("ServiceMonitor"):
        selector = sm["spec"]["selector"].get("matchLabels", {})
        for svc in (s for s in render.of_kind("Service") if matches(selector, s["metadata"].get("labels", {}))):
            for endpoint in sm["spec"]["endpoints"]:
                port = next((p for p in svc["spec"]["ports"] if p.get("name") == endpoint.get("port")), None)
                if port is None:
                    continue
                target = port.get("targetPort", port["port"])
                for w in workloads(render):
                    if not matches(svc["spec"].get("selector", {}), pod_labels(w)):
                        continue
                    selecting = [p for p in policies
                                 if matches(p["spec"]["podSelector"].get("matchLabels", {}), pod_labels(w))]
                    if selecting and not any(_admits(p, MONITORING_NAMESPACE, target) for p in selecting):
                        errors.append(f"ServiceMonitor {sm['metadata']['name']}: no NetworkPolicy lets Prometheus "
                                      f"reach port {target!r} of {w['kind']} {w['metadata']['name']}")
    return errors


def check_kafka_security(render: Render) -> list[str]:
    """Every Kafka client (each container given the bootstrap, and KEDA's triggers) connects the way the core
    settings say: SASL credentials from a Secret, the CA bundle mounted where ANIMEREC_KAFKA_SSL_CAFILE points."""
    config = core_config(render)
    protocol = config.get("ANIMEREC_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    cafile = config.get("ANIMEREC_KAFKA_SSL_CAFILE", "")
    errors = []
    for w in workloads(render):
        for _, c in containers(w):
            env = configmap_env(render, c)
            if "ANIMEREC_KAFKA_BOOTSTRAP" not in env:
                continue
            who = f"{w['kind']} {w['metadata']['name']} container {c.get('name', 'main')}"
            if env.get("ANIMEREC_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") != protocol:
                errors.append(f"{who}: Kafka security protocol {env.get('ANIMEREC_KAFKA_SECURITY_PROTOCOL')!r}, "
                              f"the apps use {protocol!r}")
            if protocol.startswith("SASL_"):
                raw = {e["name"]: e for e in c.get("env", [])}
                for var in ("ANIMEREC_KAFKA_SASL_USERNAME", "ANIMEREC_KAFKA_SASL_PASSWORD"):
                    if "secretKeyRef" not in raw.get(var, {}).get("valueFrom", {}):
                        errors.append(f"{who}: {var} does not come from a Secret")
            if cafile:
                folder = cafile.rsplit("/", 1)[0]
                if not any(m["mountPath"].rstrip("/") == folder for m in c.get("volumeMounts", [])):
                    errors.append(f"{who}: the Kafka CA bundle {cafile} is not mounted")
    for so in render.of_kind("ScaledObject"):
        for trigger in so["spec"]["triggers"]:
            if trigger["type"] == "kafka" and protocol != "PLAINTEXT" and "authenticationRef" not in trigger:
                errors.append(f"ScaledObject {so['metadata']['name']}: Kafka trigger without authenticationRef "
                              f"although the apps connect with {protocol}")
    return errors


def gpu_images() -> set[str]:
    """Repositories skaffold builds with GPU TensorFlow (--build-arg TENSORFLOW=gpu), in any profile."""
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    artifacts = list(config["build"]["artifacts"])
    artifacts += [op["value"] for p in config.get("profiles", []) for op in p.get("patches", [])
                  if op["path"] == "/build/artifacts/-"]
    return {a["image"] for a in artifacts if a.get("docker", {}).get("buildArgs", {}).get("TENSORFLOW") == "gpu"}


def repository(image: str) -> str:
    """registry/name of an image reference, without tag or digest."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def built_by(image: str, artifacts: set[str]) -> bool:
    repo = repository(image)
    return any(repo == a or repo.endswith(f"/{a}") for a in artifacts)


def check_gpu_image(render: Render) -> list[str]:
    """Training that asks for GPUs runs in a GPU TensorFlow build (a CPU wheel would ignore the GPU)."""
    errors = []
    gpu = gpu_images()
    for w in workloads(render):
        for _, c in containers(w):
            env = configmap_env(render, c)
            limits = c.get("resources", {}).get("limits", {})
            if int(env.get("ANIMEREC_PIPELINES_GPU_COUNT", "0") or 0) > 0:
                image = env.get("ANIMEREC_PIPELINES_IMAGE", "")
                if not built_by(image, gpu):
                    errors.append(f"{w['kind']} {w['metadata']['name']}: training on GPUs in {image}, not a GPU "
                                  f"build ({sorted(gpu)})")
            if any("gpu" in k for k in limits) and not built_by(c["image"], gpu):
                errors.append(f"{w['kind']} {w['metadata']['name']}: requests a GPU but runs {c['image']}")
    return errors


def check_network_policies(render: Render) -> list[str]:
    """With NetworkPolicies on, every pod is selected by a policy (the default deny or its own)."""
    policies = render.of_kind("NetworkPolicy")
    if not policies:
        return []
    errors = []
    for w in workloads(render):
        labels = pod_labels(w)
        if not any(matches(p["spec"]["podSelector"].get("matchLabels", {}), labels) for p in policies):
            errors.append(f"{w['kind']} {w['metadata']['name']}: no NetworkPolicy selects its pods")
    return errors


# --- metric names used by alerts and dashboards -------------------------------------------------------------

METRIC = re.compile(r"\b(animerec_[a-z0-9_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_created")
# Emitted by the Argo controller from the CronWorkflow's own metrics spec, not by a service's code.
ARGO_METRICS = {"animerec_etl_workflow_last_success_timestamp_seconds", "animerec_etl_workflow_runs_total",
                "animerec_etl_workflow_exit_code"}


def defined_metrics() -> set[str]:
    """Full names of the metrics the services define through animerec.common.metrics (read statically)."""
    names: set[str] = set()
    call = re.compile(r"metrics\.(?:counter|gauge|histogram)\(\s*(\w+|\"\w+\")\s*,\s*\"(\w+)\"", re.S)
    for path in list(ROOT.glob("services/*/src/**/*.py")) + list(ROOT.glob("pipelines/**/*.py")):
        text = path.read_text()
        constants = dict(re.findall(r"^(\w+)\s*=\s*\"(\w+)\"", text, re.M))
        for subsystem, name in call.findall(text):
            sub = subsystem.strip('"') if subsystem.startswith('"') else constants.get(subsystem)
            if sub:
                names.add(f"animerec_{sub}_{name}")
    return names


def used_metrics(texts: list[str]) -> set[str]:
    used = set()
    for text in texts:
        for name in METRIC.findall(text):
            for suffix in SUFFIXES:
                if name.endswith(suffix) and name.removesuffix(suffix):
                    name = name.removesuffix(suffix)
                    break
            used.add(name)
    return used


def check_metric_names(render: Render) -> list[str]:
    texts = [yaml.safe_dump(r["spec"]) for r in render.of_kind("PrometheusRule")]
    texts += [v for cm in render.of_kind("ConfigMap") if "grafana_dashboard" in cm["metadata"].get("labels", {})
              for v in cm.get("data", {}).values()]
    if not texts:
        return []
    records = {rule["record"] for r in render.of_kind("PrometheusRule") for g in r["spec"]["groups"]
               for rule in g["rules"] if "record" in rule}
    known = defined_metrics() | ARGO_METRICS
    unknown = sorted(used_metrics(texts) - known - {r.split(":")[1] for r in records if ":" in r})
    return [f"metric {name} is used by an alert or dashboard but no service defines it" for name in unknown]


CHECKS: dict[str, Callable[[Render], list[str]]] = {
    "scaledobjects": check_scaledobjects,
    "servicemonitors": check_servicemonitors,
    "services": check_services,
    "references": check_references,
    "topics": check_topics,
    "app-config": check_app_config,
    "hardening": check_hardening,
    "network-policies": check_network_policies,
    "writable-dirs": check_writable_dirs,
    "kafka-security": check_kafka_security,
    "gpu-image": check_gpu_image,
    "argo-templates": check_argo_templates,
    "scrape-allowed": check_scrape_allowed,
    "metric-names": check_metric_names,
}


def run_all(render: Render) -> dict[str, list[str]]:
    return {name: check(render) for name, check in CHECKS.items()}


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    from deploy.render import all_renders

    failed = False
    for r in all_renders():
        for check, errors in run_all(r).items():
            for e in errors:
                failed = True
                print(f"{r.name} {check}: {e}")
    sys.exit(1 if failed else 0)
