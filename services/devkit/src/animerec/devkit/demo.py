"""The whole system on one machine: mirror -> seed -> schedule -> crawl -> land -> ETL -> train -> publish -> API.

Every stage runs as the real `animerec` command in its own process, exactly as the cluster runs it;
this module only starts them in order, waits on the database, reports progress, and stops everything
it started. Each process writes to its own log file; the terminal gets one progress line per stage.
`animerec demo` serves the result until Ctrl-C; the end-to-end test drives the same `Flow`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

from animerec.common.config import CoreSettings
from animerec.common.texttable import table

from . import tansu
from .console import LineReporter, Reporter, StageHandle
from .processes import core_env, mirror_crawler
from .processes import stop as stop_process


class FlowError(RuntimeError):
    """A stage failed; the message carries the tail of that stage's log."""


@dataclass
class Stage:
    name: str
    items: str
    rows: int
    seconds: float


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


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


SEED_VISITS = 8  # concurrent visits of the recently-online page per seeding round

# The streaming job in the demo: a click or like on the page reaches /v1/trending with nothing after it within the
# next 1-minute slide plus 30 s lateness (10 s idle), where the defaults take up to 7 minutes.
DEMO_STREAM = {"ANIMEREC_STREAM_SLIDE_MINUTES": "1", "ANIMEREC_STREAM_ALLOWED_LATENESS_SECONDS": "30",
               "ANIMEREC_STREAM_IDLE_SECONDS": "10"}


@dataclass
class System:
    """The processes of one local animerec, started as `animerec` subcommands with one environment.
    Each process's output goes to <logdir>/<name>.log, never to the terminal."""

    env: dict[str, str]
    logdir: Path
    say: Callable[[str], None] = print
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def _cmd(self, args: list[str]) -> list[str]:
        return [sys.executable, "-m", "animerec.common.cli", *args]

    def log(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def stdout_path(self, name: str) -> Path:
        """Where `run` collects a stage's stdout while it runs (appended to its log at the end)."""
        return self.logdir / f".{name}.stdout"

    def start(self, name: str, args: list[str], python: str | None = None, **extra_env: str) -> subprocess.Popen:
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.say(f"start {name}: animerec {' '.join(args)}  (log: {self.log(name)})")
        log = open(self.log(name), "ab")  # noqa: SIM115 (owned by the child process)
        # Its own session: a Ctrl-C reaches only the demo, which stops the services in order (producers first,
        # then the landing writer after it drained, the mirror last).
        cmd = self._cmd(args)
        if python:  # a service with its own venv (the streaming job)
            cmd[0] = python
        proc = subprocess.Popen(cmd, env={**self.env, **extra_env}, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def run(self, name: str, args: list[str], timeout: float = 900, watch: Callable[[], None] | None = None,
            **extra_env: str) -> str:
        """Run a stage to completion, calling `watch()` about twice a second meanwhile. Its stderr goes to
        the log as it comes, then its stdout; the stdout comes back as text."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.say(f"run {name}: animerec {' '.join(args)}  (log: {self.log(name)})")
        out_path = self.stdout_path(name)
        with open(self.log(name), "ab") as log, open(out_path, "w+b") as out:
            proc = subprocess.Popen(self._cmd(args), env={**self.env, **extra_env}, stdout=out, stderr=log,
                                    stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + timeout
            try:
                while proc.poll() is None:
                    if time.monotonic() > deadline:
                        proc.kill()
                        proc.wait()
                        raise FlowError(f"{name} did not finish within {timeout:.0f}s; see {self.log(name)}")
                    if watch is not None:
                        watch()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(0.5)
            except BaseException:
                stop_process(proc, 20, sig=None)  # Ctrl-C: the child got SIGINT too; give it a moment to stop cleanly
                raise
            out.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            log.write(stdout.encode())
        out_path.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise FlowError(f"{name} failed (exit {proc.returncode}); the end of {self.log(name)}:\n"
                            f"{_tail(self.log(name))}")
        return stdout

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop one process and forget it (so a watcher of the rest does not see it as crashed)."""
        for proc_name, proc in list(self.procs):
            if proc_name != name:
                continue
            stop_process(proc, timeout, sig)
            self.procs.remove((proc_name, proc))

    def stop_all(self, first: tuple[str, ...] = ()) -> None:
        """Stop `first` in that order, then the rest, newest first."""
        for name in first:
            self.stop(name)
        for name, _ in reversed(list(self.procs)):
            self.stop(name)

    def exited(self) -> list[tuple[str, int]]:
        return [(name, proc.returncode) for name, proc in self.procs if proc.poll() is not None]


_ANSI = re.compile(r"(\x1b|\\u001b)\[[0-9;]*m")
_TASK_DONE = re.compile(r"Task\W+([\w-]+)\W+finished with status")
_TASK_START = re.compile(r"Executing task\W+([\w-]+)")


class LogWatch:
    """Follows a growing log file and counts the kfp.local tasks started and finished in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.finished = 0
        self.current = ""

    def poll(self) -> None:
        if not self.path.is_file():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        cut = chunk.rfind(b"\n") + 1  # whole lines only
        self.offset += cut
        text = _ANSI.sub("", chunk[:cut].decode("utf-8", "replace"))
        for line in text.splitlines():
            if m := _TASK_START.search(line):
                self.current = m.group(1)
            elif _TASK_DONE.search(line):
                self.finished += 1


@dataclass
class Flow:
    """The stages in order; each records a Stage row (items, rows, seconds) and reports its progress."""

    system: System
    core: CoreSettings
    users: int = 1000                # profiles to crawl
    anime_limit: int = 3000          # anime to crawl (those the crawled users' lists name come first)
    workers: int = 2
    say: Callable[[str], None] | None = None
    reporter: Reporter | None = None
    stages: list[Stage] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)   # pipeline -> its evaluation report (markdown)
    pipeline_root: Path | None = None                       # kfp.local artifacts (default: <state_dir>/pipelines)

    def __post_init__(self) -> None:
        if self.reporter is None:
            self.reporter = LineReporter(self.say or self.system.say)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[StageHandle]:
        assert self.reporter is not None
        with self.reporter.stage(name) as handle:
            yield handle
        self.stages.append(Stage(name, handle.detail, handle.rows, handle.seconds))

    def sql(self, query: str, params: tuple | dict = ()) -> list[tuple]:
        with psycopg.connect(self.core.postgres_url) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

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
            wait_http(f"{base}/robots.txt", timeout=300, proc=proc)
            loaded = re.search(r"mirror: (\d+) users, (\d+) anime, (\d+) list entries",
                               self.system.log("mirror").read_text(errors="replace"))
            world = f"{int(loaded[1]):,} users, {int(loaded[2]):,} anime, {int(loaded[3]):,} list entries" \
                if loaded else " ".join(world_args)
            row.update(detail=f"offline MAL: {world}")
        self.urls["mirror"] = base
        self.system.env.update(ANIMEREC_CRAWLER_MAL_BASE_URL=base, ANIMEREC_CRAWLER_JIKAN_BASE_URL=f"{base}/v4")
        return base

    def start_crawler_service(self) -> str:
        port = tansu.free_port()
        proc = self.system.start("crawler-serve", ["crawl", "serve", "--host", "127.0.0.1", "--port", str(port)])
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", timeout=180, proc=proc)
        self.urls["crawler"] = base
        return base

    def seed(self) -> None:
        with self.stage("seed") as row:
            row.update(total=self.users, detail="crawler service starting")
            self.start_workers()
            crawler = self.urls.get("crawler") or self.start_crawler_service()
            rounds = 0
            # users.php shows 20 recently online users, others on each visit, and has no next page: so
            # several visits at once per round (the service crawls them concurrently), not one long chain.
            with ThreadPoolExecutor(SEED_VISITS) as pool:
                while (found := self.count("profile_schedule")) < self.users and rounds < 100:
                    row.update(done=min(found, self.users), detail="reading MAL's recently online users")
                    for status, body in pool.map(lambda _: http("POST", f"{crawler}/seed/profile/recent",
                                                                {"pages": 1}), range(SEED_VISITS)):
                        if status != 200:
                            raise FlowError(f"seed/profile/recent answered {status}: {body}")
                    rounds += 1
            status, body = http("POST", f"{crawler}/seed/anime/top", {"pages": 2})
            if status != 200:
                raise FlowError(f"seed/anime/top answered {status}: {body}")
            profiles, anime = self.count("profile_schedule"), self.count("anime_schedule")
            row.rows = profiles + anime
            row.update(done=min(profiles, self.users),
                       detail=f"{profiles:,} profile and {anime:,} anime URLs scheduled")

    def _pending(self, table: str) -> tuple[int, int]:
        """(scheduled URLs, of which crawled or given up) since the flow began."""
        done, total = self.sql(f"""SELECT count(*) FILTER (WHERE last_crawled_date >= last_scheduled_date
                                                       OR error_count > 0), count(*)
                                   FROM {table} WHERE last_scheduled_date IS NOT NULL""")[0]
        return total, done

    def start_workers(self) -> None:
        """The crawl workers, once: started while seeding, so their slow first consumer-group join overlaps it."""
        running = {name for name, _ in self.system.procs}
        for i in range(self.workers):
            if f"crawl-worker-{i}" not in running:
                self.system.start(f"crawl-worker-{i}", ["crawl", "worker"])

    def crawl(self, timeout: float = 1800) -> None:
        """Schedule profiles, then the anime their lists name, and let the workers crawl both."""
        self.start_workers()
        with self.stage("crawl profiles") as row:
            self.system.run("schedule-profile", ["schedule", "--kind", "profile", "--limit", str(self.users)])
            _, done = self._wait_crawled("profile_schedule", timeout, row)
            row.rows = done
            row.update(detail=f"profiles crawled by {self.workers} workers")
        with self.stage("crawl anime") as row:
            self.system.run("schedule-anime", ["schedule", "--kind", "anime", "--limit", str(self.anime_limit)])
            _, done = self._wait_crawled("anime_schedule", timeout, row)
            row.rows = done
            row.update(detail=f"anime the lists name most, of {self.count('anime_schedule'):,} seen")
        for i in range(self.workers):
            self.system.stop(f"crawl-worker-{i}")

    def _wait_crawled(self, table: str, timeout: float, row: StageHandle) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while True:
            total, done = self._pending(table)
            row.update(done=done, total=total)
            if done >= total:
                return total, done
            if time.monotonic() > deadline:
                raise FlowError(f"{table}: only {done}/{total} scheduled URLs crawled within {timeout:.0f}s")
            for name, code in self.system.exited():
                if name.startswith("crawl-worker"):
                    raise FlowError(f"{name} exited with {code}; the end of its log:\n"
                                    f"{_tail(self.system.log(name))}")
            time.sleep(1.0)

    _LANDED = """SELECT (SELECT count(*) FROM landing.anime_info) + (SELECT count(*) FROM landing.animelist_entry)
                      + (SELECT count(*) FROM landing.profile) + (SELECT count(*) FROM landing.anime_stats)
                      + (SELECT count(*) FROM landing.feedback)"""

    def land(self) -> None:
        with self.stage("land") as row:
            last = [0.0]

            def watch() -> None:
                if time.monotonic() - last[0] > 2:
                    last[0] = time.monotonic()
                    row.update(done=int(self.sql(self._LANDED)[0][0] or 0), detail="rows landed so far")

            self.system.run("land", ["land", "--once"], watch=watch)
            row.rows = int(self.sql(self._LANDED)[0][0] or 0)
            row.update(done=row.rows,
                       detail=f"{self.count('landing.animelist_entry'):,} list entries, "
                              f"{self.count('landing.rejects')} rejects")

    def etl(self) -> None:
        with self.stage("etl") as row:
            row.update(detail="landing -> staging -> Great Expectations -> processed")
            self.system.run("etl", ["etl", "run"])
            row.rows = self.count("processed.user_anime")
            row.update(detail=f"{self.count('processed.user'):,} users, {self.count('processed.anime'):,} anime, "
                              f"{row.rows:,} user_anime")

    def train(self, params: list[str] | tuple[str, ...] = ()) -> None:
        extra = [a for p in params for a in ("--param", p)]
        if self.pipeline_root is not None:
            extra += ["--root", str(self.pipeline_root)]
        for name in ("user-anime", "anime-anime"):
            with self.stage(f"pipeline {name}") as row:
                # kfp.local reports its tasks on stdout, which `run` keeps apart until the stage ends
                follow = LogWatch(self.system.stdout_path(f"pipeline-{name}"))

                def watch(follow: LogWatch = follow, row: StageHandle = row) -> None:
                    follow.poll()
                    row.update(done=follow.finished, detail=f"step {follow.current}" if follow.current else "")

                out = self.system.run(f"pipeline-{name}", ["pipeline", "run", name, *extra], timeout=3600,
                                      watch=watch)
                watch()
                pipeline = name.replace("-", "_")
                report = self.sql("SELECT report FROM models.runs WHERE pipeline = %s ORDER BY created_at DESC "
                                  "LIMIT 1", (pipeline,))
                self.reports[name] = report[0][0] if report else out
                row.update(detail=(out.strip().splitlines() or [""])[-1].split(" (artifacts")[0][:90])

    def publish(self) -> None:
        with self.stage("publish") as row:
            out = self.system.run("publish", ["publish", "--allow-unpromoted"])
            row.update(detail=(out.strip().splitlines() or [""])[-1][:100])

    def start_api(self, port: int | None = None) -> str:
        with self.stage("api") as row:
            port = port or tansu.free_port()
            env = {"ANIMEREC_API_CRAWLER_URL": self.urls["crawler"]} if "crawler" in self.urls else {}
            proc = self.system.start("api", ["api", "--host", "127.0.0.1", "--port", str(port)], **env)
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", timeout=180, proc=proc)
            self.urls["api"] = base
            row.update(detail=f"web page and API at {base}/")
        return base

    def start_landing(self) -> None:
        """The landing writer, running on: feedback and on-demand crawls made while serving land too."""
        self.system.start("landing-writer", ["land"])

    def start_stream(self, checkpoints: Path) -> bool:
        """The streaming job (PyFlink, from its own venv), so clicks and likes on the page move /v1/trending and
        the live metrics; False where .venv-stream is missing."""
        python = Path(sys.prefix).parent / ".venv-stream" / "bin" / "python"
        if not python.exists():
            return False
        quick = {k: v for k, v in DEMO_STREAM.items() if k not in self.system.env}  # the environment's own win
        self.system.start("stream", ["stream", "run", "--fresh"], python=str(python),
                          ANIMEREC_STREAM_CHECKPOINT_DIR=str(checkpoints), **quick)
        return True

    def drain(self, timeout: float = 180) -> None:
        """After the producers stopped: stop the running writer and land whatever is left on the topics."""
        self.system.stop("landing-writer")
        self.system.run("land-drain", ["land", "--once"], timeout=timeout)

    def table(self) -> str:
        rows = [[s.name, f"{s.rows:,}", f"{s.seconds:.1f}", s.items[:60]] for s in self.stages]
        rows.append(["total", "", f"{sum(s.seconds for s in self.stages):.1f}", ""])
        return table(rows, ["stage", "rows", "seconds", "items"], right=(1, 2))


def environment(core: CoreSettings, **extra: str) -> dict[str, str]:
    """The subprocesses' environment: this one, pointed at `core`'s services, metrics ports off."""
    env = {**os.environ, **core_env(core)}
    env.update({
        "TF_USE_LEGACY_KERAS": "1",
        # TensorFlow: no oneDNN / CPU-feature notes, no CUDA probing on a machine without a GPU (oneDNN stays on:
        # turning it off to silence its note made the synopsis encoder several times slower).
        "TF_CPP_MIN_LOG_LEVEL": "3",
    })
    # No rate limits at all, and short paged chains: the demo crawls a thousand users in minutes.
    env.update(mirror_crawler(concurrent_requests=16, concurrent_per_host=16, jikan_rate_per_s=0, jikan_rate_per_min=0,
                              max_pages_per_chain=2, max_inflight=16))
    if not _has_gpu():
        env.setdefault("CUDA_VISIBLE_DEVICES", "")
    env.update(extra)
    return env


def _has_gpu() -> bool:
    return Path("/dev/nvidia0").exists() or Path("/dev/nvidiactl").exists()


# ------------------------------------------------------------------------------------------- demo namespace
def demo_core(core: CoreSettings) -> CoreSettings:
    """The demo's own corner of the configured services: database <name>_demo, Redis keys under
    <prefix>demo:, topics under <prefix>demo., so resetting it never touches anything else."""
    import dataclasses
    url = urlparse(core.postgres_url)
    name = url.path.lstrip("/") or "animerec"
    if not name.endswith("demo"):
        url = url._replace(path=f"/{name}_demo")
    return dataclasses.replace(
        core, postgres_url=urlunparse(url),
        redis_prefix=core.redis_prefix if core.redis_prefix.endswith("demo:") else f"{core.redis_prefix}demo:",
        topic_prefix=core.topic_prefix if core.topic_prefix.endswith("demo.") else f"{core.topic_prefix}demo.")


def scratch(core: CoreSettings) -> dict[str, Path]:
    """The demo's folders under the state dir: logs, the processes' TMPDIR (kfp.local workspaces),
    pipeline artifacts."""
    root = Path(core.state_dir)
    return {"logs": root / "demo-logs", "tmp": root / "demo-tmp", "pipelines": root / "demo-pipelines"}


def reset(core: CoreSettings) -> list[str]:
    """Remove what a demo run leaves: its database, its Redis keys, its temporary folders. `core` must be
    the demo's (`demo_core`). Returns what was removed, for the caller to report."""
    import redis

    from animerec.common import db
    done: list[str] = []
    name = db.database_name(core.postgres_url)
    if not name.endswith("demo"):
        raise ValueError(f"refusing to drop {name!r}: not a demo database")
    admin = urlunparse(urlparse(core.postgres_url)._replace(path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                conn.execute(f'DROP DATABASE "{name}"')
                done.append(f"database {name}")
    except psycopg.OperationalError as exc:
        done.append(f"database {name}: PostgreSQL unreachable ({str(exc).splitlines()[0]})")
    try:
        client = redis.Redis.from_url(core.redis_url, socket_connect_timeout=2)
        keys = list(client.scan_iter(match=f"{core.redis_prefix}*", count=1000))
        for i in range(0, len(keys), 1000):
            client.unlink(*keys[i:i + 1000])
        done.append(f"{len(keys)} Redis keys {core.redis_prefix}*")
    except redis.RedisError as exc:
        done.append(f"Redis keys: unreachable ({exc})")
    for label, folder in scratch(core).items():
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            done.append(f"{label} folder {folder}")
    return done
