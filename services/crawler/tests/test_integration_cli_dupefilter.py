"""`animerec crawl url` into the landing tables, its refusal of foreign URLs, and the shared
Redis dupefilter's rules (finished crawls only, with a TTL)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import psycopg
import pytest
import redis
import scrapy

from animerec.common import config
from animerec.crawler.dupefilter import JOB, ROOT, RecentCrawls, RecentCrawlsDupeFilter
from animerec.crawler.jobs import Job
from animerec.crawler.targets import resolve
from animerec.devkit.processes import animerec_command, crawler_env
from animerec.malmirror.server import run_in_thread
from animerec.malmirror.world import generate

pytestmark = pytest.mark.integration


def test_crawl_url_into_landing_tables_with_bookkeeping(kafka_bootstrap, crawl_db, redis_url):
    world = generate(users=3, anime=4, seed=2)
    user = world.user_names[0]
    settings = config.core({}, kafka_bootstrap=kafka_bootstrap, postgres_url=crawl_db, redis_url=redis_url)
    with run_in_thread(world) as mirror:
        env = crawler_env(settings, mirror.base_url)
        done = subprocess.run([
            *animerec_command(), "crawl", "url", "https://myanimelist.net/anime/2/Some_Title", f"https://api.jikan.moe/v4/users/{user}",
            "--sink", "postgres"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"status": "ok"' in done.stderr
    with psycopg.connect(crawl_db) as conn:
        (title,) = conn.execute("SELECT title FROM landing.anime_info WHERE anime_id = 2").fetchone()
        assert title == next(a.title for a in world.anime if a.anime_id == 2)
        (source,) = conn.execute("SELECT DISTINCT source FROM landing.profile WHERE user_name = %s", (user,)).fetchone()
        assert source == "jikan"  # the Jikan URL chose the source
        (entries,) = conn.execute("SELECT count(*) FROM landing.animelist_entry WHERE user_name = %s",
                                  (user,)).fetchone()
        assert entries == len(world.entries(0))
        crawled = dict(conn.execute("SELECT url, crawled_count FROM anime_schedule UNION ALL "
                                    "SELECT url, crawled_count FROM profile_schedule"))
    assert crawled["https://myanimelist.net/anime/2"] == 1
    assert crawled[f"https://myanimelist.net/profile/{user}"] == 1


def test_crawl_url_refuses_foreign_urls():
    from click.testing import CliRunner

    from animerec.common.cli import main
    # Refused before any crawler starts (so this runs in-process: no reactor is installed).
    done = CliRunner().invoke(main, ["crawl", "url", "https://myanimelist.net/anime/1", "https://example.com/anime/1"])
    assert done.exit_code == 2
    assert "only https://myanimelist.net and https://api.jikan.moe URLs are accepted" in done.output


def request(job, url, root):
    return scrapy.Request(url, meta={JOB: job.id, ROOT: root}, dont_filter=False)


def test_dupefilter_skips_only_recently_finished_crawls(redis_url):
    server = redis.Redis.from_url(redis_url)
    recent = RecentCrawls(server, f"t{uuid.uuid4().hex[:6]}:", ttl=1)
    anime = Job(resolve("https://myanimelist.net/anime/1"))
    again = Job(resolve("https://myanimelist.net/anime/1"))
    other_source = Job(resolve("https://myanimelist.net/anime/1", "jikan"))
    jobs = {j.id: j for j in (anime, again, other_source)}
    df = RecentCrawlsDupeFilter(server, "unused", recent=recent, jobs=jobs)

    # Not finished yet (say, its worker was killed): a redelivered request must crawl it again.
    assert not df.request_seen(request(anime, "http://mirror/anime/1", root=True))
    assert not df.request_seen(request(again, "http://mirror/anime/1", root=True))
    # Within a crawl, a page is fetched once.
    assert not df.request_seen(request(anime, "http://mirror/anime/1/_/stats", root=False))
    assert df.request_seen(request(anime, "http://mirror/anime/1/_/stats", root=False))
    assert not df.request_seen(request(again, "http://mirror/anime/1/_/stats", root=False))

    recent.mark(anime.target)   # the crawl finished: its items are in the sink
    assert df.request_seen(request(again, "http://mirror/anime/1", root=True))
    assert not df.request_seen(request(other_source, "http://mirror/v4/anime/1/full", root=True))
    time.sleep(1.2)             # past the TTL: a recrawl is possible again
    later = Job(resolve("https://myanimelist.net/anime/1"))
    jobs[later.id] = later
    assert not df.request_seen(request(later, "http://mirror/anime/1", root=True))

    off = RecentCrawls.from_url(redis_url, "x:", ttl=0)
    off.mark(anime.target)
    assert off.server is None and not off.seen(anime.target)


def test_private_list_is_a_successful_crawl_without_entries(tmp_path):
    from animerec.malmirror.faults import Faults
    world = generate(users=3, anime=4, seed=2)
    user = world.user_names[1]
    out = tmp_path / "items.jsonl"
    settings = config.core({})
    with run_in_thread(world, faults=Faults(rate_private=1.0)) as mirror:
        done = subprocess.run([
            *animerec_command(), "crawl", "url", f"https://myanimelist.net/profile/{user}", "--source", "jikan",
            "--no-bookkeeping", "--out", str(out)], env=crawler_env(settings, mirror.base_url),
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(i["item_type"] == "profile" and i["user_name"] == user for i in items)
    assert not [i for i in items if i["item_type"] == "animelist_entry"]   # load.json answered 400: restricted
