"""The HTTP service's request handling: bad requests get a 4xx that says what is wrong, foreign URLs
are refused (no open proxy), health follows the engine. The crawl itself is covered against the
mirror in test_integration_service.py; here a recording engine stands in for the Scrapy one."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from starlette.testclient import TestClient

from animerec.common import config
from animerec.crawler.jobs import JobResult
from animerec.crawler.service import CrawlService
from animerec.crawler.settings import CrawlerSettings


class RecordingEngine:
    def __init__(self, running=True):
        self.running = running
        self.submitted = []

    def in_flight(self):
        return 0

    def submit(self, target, **options):
        self.submitted.append((target, options))
        future = Future()
        future.set_result(JobResult(target.url, target.kind, target.source, "ok", pages=1, item_count=1,
                                    items=[{"item_type": "profile", "user_name": "Alice"}], links=3))
        return future


@pytest.fixture()
def engine():
    return RecordingEngine()


@pytest.fixture()
def client(engine):
    settings = config.load(CrawlerSettings, {}, max_urls_per_request=4, seed_max_pages=5)
    app = CrawlService(config.core({}), settings, engine, producer=None).app()
    return TestClient(app, raise_server_exceptions=True, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not JSON"),
    (b'"https://myanimelist.net/anime/1"', 422, "JSON object or a list"),
    (b'{"urls": []}', 422, "non-empty list"),
    (b'{"urls": "https://myanimelist.net/anime/1"}', 422, "non-empty list"),
    (b'{"urls": ["https://myanimelist.net/anime/1"], "priority": 1}', 422, "unknown fields: priority"),
    (b'{"urls": ["https://myanimelist.net/anime/1"], "wait": "yes"}', 422, "wait must be true or false"),
    (b'{"urls": ["https://myanimelist.net/anime/1"], "source": "anilist"}', 422, "source must be"),
    (b'["https://myanimelist.net/anime/1", "https://myanimelist.net/anime/2", "https://myanimelist.net/anime/3", '
     b'"https://myanimelist.net/anime/4", "https://myanimelist.net/anime/5"]', 413, "at most 4 URLs"),
])
def test_bad_crawl_requests(client, engine, body, status, message):
    response = client.post("/crawl", content=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert engine.submitted == []


def test_foreign_urls_are_refused_with_details(client, engine):
    response = client.post("/crawl", json={"urls": ["https://myanimelist.net/anime/1", "http://169.254.169.254/",
                                                    "https://myanimelist.net/forum/1", 7], "wait": True})
    assert response.status_code == 422
    details = response.json()["details"]
    assert [d["url"] for d in details] == ["http://169.254.169.254/", "https://myanimelist.net/forum/1", "7"]
    assert "only https://myanimelist.net and https://api.jikan.moe" in details[0]["error"]
    assert "not an anime or profile URL" in details[1]["error"]
    assert engine.submitted == []


def test_wait_crawls_each_entity_once_and_returns_items(client, engine):
    response = client.post("/crawl", json={"urls": ["https://myanimelist.net/profile/Alice",
                                                    "https://api.jikan.moe/v4/users/Alice/full"],
                                           "wait": True, "source": "mal"})
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["url"] == "https://myanimelist.net/profile/Alice" and result["status"] == "ok"
    assert result["items"] == [{"item_type": "profile", "user_name": "Alice"}]
    ((target, options),) = engine.submitted
    assert target.kind == "profile" and options == {"collect": True, "force": True}


def test_seed_validation_and_answer(client, engine):
    assert client.post("/seed/anime/top", json={"pages": 0}).status_code == 422
    assert client.post("/seed/anime/top", json={"pages": 6}).status_code == 422
    assert client.post("/seed/anime/top", json={"pages": True}).status_code == 422
    assert client.post("/seed/anime/top", json={"url": "https://evil.example"}).status_code == 422
    response = client.post("/seed/profile/recent", json={"pages": 2, "source": "jikan"})
    assert response.status_code == 200
    assert response.json()["discovered"] == 3 and response.json()["source"] == "jikan"
    ((target, options),) = engine.submitted
    assert target.kind == "seed" and target.url == "https://api.jikan.moe/v4/users" and options["max_pages"] == 2


def test_unknown_routes_and_methods(client):
    assert client.get("/crawl").status_code == 405
    assert client.post("/seed/manga/top").status_code == 404


def test_health_and_metrics(client, engine):
    assert client.get("/healthz").json() == {"status": "ok", "in_flight": 0}
    engine.running = False
    assert client.get("/healthz").status_code == 503
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "animerec_crawler_pages_total" in metrics.text


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    (b'{"urls": ["https://myanimelist.net/anime/1"], "pad": "' + b"x" * 1_100_000 + b'"}', {}, 413, "body larger"),
    (b"[" * 100_000 + b"]" * 100_000, {}, 400, "not JSON"),           # past the decoder's own depth bound
    (b'{"urls": ' + b"[" * 50 + b"]" * 50 + b"}", {}, 400, "nests deeper"),
    (b'{"urls": ["https://myanimelist.net/anime/1"]}', {"content-type": "text/plain"}, 415, "application/json"),
    (b'{"urls": ["https://myanimelist.net/anime/1"]}', {"content-type": "application/x-www-form-urlencoded"}, 415,
     "application/json"),
    (b'{"urls": ["\\ud800"]}', {}, 400, "not JSON"),                  # a lone surrogate
    (b'{"urls": [NaN]}', {}, 400, "not JSON"),
    (b"\xef\xbb\xbf{}", {}, 400, "not JSON"),
])
def test_hostile_bodies_get_a_4xx(client, engine, body, headers, status, message):
    for path in ("/crawl", "/seed/anime/top"):
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == status, (path, response.text[:200])
        assert message in response.json()["error"]
    assert engine.submitted == []


def test_oversized_body_without_content_length_gets_413(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536
    response = client.post("/crawl", content=chunks())
    assert response.status_code == 413


def test_json_with_a_parameter_in_content_type_is_accepted(client, engine):
    response = client.post("/crawl", content=b'{"urls": ["https://myanimelist.net/anime/1"], "wait": true}',
                           headers={"content-type": "application/json; charset=utf-8"})
    assert response.status_code < 400, response.text
