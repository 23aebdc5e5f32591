"""The API's feedback-token key comes from one Secret shared by every replica (never the ConfigMap), generated
once by the chart and kept, or the user's existingSecret; the kustomize base expects it as an external Secret."""

from __future__ import annotations

import base64
import secrets

import yaml

from animerec.api.tokens import Signer
from deploy import crossref, render
from deploy.kustomize_gen import BASE_VALUES

ENV = "ANIMEREC_API_FEEDBACK_SECRET"


def _get(objects, kind: str, name: str) -> dict:
    return next(o for o in objects if o and o["kind"] == kind and o["metadata"]["name"] == name)


def _feedback_env(deployment: dict) -> dict:
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "api"]
    (entry,) = [e for e in container["env"] if e["name"] == ENV]
    return entry


def _resolve(objects, entry: dict) -> str:
    """What kubelet puts in the pod's environment for a secretKeyRef entry."""
    ref = entry["valueFrom"]["secretKeyRef"]
    return base64.b64decode(_get(objects, "Secret", ref["name"])["data"][ref["key"]]).decode()


def test_api_reads_the_key_from_a_generated_secret_that_helm_keeps():
    objects = render.helm_template(None)
    api = _get(objects, "Deployment", "animerec-api")
    entry = _feedback_env(api)
    assert set(entry) == {"name", "valueFrom"} and entry["valueFrom"]["secretKeyRef"] == {
        "name": "animerec-api-feedback", "key": "feedback-secret"}
    secret = _get(objects, "Secret", "animerec-api-feedback")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    key = _resolve(objects, entry)
    assert len(key) >= 16
    for cm in (o for o in objects if o and o["kind"] == "ConfigMap"):
        assert ENV not in (cm.get("data") or {}) and key not in yaml.safe_dump(cm)


def test_two_replicas_accept_each_others_tokens():
    objects = render.helm_template(None)
    api = _get(objects, "Deployment", "animerec-api")
    assert api["spec"].get("replicas", 1) >= 2 or _get(objects, "HorizontalPodAutoscaler", "animerec-api")[
        "spec"]["minReplicas"] >= 2
    # Every pod of the Deployment gets the same env: one key, so a token one replica issued checks on another.
    one, two = (Signer(_resolve(objects, _feedback_env(api)), 600) for _ in range(2))
    token = one.issue("some_user", "v1", "model")
    assert two.check(token, "some_user")[1] == "ok"
    # What the pods did before (a random key per process): the other replica calls the token forged.
    lone, other = Signer(secrets.token_urlsafe(32), 600), Signer(secrets.token_urlsafe(32), 600)
    assert other.check(lone.issue("some_user", "v1", "model"), "some_user")[1] == "forged"


def test_existing_secret_replaces_the_generated_one():
    objects = render.helm_template(None, "--set", "api.feedbackSecret.existingSecret=my-keys",
                                   "--set", "api.feedbackSecret.key=token-key")
    assert not [o for o in objects if o and o["kind"] == "Secret" and o["metadata"]["name"] == "animerec-api-feedback"]
    entry = _feedback_env(_get(objects, "Deployment", "animerec-api"))
    assert entry["valueFrom"]["secretKeyRef"] == {"name": "my-keys", "key": "token-key"}


def test_kustomize_base_expects_the_external_secret():
    assert BASE_VALUES["api"]["feedbackSecret"]["existingSecret"] == "animerec-api-feedback"
    assert "animerec-api-feedback" in crossref.EXTERNAL_SECRETS
    base = list(yaml.safe_load_all((render.KUSTOMIZE / "base" / "animerec.yaml").read_text()))
    assert not [o for o in base if o and o["kind"] == "Secret"]  # nothing random in generated files
    assert _feedback_env(_get(base, "Deployment", "animerec-api"))["valueFrom"]["secretKeyRef"]["name"] == \
        "animerec-api-feedback"
