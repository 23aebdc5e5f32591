"""Bad input never gets a 5xx on any route (surrogates, NUL, deep nesting, huge bodies), and a Redis restart
under load costs no request: stale pooled connections are retried on a new connection, and counted."""

import asyncio
import re
import uuid

import httpx
import pytest
import redis

from animerec.api.app import create_app
from animerec.api.settings import ApiSettings
from animerec.common import config

from .conftest import LiveServer

pytestmark = pytest.mark.integration

ROUTES = ["/v1/users/{x}/recommendations", "/v1/anime/{x}", "/v1/anime/{x}/similar", "/?user={x}", "/v1/trending?n={x}",
          "/v1/users/Xinil/recommendations?genres={x}", "/v1/users/Xinil/recommendations?type={x}",
          "/?user=Xinil&genres={x}", "/docs?x={x}", "/healthz?x={x}", "/openapi.json?{x}"]
BAD = ["%ED%A0%80", "%00", "a%00b", "%FF%FE", "%C0%AF", "..%2F..%2Fetc", "%5B" * 500, "9" * 5000, "%F0%9F%98%80",
       "-1", "1e9", "%0A", "x" * 40]
BODIES = [b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": {"request_id": "\\ud800"}}',
          b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": {"request_id": "a\\u0000b"}}',
          b'{"user": "Xinil\\u0000", "anime_id": 1, "action": "like"}',
          b'{"user": "\\udfff\\ud800", "anime_id": 1, "action": "like"}',
          b'{"user": "Xinil", "anime_id": 1, "action": "like", "token": "\\ud800"}',
          b"[" * 3000 + b"]" * 3000, b'{"a":' * 900 + b"1" + b"}" * 900,
          b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": ' + b"[" * 900 + b"]" * 900 + b"}",
          b"\xff\xfe\x00", b"", b"null", b'"\\ud800"', b'{"user": "Xinil", "anime_id": 1e400, "action": "like"}',
          b'{"user": "Xinil", "anime_id": 99999999999999999999999, "action": "like"}',
          b'{"user": "Xinil", "anime_id": 1, "action": "like", "token": "' + b"t" * 600 + b'"}']


@pytest.mark.parametrize("route", ROUTES)
def test_bad_query_and_path_values_never_get_a_5xx(client, route):
    for bad in BAD:
        r = client.get(route.format(x=bad))
        assert r.status_code < 500, (route, bad, r.status_code, r.text[:300])


@pytest.mark.parametrize("body", BODIES)
def test_bad_feedback_bodies_are_a_4xx(client, body):
    r = client.post("/v1/feedback", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (body[:80], r.status_code, r.text[:300])


def test_huge_bodies_are_refused_without_reading_them_all(client):
    r = client.post("/v1/feedback", content=b"{" + b" " * 5_000_000 + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
    for route in ("/v1/users/Xinil/recommendations", "/v1/trending", "/"):
        assert client.post(route, content=b"x" * 1_000_000).status_code == 405


def test_page_shows_an_html_error_card_never_json(client, published, monkeypatch):
    async def boom(*args, **kwargs):
        raise KeyError("a bug")
    monkeypatch.setattr(client.app.state.services.recommender, "recommendations", boom)
    r = client.get("/", params={"user": "Xinil"})
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in r.text and '"error"' not in r.text


def test_no_none_in_the_page_and_a_favicon(client, published):
    for user in ("Xinil", "Nobody_Here", ""):
        page = client.get("/", params={"user": user} if user else None)
        assert page.status_code == 200 and "None" not in page.text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_redis_restart_under_load_costs_no_request(redis_url, published):
    """Every pooled connection of the API is killed (what a Redis restart does to them) while 50 clients keep
    asking; with one retry on a new connection no request fails."""
    name = f"apitest-{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in redis_url else "?"
    core = config.core({}, redis_url=f"{redis_url}{sep}client_name={name}", kafka_bootstrap="127.0.0.1:9")
    app = create_app(core, config.load(ApiSettings, {}, version_cache_seconds=0, card_cache_size=0))
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    statuses: list[int] = []

    async def load(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            async def one(i: int) -> None:
                r = await http.get(f"/v1/users/{'Xinil' if i % 2 else 'Nobody_Here'}/recommendations")
                statuses.append(r.status_code)

            async def killer() -> int:
                killed = 0
                for _ in range(3):
                    await asyncio.sleep(0.4)
                    for c in admin.client_list():
                        if c.get("name") == name:
                            admin.client_kill_filter(_id=c["id"])
                            killed += 1
                return killed

            kill = asyncio.create_task(killer())
            sem = asyncio.Semaphore(50)

            async def bounded(i: int) -> None:
                async with sem:
                    await one(i)
            await asyncio.gather(*(bounded(i) for i in range(1500)))
            assert await kill > 0, "no API connection was killed: the test proves nothing"
            metrics = (await http.get("/metrics")).text
            retried = re.search(r"^animerec_api_redis_retries_total (\S+)$", metrics, re.M)
            assert retried and float(retried.group(1)) >= 1, "the retries are not counted"

    with LiveServer(app) as server:
        asyncio.run(load(server.url))
    admin.close()
    failed = [s for s in statuses if s != 200]
    assert len(statuses) == 1500 and not failed, f"{len(failed)} of {len(statuses)} failed: {sorted(set(failed))}"
