"""The chart's `helm test` Pod and its script (charts/animerec/files/helm_test.py), run against an HTTP server
answering as the API does in each state: not ready, nothing published, fallbacks only, model recommendations."""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploy import crossref, install_order, render

pytestmark = pytest.mark.deploy


def _script():
    spec = importlib.util.spec_from_file_location("helm_test", render.CHART / "files" / "helm_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def api():
    """A server whose answers the test sets: path -> (status, body)."""
    answers: dict[str, tuple[int, object]] = {}
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            status, body = answers.get(self.path.split("?")[0], (404, {"error": "not_found"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", answers, seen
    server.shutdown()


READY = {"status": "ready", "checks": {"redis": "ok", "kafka": "ok", "published": "yes"}, "version": "v1"}


def test_passes_when_a_known_user_gets_model_recommendations(api):
    base, answers, seen = api
    answers["/readyz"] = (200, READY)
    answers["/v1/users/ann%20b/recommendations"] = (200, {"source": "model", "items": [{"anime_id": 1}]})
    passed = _script().check(base, "ann b", wait_seconds=0)
    assert passed == ["API ready", "version v1 published", "1 model recommendations for 'ann b'"]
    assert seen[-1] == "/v1/users/ann%20b/recommendations?n=5"


@pytest.mark.parametrize(("readyz", "recs", "message"), [
    ((503, {"status": "not ready", "checks": {"redis": "unreachable"}, "version": None}), None, "/readyz answered 503"),
    ((200, {**READY, "version": None}), None, "no version published"),
    ((200, READY), (200, {"source": "fallback", "items": [{"anime_id": 1}]}), "no model recommendations"),
    ((200, READY), (200, {"source": "model", "items": []}), "no model recommendations"),
    ((200, READY), (503, {"error": "not_published"}), "HTTP 503"),
])
def test_fails_on_each_missing_piece(api, readyz, recs, message):
    base, answers, _ = api
    answers["/readyz"] = readyz
    if recs:
        answers["/v1/users/ann/recommendations"] = recs
    script = _script()
    with pytest.raises(script.CheckFailed, match=message):
        script.check(base, "ann", wait_seconds=0)


def test_the_test_pod_is_a_hardened_test_hook_that_runs_after_the_install(renders):
    r = renders["helm:keda-monitoring-argo"]
    pod = r.get("Pod", "animerec-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert crossref.env_of(pod["spec"]["containers"][0])["ANIMEREC_TEST_API_URL"] == (
        "http://animerec-api.animerec.svc:80")
    steps = install_order.plan(list(r.objects), "install")
    assert steps[-1].label.startswith("test hook Pod/animerec-test")
    assert crossref.check_hardening(render.Render(r.name, (pod,), r.source)) == []
    # The API admits it even where only the ingress controller's namespace may reach the API.
    policy = r.get("NetworkPolicy", "animerec-api")
    sources = policy["spec"]["ingress"][0]["from"]
    assert any(crossref.matches(s.get("podSelector", {}).get("matchLabels", {}), pod["metadata"]["labels"])
               for s in sources)
