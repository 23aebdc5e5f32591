"""Schedule-table bookkeeping, batched in a background thread.

Every anime / profile URL seen on a crawled page is upserted as inspected (count and date): that is
how new URLs enter the schedule tables. A finished crawl marks its URL crawled (consecutive errors
reset) or failed (error count, last error). Rows are written in batches, one transaction each; a
job's completion callback runs only after the batch holding it (and the links it found) committed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from animerec.crawler import urls
from animerec.scheduler import store

from . import metrics

log = logging.getLogger(__name__)


def kind_of(url: str) -> str | None:
    if urls.anime_id_from_url(url) is not None:
        return "anime"
    if urls.user_name_from_url(url) is not None:
        return "profile"
    return None


@dataclass
class Batch:
    inspected: dict[str, Counter] = field(default_factory=lambda: {"anime": Counter(), "profile": Counter()})
    inspected_at: dict[str, datetime] = field(default_factory=dict)
    crawled: dict[str, set[str]] = field(default_factory=lambda: {"anime": set(), "profile": set()})
    refreshed: dict[str, set[str]] = field(default_factory=lambda: {"anime": set(), "profile": set()})
    failed: dict[str, dict[str, str]] = field(default_factory=lambda: {"anime": {}, "profile": {}})
    callbacks: list[Callable[[Exception | None], None]] = field(default_factory=list)
    rows: int = 0

    def empty(self) -> bool:
        return not self.rows and not self.callbacks


def write(conn: psycopg.Connection, batch: Batch, now: datetime) -> None:
    """One transaction for the whole batch; the store sorts URLs so concurrent workers lock rows in one order."""
    with conn.transaction():
        for kind in store.KINDS:
            store.mark_inspected(conn, kind, batch.inspected[kind], batch.inspected_at)
            store.mark_crawled(conn, kind, batch.crawled[kind], now)
            store.mark_crawled(conn, kind, batch.refreshed[kind] - batch.crawled[kind], now, count=False)
            store.mark_failed(conn, kind, batch.failed[kind], now)


class Bookkeeper:
    """Collects schedule-table updates from any thread and writes them in batches."""

    def __init__(self, postgres_url: str | None, *, flush_s: float = 1.0, batch_rows: int = 500,
                 retries: int = 5) -> None:
        self.url = postgres_url
        self.flush_s = flush_s
        self.batch_rows = batch_rows
        self.retries = retries
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection | None = None

    # -- producers (any thread) --------------------------------------------------------------
    def inspected(self, links: Iterable[str]) -> None:
        now = datetime.now(UTC)
        self._queue.put(("inspected", list(links), now))

    def crawled(self, kind: str, url: str, *, count: bool = True) -> None:
        self._queue.put(("crawled" if count else "refreshed", kind, url))

    def failed(self, kind: str, url: str, error: str) -> None:
        self._queue.put(("failed", kind, url, error))

    def then(self, callback: Callable[[Exception | None], None]) -> None:
        """Call `callback(None)` once everything queued before it is committed (or `callback(error)`)."""
        self._queue.put(("callback", callback))

    # -- writer thread -----------------------------------------------------------------------
    def start(self) -> Bookkeeper:
        self._thread = threading.Thread(target=self._run, name="bookkeeper", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._queue.put(("wake",))
        if self._thread is not None:
            self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()

    def _add(self, batch: Batch, op: tuple) -> None:
        name = op[0]
        if name == "inspected":
            for link in op[1]:
                kind = kind_of(link)
                if kind is not None:
                    batch.inspected[kind][link] += 1
                    batch.inspected_at[link] = op[2]
                    batch.rows += 1
                    metrics.INSPECTED.labels(kind).inc()
        elif name in ("crawled", "refreshed"):
            getattr(batch, name)[op[1]].add(op[2])
            batch.failed[op[1]].pop(op[2], None)
            batch.rows += 1
        elif name == "failed":
            batch.failed[op[1]][op[2]] = op[3]
            batch.crawled[op[1]].discard(op[2])
            batch.rows += 1
        elif name == "callback":
            batch.callbacks.append(op[1])

    def _run(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            batch = Batch()
            deadline = time.monotonic() + self.flush_s
            while batch.rows < self.batch_rows:
                try:
                    op = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                self._add(batch, op)
                if self._stop.is_set() and self._queue.empty():
                    break
            if not batch.empty():
                self._flush(batch)

    def _flush(self, batch: Batch) -> None:
        error: Exception | None = None
        if batch.rows and self.url:
            for attempt in range(self.retries + 1):
                started = time.perf_counter()
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self.url)
                    write(self._conn, batch, datetime.now(UTC))
                    metrics.BOOKKEEPING_SECONDS.observe(time.perf_counter() - started)
                    error = None
                    break
                except psycopg.Error as exc:
                    error = exc
                    log.warning("bookkeeping write failed", extra={"attempt": attempt + 1, "error": str(exc)})
                    if self._conn is not None:
                        self._conn.close()
                    self._conn = None
                    if attempt < self.retries:
                        time.sleep(min(10.0, 0.5 * 2 ** attempt))
        for callback in batch.callbacks:
            try:
                callback(error)
            except Exception:  # a callback's bug must not stop bookkeeping for everyone else
                log.exception("bookkeeping callback failed")
