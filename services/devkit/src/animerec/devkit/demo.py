"""The whole system on one machine: mirror -> seed -> schedule -> crawl -> land -> ETL -> train -> publish -> API.

Every stage runs as the real `animerec` command in its own process, exactly as the cluster runs it;
this module only starts them in order, waits on the database, and stops everything it started.
`animerec demo` serves the result until Ctrl-C; the end-to-end test drives the same `Flow`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from animerec.common.config import CoreSettings

from . import tansu


class FlowError(RuntimeError):
    """A stage failed; the message carries the tail of that stage's log."""


@dataclass
class Stage:
    name: str
    items: str
    rows: int
    seconds: float


def shared_dir() -> Path:
    """The team's shared data: $ANIMEREC_SHARED_DIR, else ../shared beside the checkout."""
    env = os.environ.get("ANIMEREC_SHARED_DIR")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if (parent / "schemas" / "topics.yaml").is_file():
            return parent.parent / "shared"
    return Path("shared")


def http(method: str, url: str, body: dict | None = None, timeout: float = 120.0) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,  # noqa: S310 (local services only)
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw or b"null")
    except json.JSONDecodeError:
        return status, {"body": raw[:500].decode("utf-8", "replace")}


def wait_http(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise FlowError(f"{url}: the process serving it exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise FlowError(f"{url} did not answer within {timeout:.0f}s")


def bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


@dataclass
class System:
    """The processes of one local animerec, started as `animerec` subcommands with one environment."""

    env: dict[str, str]
    logdir: Path
    say: Callable[[str], None] = print
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def _cmd(self, args: list[str]) -> list[str]:
        return [sys.executable, "-m", "animerec.common.cli", *args]

    def start(self, name: str, args: list[str], **extra_env: str) -> subprocess.Popen:
        self.logdir.mkdir(parents=True, exist_ok=True)
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 (owned by the child process)
        proc = subprocess.Popen(self._cmd(args), env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.procs.append((name, proc))
        return proc

    def run(self, name: str, args: list[str], timeout: float = 900, **extra_env: str) -> str:
        """Run a stage to completion; its output goes to the log and comes back as text."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(self._cmd(args), env={**self.env, **extra_env}, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise FlowError(f"{name} did not finish within {timeout:.0f}s") from exc
        with open(self.logdir / f"{name}.log", "a") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
            raise FlowError(f"{name} failed (exit {done.returncode}):\n{tail}")
        return done.stdout

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop one process and forget it (so a watcher of the rest does not see it as crashed)."""
        for proc_name, proc in list(self.procs):
            if proc_name != name:
                continue
            if proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.procs.remove((proc_name, proc))

    def stop_all(self) -> None:
        for name, _ in reversed(list(self.procs)):
            self.stop(name)


@dataclass
class Flow:
    """The stages in order; each records a Stage row (items, rows, seconds)."""

    system: System
    core: CoreSettings
    users: int = 200                 # profiles to crawl
    anime_limit: int = 3000          # anime to crawl (those the crawled users' lists name come first)
    workers: int = 2
    say: Callable[[str], None] = print
    stages: list[Stage] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict]:
        row = {"items": "", "rows": 0}
        self.say(f"\n== {name}")
        started = time.monotonic()
        yield row
        self.stages.append(Stage(name, row["items"], row["rows"], time.monotonic() - started))
        self.say(f"   done in {self.stages[-1].seconds:.1f}s: {row['items']}")

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.core.postgres_url) as conn:
            return conn.execute(query, params).fetchall()

    def count(self, table: str) -> int:
        return self.sql(f"SELECT count(*) FROM {table}")[0][0]

    # -- stages --------------------------------------------------------------
    def start_mirror(self, world_args: list[str], faults: str | None = None) -> str:
        with self.stage("mirror") as row:
            port = tansu.free_port()
            args = ["mirror", "serve", *world_args, "--port", str(port)]
            if faults:
                args += ["--faults", faults]
            proc = self.system.start("mirror", args)
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/robots.txt", timeout=180, proc=proc)
            row["items"] = f"offline MAL at {base} ({' '.join(world_args) or 'datasets world'})"
        self.urls["mirror"] = base
        self.system.env.update(ANIMEREC_CRAWLER_MAL_BASE_URL=base, ANIMEREC_CRAWLER_JIKAN_BASE_URL=f"{base}/v4")
        return base

    def start_crawler_service(self) -> str:
        port = tansu.free_port()
        proc = self.system.start("crawler-serve", ["crawl", "serve", "--host", "127.0.0.1", "--port", str(port)])
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", timeout=120, proc=proc)
        self.urls["crawler"] = base
        return base

    def seed(self) -> None:
        with self.stage("seed") as row:
            crawler = self.urls.get("crawler") or self.start_crawler_service()
            rounds = 0
            while self.count("profile_schedule") < self.users and rounds < 50:
                status, body = http("POST", f"{crawler}/seed/profile/recent", {"pages": 10})
                if status != 200:
                    raise FlowError(f"seed/profile/recent answered {status}: {body}")
                rounds += 1
            status, body = http("POST", f"{crawler}/seed/anime/top", {"pages": 2})
            if status != 200:
                raise FlowError(f"seed/anime/top answered {status}: {body}")
            row["rows"] = self.count("profile_schedule") + self.count("anime_schedule")
            row["items"] = (f"{self.count('profile_schedule')} profile and {self.count('anime_schedule')} anime URLs "
                            f"in the schedule tables")

    def _pending(self, table: str) -> tuple[int, int]:
        """(scheduled URLs, of which crawled or given up) since the flow began."""
        done, total = self.sql(f"""SELECT count(*) FILTER (WHERE last_crawled_date >= last_scheduled_date
                                                       OR error_count > 0), count(*)
                                   FROM {table} WHERE last_scheduled_date IS NOT NULL""")[0]
        return total, done

    def crawl(self, timeout: float = 900) -> None:
        """Schedule profiles, then the anime their lists name, and let the workers crawl both."""
        with self.stage("schedule + crawl") as row:
            for i in range(self.workers):
                self.system.start(f"crawl-worker-{i}", ["crawl", "worker"])
            self.system.run("schedule-profile", ["schedule", "--kind", "profile", "--limit", str(self.users)])
            self._wait_crawled("profile_schedule", timeout)
            self.system.run("schedule-anime", ["schedule", "--kind", "anime", "--limit", str(self.anime_limit)])
            self._wait_crawled("anime_schedule", timeout)
            profiles = self._pending("profile_schedule")
            anime = self._pending("anime_schedule")
            row["rows"] = profiles[1] + anime[1]
            row["items"] = f"{profiles[1]}/{profiles[0]} profiles, {anime[1]}/{anime[0]} anime crawled"
            for i in range(self.workers):
                self.system.stop(f"crawl-worker-{i}")

    def _wait_crawled(self, table: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = -1
        while True:
            total, done = self._pending(table)
            if done != last:
                self.say(f"   {table.split('_')[0]:<8} {bar(done, total)}")
                last = done
            if done >= total:
                return
            if time.monotonic() > deadline:
                raise FlowError(f"{table}: only {done}/{total} scheduled URLs crawled within {timeout:.0f}s")
            for name, proc in self.system.procs:
                if name.startswith("crawl-worker") and proc.poll() is not None:
                    raise FlowError(f"{name} exited with {proc.returncode}; see {self.system.logdir / name}.log")
            time.sleep(1.0)

    def land(self) -> None:
        with self.stage("land") as row:
            self.system.run("land", ["land", "--once"])
            rows = self.sql("""SELECT sum(n) FROM (
                SELECT count(*) AS n FROM landing.anime_info UNION ALL SELECT count(*) FROM landing.animelist_entry
                UNION ALL SELECT count(*) FROM landing.profile UNION ALL SELECT count(*) FROM landing.anime_stats
                UNION ALL SELECT count(*) FROM landing.feedback) t""")[0][0]
            row["rows"] = int(rows or 0)
            row["items"] = (f"{self.count('landing.anime_info')} anime, {self.count('landing.profile')} profiles, "
                            f"{self.count('landing.animelist_entry')} list entries landed; "
                            f"{self.count('landing.rejects')} rejects")

    def etl(self) -> None:
        with self.stage("etl") as row:
            self.system.run("etl", ["etl", "run"])
            row["rows"] = self.count("processed.user_anime")
            row["items"] = (f"processed: {self.count('processed.anime')} anime, {self.count('processed.user')} users, "
                            f"{self.count('processed.user_anime')} user_anime, "
                            f"{self.count('processed.anime_anime')} anime_anime")

    def train(self, params: list[str] = ()) -> None:
        extra = [a for p in params for a in ("--param", p)]
        for name in ("user-anime", "anime-anime"):
            with self.stage(f"pipeline {name}") as row:
                out = self.system.run(f"pipeline-{name}", ["pipeline", "run", name, *extra], timeout=1800)
                row["items"] = (out.strip().splitlines() or [""])[-1][:100]
                self.say(out.strip())

    def publish(self) -> None:
        with self.stage("publish") as row:
            out = self.system.run("publish", ["publish", "--allow-unpromoted"])
            row["items"] = (out.strip().splitlines() or [""])[-1][:100]

    def start_api(self, port: int | None = None) -> str:
        port = port or tansu.free_port()
        env = {"ANIMEREC_API_CRAWLER_URL": self.urls["crawler"]} if "crawler" in self.urls else {}
        proc = self.system.start("api", ["api", "--host", "127.0.0.1", "--port", str(port)], **env)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", timeout=120, proc=proc)
        self.urls["api"] = base
        return base

    def table(self) -> str:
        lines = [f"{'stage':<22} {'rows':>9} {'seconds':>8}  items", "-" * 90]
        lines += [f"{s.name:<22} {s.rows:>9} {s.seconds:>8.1f}  {s.items}" for s in self.stages]
        lines.append(f"{'total':<22} {'':>9} {sum(s.seconds for s in self.stages):>8.1f}")
        return "\n".join(lines)


def environment(core: CoreSettings, **extra: str) -> dict[str, str]:
    """The subprocesses' environment: this one, pointed at `core`'s services, metrics ports off."""
    env = {k: v for k, v in os.environ.items()}
    env.update({
        "ANIMEREC_POSTGRES_URL": core.postgres_url, "ANIMEREC_KAFKA_BOOTSTRAP": core.kafka_bootstrap,
        "ANIMEREC_REDIS_URL": core.redis_url, "ANIMEREC_TOPIC_PREFIX": core.topic_prefix,
        "ANIMEREC_KAFKA_SESSION_TIMEOUT_MS": str(core.kafka_session_timeout_ms),
        "ANIMEREC_METRICS_PORT": "0", "ANIMEREC_LOG_FORMAT": "json", "TF_USE_LEGACY_KERAS": "1",
        # The mirror is ours: no politeness delay, no robots wait, few retries.
        "ANIMEREC_CRAWLER_MAL_DELAY_S": "0", "ANIMEREC_CRAWLER_AUTOTHROTTLE": "false",
        "ANIMEREC_CRAWLER_CONCURRENT_REQUESTS": "16", "ANIMEREC_CRAWLER_CONCURRENT_PER_HOST": "16",
        "ANIMEREC_CRAWLER_JIKAN_RATE_PER_S": "0", "ANIMEREC_CRAWLER_JIKAN_RATE_PER_MIN": "0",
        "ANIMEREC_CRAWLER_MAL_RATE_PER_MIN": "0",
        "ANIMEREC_CRAWLER_MAX_PAGES_PER_CHAIN": "2", "ANIMEREC_CRAWLER_BACKOFF_BASE_S": "0.2",
        "ANIMEREC_CRAWLER_MAX_INFLIGHT": "16",
    })
    env.update(extra)
    return env
