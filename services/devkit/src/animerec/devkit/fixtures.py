"""pytest fixtures for integration tests against real components.

- `kafka_bootstrap`: a Tansu broker on a free port, one per test session, with every topic created;
- `pg_url`: a fresh PostgreSQL database per session, migrated, dropped afterwards;
- `redis_url`: a Redis database of its own, flushed before and after each test;
- `core_settings`: CoreSettings pointing at all three;
- `pushgateway`: an HTTP server that records what batch jobs push (the Pushgateway's push API, nothing more).

The server addresses come from ANIMEREC_TEST_POSTGRES_URL / ANIMEREC_TEST_REDIS_URL
(defaults: the local trust-auth PostgreSQL and Redis).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from animerec.common import config, datasets, db, kafka, migrate

from . import tansu
from .processes import stop

PG_SERVER = os.environ.get("ANIMEREC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = os.environ.get("ANIMEREC_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = tansu.free_port()
    log_path = Path(tmp_path_factory.mktemp("tansu")) / "tansu.log"
    proc = tansu.start(port, log_path=log_path)
    bootstrap = f"127.0.0.1:{port}"
    try:
        settings = config.core({}, kafka_bootstrap=bootstrap)
        kafka.wait_for_broker(settings, timeout=30)
        kafka.ensure_topics(settings)
        yield bootstrap
    finally:
        stop(proc, 10)


@contextlib.contextmanager
def migrated_database(tag: str) -> Iterator[str]:
    """A new database on the test server, migrated, dropped on exit; for tests that need one of their own."""
    url = db.with_database(PG_SERVER, f"animerec_{tag}_{uuid.uuid4().hex[:10]}")
    try:
        db.ensure_database(url)
    except Exception as exc:  # pragma: no cover - environment problem, say what is missing
        pytest.fail(f"PostgreSQL not reachable at {PG_SERVER}: {exc}")
    try:
        migrate.apply(url)
        yield url
    finally:
        db.drop_database(url)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with migrated_database("test") as url:
        yield url


def hold_redis_db(start: int, lock_dir: Path | None = None) -> tuple[int, Any]:
    """Lock the first free one of Redis databases 1..15, from `start`: (index, open lock file; close it to free)."""
    import fcntl
    import tempfile
    folder = lock_dir or Path(tempfile.gettempdir())
    for i in range(15):
        index = 1 + (start + i) % 15
        lock = open(folder / f"animerec-test-redis-{index}.lock", "w")  # noqa: SIM115 - held past this function
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return index, lock
    raise RuntimeError("all 15 test Redis databases are held by other test sessions on this machine")


@pytest.fixture(scope="session")
def _redis_db() -> Iterator[int]:
    """One Redis database held for the whole session: concurrent sessions on this machine (xdist workers, a CI run
    beside a developer's) each lock a different one (flock, released even if the process is killed)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index, lock = hold_redis_db(int(worker or 0) + os.getpid())
    try:
        yield index
    finally:
        lock.close()


@pytest.fixture()
def redis_url(_redis_db: int) -> Iterator[str]:
    url = f"{REDIS_SERVER}/{_redis_db}"
    client = redis_lib.Redis.from_url(url)
    try:
        client.flushdb()
    except redis_lib.ConnectionError as exc:  # pragma: no cover
        pytest.fail(f"Redis not reachable at {REDIS_SERVER}: {exc}")
    yield url
    client.flushdb()
    client.close()


@pytest.fixture()
def core_settings(kafka_bootstrap: str, pg_url: str, redis_url: str) -> config.CoreSettings:
    return config.core({}, kafka_bootstrap=kafka_bootstrap, postgres_url=pg_url, redis_url=redis_url,
                       kafka_session_timeout_ms=6000)


@pytest.fixture(scope="session")
def mal_fixtures() -> Path:
    """The real saved MAL pages and Jikan responses (../shared/mal-fixtures); the test is skipped without them."""
    shared = datasets.shared_dir()
    root = shared / "mal-fixtures" if shared is not None else Path("mal-fixtures")
    if not (root / "MANIFEST.txt").is_file():
        pytest.skip(f"real MAL fixtures not found at {root} (set ANIMEREC_SHARED_DIR)")
    return root


@pytest.fixture()
def unique() -> str:
    """A short random suffix for topic and group names private to one test."""
    return uuid.uuid4().hex[:8]


class RecordingPushgateway:
    """Accepts Pushgateway pushes (PUT/POST /metrics/job/...) and keeps (method, path, body) of each."""

    def __init__(self) -> None:
        import http.server
        import threading

        pushes: list[tuple[str, str, str]] = []
        self.pushes = pushes

        class Handler(http.server.BaseHTTPRequestHandler):
            def _push(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                pushes.append((self.command, self.path, body))
                self.send_response(200 if self.path.startswith("/metrics/job/") else 404)
                self.send_header("content-length", "0")
                self.end_headers()

            do_PUT = do_POST = _push

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def group(path: str) -> dict[str, str]:
        """/metrics/job/J/k1/v1/... -> {"job": J, "k1": v1, ...} (the order of the pairs means nothing)."""
        parts = path.removeprefix("/metrics/").split("/")
        return dict(zip(parts[::2], parts[1::2], strict=True))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def pushgateway() -> Iterator[RecordingPushgateway]:
    gateway = RecordingPushgateway()
    yield gateway
    gateway.close()
