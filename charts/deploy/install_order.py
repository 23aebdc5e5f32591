"""Replay what `helm install` and `helm upgrade` do with a rendered chart, in Helm's order, and find the objects
that would wait forever on a live cluster.

Helm creates, in this order: CRDs; the pre-install (pre-upgrade) hooks, sorted by weight, then kind, then name,
each hook Job or Pod run to completion before the next; the release's own objects in Helm's kind order; the
post-install (post-upgrade) hooks like the pre-hooks; and, on `helm test`, the test hooks. A Pod whose
ServiceAccount, Secret, ConfigMap or PersistentVolumeClaim does not exist yet is refused by admission or never
starts, and a hook Job that connects to a Service nobody serves yet retries until Helm's --timeout. So at each
step every object the step creates may refer only to objects that exist by then:

- ServiceAccounts (serviceAccountName), Secrets (env, envFrom, volumes, imagePullSecrets, Ingress TLS, KEDA
  TriggerAuthentication), ConfigMaps (env, envFrom, volumes), PersistentVolumeClaims (volumes), KEDA
  TriggerAuthentications (ScaledObject authenticationRef);
- Services: the host names the object connects to, read from its inline env, the ConfigMaps it loads and the
  chart's own Secrets it reads (connection URLs), matched against the release's Services.

Objects the release refers to but never renders (existingSecret, image pull Secrets, TLS Secrets) are created
by the operator before the install; they count as existing and are listed in `external`.

A hook also must not wait on a workload that needs the hook: a hook Job that connects to a Service whose pods are
created only after the hook (a pre-install migration against the bundled database) waits forever, and so does a
post-install hook when `helm install --wait` first waits for a workload that refers to what that hook creates.

    python -m deploy.install_order [scenario ...]
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from deploy.crossref import WORKLOADS as WORKLOADS_KNOWN
from deploy.crossref import containers, matches, pod_labels, pod_spec
from deploy.render import NAMESPACE, Render

# Helm's InstallOrder (pkg/release/v1/util/kind_sorter.go); kinds not listed come after, by kind name.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
    "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
    "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
    "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
]
# Hook kinds Helm runs to completion before the next hook; every other hook object only has to be created.
RUN_TO_COMPLETION = ("Job", "Pod")
# Workloads `helm install --wait` waits for before it runs the post-install hooks.
WAITED_FOR = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod")
# Kinds a Pod's admission or start needs at once: they must exist before the referring object, even within one step.
# Other references (a ScaledObject's TriggerAuthentication) are retried by their controller: the same step will do.
ORDERED = ("ServiceAccount", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service")

Key = tuple[str, str]  # (kind, name)


def key(obj: dict[str, Any]) -> Key:
    return obj["kind"], obj["metadata"]["name"]


def kind_rank(obj: dict[str, Any]) -> tuple[int, str, str]:
    kind = obj["kind"]
    rank = INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)
    return rank, kind if rank == len(INSTALL_ORDER) else "", obj["metadata"]["name"]


def hook_events(obj: dict[str, Any]) -> list[str]:
    value = obj["metadata"].get("annotations", {}).get("helm.sh/hook", "")
    return [e.strip() for e in value.split(",") if e.strip()]


def hook_weight(obj: dict[str, Any]) -> int:
    return int(obj["metadata"].get("annotations", {}).get("helm.sh/hook-weight", "0"))


# --- what an object refers to ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    kind: str
    name: str
    why: str


def _pod_refs(spec: dict[str, Any], conts: Iterable[dict[str, Any]]) -> Iterator[Ref]:
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account and account != "default":
        yield Ref("ServiceAccount", account, "serviceAccountName")
    for secret in spec.get("imagePullSecrets", []):
        yield Ref("Secret", secret["name"], "imagePullSecrets")
    for volume in spec.get("volumes", []):
        if "secret" in volume and not volume["secret"].get("optional"):
            yield Ref("Secret", volume["secret"]["secretName"], f"volume {volume['name']}")
        if "configMap" in volume and not volume["configMap"].get("optional"):
            yield Ref("ConfigMap", volume["configMap"]["name"], f"volume {volume['name']}")
        if "persistentVolumeClaim" in volume:
            yield Ref("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"], f"volume {volume['name']}")
        for source in volume.get("projected", {}).get("sources", []):
            for kind, field_name in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if field_name in source and not source[field_name].get("optional"):
                    yield Ref(kind, source[field_name]["name"], f"projected volume {volume['name']}")
    for c in conts:
        for e in c.get("env", []):
            ref = e.get("valueFrom", {})
            for kind, field_name in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if field_name in ref and not ref[field_name].get("optional"):
                    yield Ref(kind, ref[field_name]["name"], f"env {e['name']}")
        for source in c.get("envFrom", []):
            for kind, field_name in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                if field_name in source and not source[field_name].get("optional"):
                    yield Ref(kind, source[field_name]["name"], "envFrom")


def embedded_pod_specs(node: Any) -> Iterator[dict[str, Any]]:
    """Every pod spec inside an object, whatever its kind: a dict holding a `containers` list (Deployments, Jobs,
    CronJobs, Pods, and custom resources such as a FlinkDeployment's pod templates)."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield node
        for value in node.values():
            yield from embedded_pod_specs(value)
    elif isinstance(node, list):
        for item in node:
            yield from embedded_pod_specs(item)


def all_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = [c for _, c in containers(obj)]
    if obj["kind"] not in (*WORKLOADS_KNOWN, "CronWorkflow"):
        found += [c for spec in embedded_pod_specs(obj.get("spec", {}))
                  for c in [*spec.get("initContainers", []), *spec["containers"]]]
    return found


def object_refs(obj: dict[str, Any]) -> list[Ref]:
    kind = obj["kind"]
    refs: list[Ref] = []
    spec = pod_spec(obj)
    if kind == "CronWorkflow":
        spec = obj["spec"]["workflowSpec"]
    if spec is not None:
        refs.extend(_pod_refs(spec, [c for _, c in containers(obj)]))
    elif kind not in WORKLOADS_KNOWN:  # custom resources that embed pod templates (FlinkDeployment, ...)
        for embedded in embedded_pod_specs(obj.get("spec", {})):
            refs.extend(_pod_refs(embedded, [*embedded.get("initContainers", []), *embedded["containers"]]))
        account = obj.get("spec", {}).get("serviceAccount") if isinstance(obj.get("spec"), dict) else None
        if isinstance(account, str) and account and account != "default":
            refs.append(Ref("ServiceAccount", account, "spec.serviceAccount"))
    if kind == "Ingress":
        refs.extend(Ref("Secret", t["secretName"], "tls") for t in obj["spec"].get("tls", []) if t.get("secretName"))
    if kind == "TriggerAuthentication":
        refs.extend(Ref("Secret", t["name"], f"secretTargetRef {t['parameter']}")
                    for t in obj["spec"].get("secretTargetRef", []))
    if kind == "ScaledObject":
        for trigger in obj["spec"].get("triggers", []):
            auth = trigger.get("authenticationRef")
            if auth and auth.get("kind", "TriggerAuthentication") == "TriggerAuthentication":
                refs.append(Ref("TriggerAuthentication", auth["name"], "authenticationRef"))
    if kind == "RoleBinding":
        refs.extend(Ref("ServiceAccount", s["name"], "subject") for s in obj.get("subjects", [])
                    if s.get("kind") == "ServiceAccount" and s.get("namespace", NAMESPACE) == NAMESPACE)
    return refs


HOST = re.compile(r"(?:^|[/@,\s])([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?"
                  r"(?::\d+)")


def hosts_in(text: str, namespace: str) -> set[str]:
    """Service names a connection string points at: name:port, name.ns:port or name.ns.svc[.cluster.local]:port."""
    found = set()
    for m in HOST.finditer(text):
        name, ns = m.group(1), m.group(3)
        if ns is None or ns == namespace:
            found.add(name)
    return found


def secret_text(secret: dict[str, Any]) -> str:
    values = [str(v) for v in secret.get("stringData", {}).values()]
    for v in secret.get("data", {}).values():
        try:
            values.append(base64.b64decode(str(v)).decode())
        except ValueError:
            continue
    return "\n".join(values)


def connections(obj: dict[str, Any], objects: dict[Key, dict[str, Any]], namespace: str) -> set[str]:
    """Names of the release's Services an object's containers connect to (from what their settings say)."""
    texts: list[str] = []
    for c in all_containers(obj):
        for e in c.get("env", []):
            if "value" in e:
                texts.append(str(e["value"]))
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ("Secret", ref["name"]) in objects:
                secret = objects[("Secret", ref["name"])]
                texts.append(base64.b64decode(secret.get("data", {}).get(ref["key"], "")).decode(errors="replace"))
        for source in c.get("envFrom", []):
            if "configMapRef" in source and ("ConfigMap", source["configMapRef"]["name"]) in objects:
                texts.extend(str(v) for v in objects[("ConfigMap", source["configMapRef"]["name"])]
                             .get("data", {}).values())
            if "secretRef" in source and ("Secret", source["secretRef"]["name"]) in objects:
                texts.append(secret_text(objects[("Secret", source["secretRef"]["name"])]))
        texts.extend(str(a) for a in [*c.get("command", []), *c.get("args", [])])
    services = {name for kind, name in objects if kind == "Service"}
    return {h for t in texts for h in hosts_in(t, namespace)} & services


# --- the replay --------------------------------------------------------------------------------------------


@dataclass
class Step:
    """Objects Helm creates together; a hook Job or Pod step ends when it has completed."""

    label: str
    objects: list[dict[str, Any]]
    hook: bool = False


@dataclass
class Replay:
    errors: list[str] = field(default_factory=list)
    external: set[Key] = field(default_factory=set)


def plan(objects: list[dict[str, Any]], action: str) -> list[Step]:
    """Helm's steps for `install` or `upgrade`, then `test`."""
    hooks = [o for o in objects if hook_events(o)]
    regular = sorted((o for o in objects if not hook_events(o) and o["kind"] != "CustomResourceDefinition"),
                     key=kind_rank)
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition" and not hook_events(o)]

    def hook_steps(event: str) -> list[Step]:
        chosen = sorted((o for o in hooks if event in hook_events(o)), key=kind_rank)
        chosen.sort(key=hook_weight)  # stable: kind order within a weight, as Helm sorts them
        return [Step(f"{event} hook {o['kind']}/{o['metadata']['name']} (weight {hook_weight(o)})", [o], hook=True)
                for o in chosen]

    steps = [Step("CRDs", crds)] if crds else []
    steps += hook_steps(f"pre-{action}")
    steps.append(Step("release objects", regular))
    steps += hook_steps(f"post-{action}")
    steps += hook_steps("test") + hook_steps("test-success")
    return steps


def replay(objects: list[dict[str, Any]], action: str = "install", namespace: str = NAMESPACE,
           wait: bool = True) -> Replay:
    """Walk Helm's steps; report every reference to a release object that does not exist yet at its step."""
    by_key = {key(o): o for o in objects}
    steps = plan(objects, action)
    created_at: dict[Key, int] = {}
    for i, step in enumerate(steps):
        for o in step.objects:
            created_at.setdefault(key(o), i)
    result = Replay()
    existing: set[Key] = set()
    if action == "upgrade":
        # The previous release's objects exist; hooks deleted after success do not.
        existing = {key(o) for o in objects if not hook_events(o)}
        existing |= {key(o) for o in objects if hook_events(o) and "hook-succeeded" not in
                     o["metadata"].get("annotations", {}).get("helm.sh/hook-delete-policy", "before-hook-creation")}
    for i, step in enumerate(steps):
        for o in step.objects:
            who = f"{action}: {step.label}: {o['kind']}/{o['metadata']['name']}"
            for ref in object_refs(o):
                if (ref.kind, ref.name) not in by_key:
                    result.external.add((ref.kind, ref.name))
                elif ((ref.kind, ref.name) not in existing and (ref.kind, ref.name) != key(o)
                      and (ref.kind in ORDERED or created_at[(ref.kind, ref.name)] > i)):
                    later = steps[created_at[(ref.kind, ref.name)]].label
                    result.errors.append(f"{who} refers to {ref.kind}/{ref.name} ({ref.why}), which does not exist "
                                         f"yet: Helm creates it with the {later}")
            for svc in sorted(connections(o, by_key, namespace)):
                if ("Service", svc) not in existing:
                    later = steps[created_at[("Service", svc)]].label
                    result.errors.append(f"{who} connects to Service/{svc}, which does not exist yet: Helm creates "
                                         f"it with the {later}")
                elif step.hook and o["kind"] in RUN_TO_COMPLETION:
                    result.errors.extend(_waits_on_later(who, svc, i, by_key, created_at, steps))
            existing.add(key(o))
    if wait:
        result.errors.extend(_post_hooks_behind_wait(steps, by_key, namespace, action))
    return result


def _backing(svc: dict[str, Any], objects: dict[Key, dict[str, Any]]) -> list[dict[str, Any]]:
    selector = svc["spec"].get("selector", {})
    return [o for o in objects.values() if pod_spec(o) is not None and matches(selector, pod_labels(o))]


def _waits_on_later(who: str, svc: str, i: int, objects: dict[Key, dict[str, Any]], created_at: dict[Key, int],
                    steps: list[Step]) -> list[str]:
    """A hook that connects to a Service whose pods come only after the hook waits for ever."""
    errors = []
    for w in _backing(objects[("Service", svc)], objects):
        if created_at[key(w)] > i:
            errors.append(f"{who} waits on {w['kind']}/{w['metadata']['name']} (Service/{svc}), which Helm creates "
                          f"only after this hook, with the {steps[created_at[key(w)]].label}")
    return errors


def _post_hooks_behind_wait(steps: list[Step], objects: dict[Key, dict[str, Any]], namespace: str,
                            action: str) -> list[str]:
    """`helm install --wait` waits for the release's workloads before the post hooks: none may need one."""
    post = [s for s in steps if s.hook and s.label.startswith(f"post-{action}")]
    made_by_post = {key(o): s.label for s in post for o in s.objects}
    served_by_post = {name for kind, name in objects if kind == "Service"
                      and any(key(w) in made_by_post for w in _backing(objects[("Service", name)], objects))}
    errors = []
    release = next((s for s in steps if s.label == "release objects"), Step("", []))
    for w in release.objects:
        if w["kind"] not in WAITED_FOR:
            continue
        who = f"{action} --wait: {w['kind']}/{w['metadata']['name']}"
        for ref in object_refs(w):
            if (ref.kind, ref.name) in made_by_post:
                errors.append(f"{who} needs {ref.kind}/{ref.name} from the {made_by_post[(ref.kind, ref.name)]}, "
                              "which runs only after the workload is ready")
        for svc in sorted(connections(w, objects, namespace) & served_by_post):
            errors.append(f"{who} connects to Service/{svc}, served only by post-{action} hooks that run after "
                          "the workload is ready")
    return errors


def check(render: Render) -> list[str]:
    """Install, upgrade and test order of one render (kustomize renders: everything applied at once)."""
    objects = list(render.objects)
    if render.source != "helm":
        plain = [o for o in objects if not hook_events(o)]
        return [e.replace("release objects", "kubectl apply") for e in replay(plain, "install", wait=False).errors]
    errors = []
    for action in ("install", "upgrade"):
        errors.extend(replay(objects, action).errors)
    return sorted(set(errors), key=errors.index)


def main(argv: list[str] | None = None) -> int:
    from deploy.render import all_renders

    wanted = set(argv if argv is not None else sys.argv[1:])
    failed = False
    for r in all_renders():
        if wanted and r.name not in wanted and r.name.split(":", 1)[1] not in wanted:
            continue
        errors = check(r)
        print(f"{r.name}: {'ok' if not errors else f'{len(errors)} problem(s)'}")
        for e in errors:
            failed = True
            print(f"  - {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
