"""Crawl throughput through the offline mirror (pages/s: Scrapy, parsing, schema checks, the sink) against
the raw HTTP GET rate of exactly the same pages with the same concurrency, measured in the same run.

The mirror runs in this process; the crawler runs in a subprocess (its Twisted reactor is per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from run import Row

from animerec.malmirror.server import run_in_thread
from animerec.malmirror.world import generate

CONCURRENCY = 8

# Runs in the subprocess: crawl every anime and profile, time it, report the fetched URLs.
_CRAWL = r"""
import json, sys, time
from concurrent.futures import wait
from animerec.common import config
from animerec.crawler import runtime, sinks, spiders, targets
fetched = []
original = spiders.JobSpider.on_page
def on_page(self, response):
    fetched.append(response.url)
    return original(self, response)
spiders.JobSpider.on_page = on_page
core = config.core()
settings = runtime.load_settings()
wanted = [targets.resolve(u, sys.argv[1]) for u in sys.argv[2:]]
with runtime.running(core, settings, sink=sinks.JsonlSink("/dev/null"), bookkeeping=False, dupefilter=False) as engine:
    started = time.perf_counter()
    futures = [engine.submit(t, force=True) for t in wanted]
    wait(futures, timeout=600)
    seconds = time.perf_counter() - started
results = [f.result() for f in futures]
print(json.dumps({"seconds": seconds, "pages": sum(r.pages for r in results),
                  "items": sum(r.item_count for r in results),
                  "failed": [r.url for r in results if r.outcome != "ok"], "urls": fetched}))
"""


def _crawl(base_url: str, source: str, urls: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANIMEREC_")}
    env.update({"ANIMEREC_CRAWLER_MAL_BASE_URL": base_url, "ANIMEREC_CRAWLER_JIKAN_BASE_URL": base_url + "/v4",
                "ANIMEREC_CRAWLER_MAL_DELAY_S": "0", "ANIMEREC_CRAWLER_AUTOTHROTTLE": "false",
                "ANIMEREC_CRAWLER_CONCURRENT_REQUESTS": str(CONCURRENCY),
                "ANIMEREC_CRAWLER_CONCURRENT_PER_HOST": str(CONCURRENCY),
                "ANIMEREC_CRAWLER_JIKAN_RATE_PER_S": "0", "ANIMEREC_CRAWLER_JIKAN_RATE_PER_MIN": "0",
                "ANIMEREC_CRAWLER_MAL_RATE_PER_MIN": "0",
                "ANIMEREC_LOG_LEVEL": "WARNING"})
    done = subprocess.run([sys.executable, "-c", _CRAWL, source, *urls], env=env, capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"crawl subprocess failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _raw_get(urls: list[str]) -> float:
    """Seconds to GET every URL (bodies read) with CONCURRENCY threads sharing one connection pool."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with httpx.Client(limits=limits, timeout=30) as client:
        def get(url: str) -> int:
            return len(client.get(url).content)
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(get, urls[:20]))  # warm the connections
            started = time.perf_counter()
            list(pool.map(get, urls))
            return time.perf_counter() - started


def run(quick: bool) -> list[Row]:
    world = generate(users=5 if quick else 40, anime=10 if quick else 60, seed=7)
    urls = [f"https://myanimelist.net/anime/{a.anime_id}" for a in world.anime]
    urls += [f"https://myanimelist.net/profile/{n}" for n in world.user_names]
    rows = []
    with run_in_thread(world) as mirror:
        for source in ("mal",) if quick else ("mal", "jikan"):
            crawl = _crawl(mirror.base_url, source, urls)
            if crawl["failed"]:
                raise RuntimeError(f"{len(crawl['failed'])} crawls failed, e.g. {crawl['failed'][:3]}")
            raw = _raw_get(crawl["urls"])
            pages = len(crawl["urls"])
            rows.append(Row(f"crawl through the mirror, {source} pages (Scrapy, parse, validate, sink)",
                            pages / crawl["seconds"], "pages/s",
                            f"raw HTTP GET of the same {pages} pages ({CONCURRENCY} threads)", pages / raw,
                            note=f"{len(urls)} anime+profiles, {crawl['items']} items", higher_is_better=True))
    return rows
