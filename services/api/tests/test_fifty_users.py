"""The issue-15 target, end to end on real data: fifty real dataset users that no batch has seen, asked for
through the web page. The offline MAL mirror serves the real catalogue and user lists (`animerec mirror serve`,
its own process), `animerec crawl serve` fetches each profile on demand, and the API folds the crawled list in
with item-kNN weights computed from the 5,000-user dataset (what `animerec publish` exports). Each user must get
a personal (fold_in) list on the page within 10 s of the first request, and no answer may be a 5xx.

Takes about two to three minutes on the 2-core machine (the mirror loads the datasets, the weights are computed
once); run it with `-m slow`. ANIMEREC_FIFTY_USERS sets how many users (default 50)."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(900)]

USERS = int(os.environ.get("ANIMEREC_FIFTY_USERS", "50"))
DEADLINE_S = 10.0


def publish_real_version(store, ratings, held_out: set[int]) -> dict:
    """Item-kNN weights from every dataset user except the held-out ones: the model has never seen them."""
    import pandas as pd

    from animerec.common import datasets
    from animerec.pipelines.foldin_export import item_knn

    ratings = ratings[~ratings.user_id.isin(held_out)]
    values = np.where(ratings.rating.to_numpy() > 0, ratings.rating.to_numpy() / 10, 0.8).astype(np.float32)
    neighbours = item_knn(ratings.user_id.to_numpy(), ratings.anime_id.to_numpy(), values, k=50)
    anime = pd.read_csv(datasets.path("anime"))
    cards = {int(r.anime_id): {"title": r.name, "genres": [g.strip() for g in str(r.genre).split(",") if g.strip()],
                               "type": r.type, "main_pic": r.image_url, "age_rating": r.age_rating,
                               "url": f"https://myanimelist.net/anime/{r.anime_id}"} for r in anime.itertuples()}
    popular = ratings.anime_id.value_counts().index[:300].tolist()
    store.publish({}, {}, cards, popular, popular, {}, neighbours=neighbours)
    return neighbours


def pick_users(ratings, n: int) -> list[int]:
    """Real dataset users (the mirror serves them as user<id>) with a few scored anime, drawn at random."""
    scored = ratings[ratings.rating > 0].groupby("user_id").size()
    ids = sorted(scored[scored >= 5].index)
    rng = np.random.default_rng(15)
    return [int(u) for u in rng.choice(ids, size=min(n * 2, len(ids)), replace=False)]


def test_fifty_real_users_get_personal_lists_within_ten_seconds(core_settings, store, tmp_path):
    pytest.importorskip("animerec.crawler.service", reason="the crawler package is not installed")
    import httpx
    import pandas as pd

    from animerec.common import datasets
    try:
        ratings = pd.read_csv(datasets.path("ratings"))
    except datasets.DatasetNotFound:
        pytest.skip("the dataset the mirror serves is not here")

    from animerec.api.app import create_app
    from animerec.api.settings import ApiSettings
    from animerec.common import config
    from animerec.devkit import tansu
    from animerec.devkit.processes import Proc, crawler_env, start_serve, wait_until

    from .conftest import LiveServer

    port = tansu.free_port()
    mirror = Proc(["mirror", "serve", "--port", str(port)], dict(os.environ), tmp_path / "mirror.log")
    mirror_url = f"http://127.0.0.1:{port}"
    serve = None
    try:
        users = pick_users(ratings, USERS)
        publish_real_version(store, ratings, set(users))  # meanwhile the mirror loads the datasets
        wait_until(lambda: _up(httpx, mirror_url), 120, "the mirror", procs_to_show=[mirror])
        serve, crawler_url = start_serve(lambda args, env: Proc(args, env, tmp_path / "serve.log"),
                                         crawler_env(core_settings, mirror_url))
        api = create_app(core_settings, config.load(ApiSettings, {}, crawler_url=crawler_url,
                                                   crawl_rate_per_minute=1000, crawl_timeout_seconds=30))
        results = []
        with LiveServer(api) as server, httpx.Client(base_url=server.url, timeout=15) as http:
            for user in users:
                if len([r for r in results if r[1] != "private"]) >= USERS:
                    break
                results.append(_ask(http, f"user{user}"))
        lines = [f"{u}: {outcome} after {t:.2f}s (statuses {sorted(set(s))})" for u, outcome, t, s in results]
        print("\n".join(lines))
        counted = [r for r in results if r[1] != "private"]
        five_xx = [r for r in results if any(s >= 500 for s in r[3])]
        slow = [r for r in counted if r[1] != "fold_in" or r[2] > DEADLINE_S]
        times = sorted(r[2] for r in counted)
        print(f"{len(counted)} users, personal within {DEADLINE_S:.0f}s: {len(counted) - len(slow)}; "
              f"median {times[len(times) // 2]:.2f}s, max {times[-1]:.2f}s; 5xx answers: {len(five_xx)}; "
              f"private profiles skipped: {len(results) - len(counted)}")
        assert not five_xx and len(counted) == USERS and not slow, "\n".join(lines)
    finally:
        if serve is not None:
            serve.stop(20)
        mirror.stop(20)


def _up(httpx, url: str) -> bool:
    try:
        return httpx.get(url + "/profile/nobody_here_at_all", timeout=2).status_code in (200, 404)
    except httpx.HTTPError:
        return False


def _ask(http, user: str) -> tuple[str, str, float, list[int]]:
    """Ask for the page like a person reloading it (the page itself polls the JSON API once a second):
    (user, outcome, seconds to a personal list, every status seen)."""
    statuses: list[int] = []
    started = time.monotonic()
    while True:
        page = http.get("/", params={"user": user})
        statuses.append(page.status_code)
        source = re.search(r'data-crawl="([a-z_]*)"', page.text)
        if "Picked for" in page.text:
            return user, "fold_in", time.monotonic() - started, statuses
        if "empty, private" in page.text:
            return user, "private", time.monotonic() - started, statuses
        if time.monotonic() - started > DEADLINE_S * 3 or (source and source.group(1) in ("failed", "not_found")):
            return user, f"none ({source.group(1) if source else '?'})", time.monotonic() - started, statuses
        time.sleep(0.5)
