import dataclasses
import signal
import subprocess
import sys

import pytest

from animerec.common import config
from animerec.devkit.processes import crawler_env, mirror_crawler, stop


def _child(code: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", f"import signal, sys, time\n{code}\nprint('up', flush=True)\n"
                             "time.sleep(60)"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"   # its handlers are in place
    return proc


def test_stop_signals_then_waits():
    assert stop(_child(""), timeout=10) == -signal.SIGTERM


def test_stop_kills_what_ignores_the_signal():
    proc = _child("signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    assert stop(proc, timeout=0.5) == -signal.SIGKILL


def test_stop_without_a_signal_only_waits_then_kills():
    assert stop(_child(""), timeout=0.3, sig=None) == -signal.SIGKILL


def test_a_finished_process_keeps_its_exit_code():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    assert stop(proc) == 3


def test_mirror_crawler_names_only_real_crawler_settings():
    crawler = pytest.importorskip("animerec.crawler.settings")
    env = mirror_crawler(max_inflight=16, mal_delay_s=1)
    names = {f.name for f in dataclasses.fields(crawler.CrawlerSettings)}
    assert {k.removeprefix("ANIMEREC_CRAWLER_").lower() for k in env} <= names
    s = config.load(crawler.CrawlerSettings, env)
    assert (s.mal_delay_s, s.autothrottle, s.mal_rate_per_min, s.max_inflight) == (1, False, 0, 16)
    assert s.backoff_base_s == 0.2


def test_crawler_env_points_at_the_mirror_and_takes_overrides():
    core = config.core({})
    env = crawler_env(core, "http://127.0.0.1:1", concurrent_per_host=8, max_inflight=3)
    assert env["ANIMEREC_CRAWLER_JIKAN_BASE_URL"] == "http://127.0.0.1:1/v4"
    assert (env["ANIMEREC_CRAWLER_CONCURRENT_PER_HOST"], env["ANIMEREC_CRAWLER_MAX_INFLIGHT"]) == ("8", "3")
    assert env["ANIMEREC_POSTGRES_URL"] == core.postgres_url and env["ANIMEREC_CRAWLER_MAL_DELAY_S"] == "0"
