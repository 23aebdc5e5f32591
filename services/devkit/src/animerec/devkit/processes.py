"""Helpers for tests that run crawler processes against the offline mirror (crawler and end-to-end tests)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from animerec.common.config import CoreSettings
from animerec.common.kafka import EventConsumer


def stop(proc: subprocess.Popen[Any], timeout: float = 30.0, sig: int | None = signal.SIGTERM) -> int:
    """Send `sig` (none: the process was already told), wait up to `timeout`, then SIGKILL; the exit code."""
    if proc.poll() is None:
        if sig is not None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def animerec_command() -> list[str]:
    script = Path(sys.executable).parent / "animerec"
    return [str(script)] if script.exists() else [shutil.which("animerec") or "animerec"]


class Proc:
    """A crawler process (worker or serve) with its output in a file, for the failure message."""

    def __init__(self, args: list[str], env: dict[str, str], log_path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(animerec_command() + args, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 30) -> int:
        code = stop(self.popen, timeout)
        self._log.close()
        return code


def core_env(core: CoreSettings) -> dict[str, str]:
    """The variables that point an `animerec` subprocess at `core`'s PostgreSQL, Kafka and Redis (JSON logs, no
    metrics port)."""
    return {
        "ANIMEREC_POSTGRES_URL": core.postgres_url, "ANIMEREC_KAFKA_BOOTSTRAP": core.kafka_bootstrap,
        "ANIMEREC_TOPIC_PREFIX": core.topic_prefix, "ANIMEREC_REDIS_URL": core.redis_url,
        "ANIMEREC_REDIS_PREFIX": core.redis_prefix,
        "ANIMEREC_KAFKA_SESSION_TIMEOUT_MS": str(core.kafka_session_timeout_ms),
        "ANIMEREC_METRICS_PORT": "0", "ANIMEREC_LOG_FORMAT": "json",
    }


def mirror_crawler(**crawler: object) -> dict[str, str]:
    """ANIMEREC_CRAWLER_* for crawling the offline mirror: it is ours, so no politeness delay, no throttling and a
    quick retry; `crawler` (setting names in lower case) on top."""
    fast: dict[str, object] = {"mal_delay_s": 0, "autothrottle": "false", "mal_rate_per_min": 0,
                               "backoff_base_s": 0.2}
    return {f"ANIMEREC_CRAWLER_{k.upper()}": str(v) for k, v in {**fast, **crawler}.items()}


def crawler_env(settings: CoreSettings, mirror_url: str, **crawler: object) -> dict[str, str]:
    """Environment of a crawler process: the test's Kafka / PostgreSQL / Redis, requests to the mirror, fast pacing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANIMEREC_")}
    env.update(core_env(settings))
    tests: dict[str, object] = {"mal_base_url": mirror_url, "jikan_base_url": mirror_url + "/v4",
                                "concurrent_per_host": 4, "jikan_rate_per_s": 50, "jikan_rate_per_min": 3000,
                                "backoff_max_s": 2, "bookkeeping_flush_s": 0.2, "shutdown_grace_s": 10}
    env.update(mirror_crawler(**{**tests, **crawler}))
    return env


def wait_until(predicate, timeout: float, what: str, interval: float = 0.25, procs_to_show=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    logs = "\n\n".join(p.output() for p in procs_to_show)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")


def read_topic(settings, topic: str, group: str, idle_s: float = 2.0, timeout: float = 30.0):
    """Every message of a topic (a fresh consumer group from the start), until nothing new for idle_s."""
    got = []
    with EventConsumer(settings, group, [topic], check=False) as consumer:
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(300)
            got += batch
            if batch:
                last = time.monotonic()
            elif got and time.monotonic() - last > idle_s:
                break
    return got


def start_serve(start, env: dict[str, str], timeout: float = 90) -> tuple[Proc, str]:
    """`animerec crawl serve` on a free port, waited for until /healthz answers: (process, base URL).
    `start(args, env)` makes the Proc, so the caller decides where its log goes and who stops it."""
    import httpx

    from animerec.devkit import tansu

    port = tansu.free_port()
    serve = start(["crawl", "serve", "--host", "127.0.0.1", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout, "crawl serve /healthz", procs_to_show=[serve])
    except AssertionError:
        serve.stop(10)
        raise
    return serve, base
