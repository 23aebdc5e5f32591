"""One bundle's database transaction, written from a thread of its own while the bundle is still being read.

WriteLanding hands over rows as they come (whenever this writer is idle), and at the end of the bundle its
rejects; the thread writes everything in one transaction and commits when told the bundle is complete. So the
server's COPY work overlaps the reading and validation that go on in the bundle's thread, and the database wait
left at the end of a bundle is only for the last rows. Nothing here touches Beam: counts go back to the caller,
which reports them (Beam metrics belong to the bundle's thread).

Rows the database refuses (a value out of a column's range, text it cannot encode) are found by halving the
refused chunk, and become rejects, so one bad message never blocks its partition and a chunk of good rows
still lands in a few statements.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from . import sink
from .tables import LandingTable
from .validate import Landed, Rejected

log = logging.getLogger(__name__)
DB_STAGE = "landing.write"


class Aborted(Exception):
    """The bundle was given up before it completed: its transaction rolls back."""


@dataclass
class Counts:
    landed: Counter[str] = field(default_factory=Counter)      # schema -> new rows
    duplicates: Counter[str] = field(default_factory=Counter)  # schema -> rows already landed
    rejected: int = 0                                          # landing.rejects rows, refusals included


@dataclass(frozen=True)
class _End:
    rejects: list[Rejected] | None     # None: abort


class BundleWriter:
    def __init__(self, conn: psycopg.Connection, tables: dict[str, LandingTable], *, chunk_rows: int,
                 reject_state: str, dead_letter_max_bytes: int) -> None:
        self.conn = conn
        self.tables = tables
        self.chunk_rows = chunk_rows
        self.reject_state = reject_state
        self.dead_letter_max_bytes = dead_letter_max_bytes
        self.counts = Counts()
        self.refused: list[Rejected] = []
        self.error: BaseException | None = None
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sent = 0      # jobs handed over (written by the caller's thread only)
        self._done = 0      # jobs finished (written by the writer's thread only)
        self._thread = threading.Thread(target=self._run, name="landing-db", daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        return self._sent == self._done

    def write(self, rows: dict[str, list[Landed]]) -> None:
        """Hand over rows (schema -> items); raises the writer's error if it already failed."""
        if self.error is not None:
            raise self.error
        self._sent += 1
        self._jobs.put(rows)

    def finish(self, rejects: list[Rejected]) -> Counts:
        """Write the rejects, commit, and return the bundle's counts; raises what failed."""
        self._jobs.put(_End(rejects))
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.counts

    def abort(self) -> None:
        """Roll back whatever was written (a bundle that failed elsewhere)."""
        if self._thread.is_alive():
            self._jobs.put(_End(None))
            self._thread.join()

    def _run(self) -> None:
        job: Any = None
        try:
            with self.conn.transaction():
                while not isinstance(job := self._jobs.get(), _End):
                    for schema, items in job.items():
                        self._write_table(schema, items)
                    self._done += 1
                if job.rejects is None:
                    raise Aborted()
                rejects = job.rejects + self.refused
                if rejects:
                    sink.write_rejects(self.conn, [r.row(self.dead_letter_max_bytes, self.reject_state)
                                                   for r in rejects])
                    self.counts.rejected = len(rejects)
        except Aborted:
            pass
        except BaseException as exc:  # handed to the bundle's thread, which raises it
            self.error = exc
            while not isinstance(job, _End):  # wait for finish() or abort(), whose _End ends the bundle
                job = self._jobs.get()

    def _write_table(self, schema: str, items: list[Landed]) -> None:
        # Offset order within a partition: landing ids follow it, which makes "latest crawl wins" ties stable.
        items.sort(key=lambda i: (i.record.partition, i.record.offset))
        spec = self.tables[schema]
        for start in range(0, len(items), self.chunk_rows):
            chunk = items[start:start + self.chunk_rows]
            refused = len(self.refused)
            new = self._write_part(spec, chunk)
            self.counts.landed[schema] += new
            self.counts.duplicates[schema] += len(chunk) - new - (len(self.refused) - refused)

    def _write_part(self, spec: LandingTable, items: list[Landed]) -> int:
        """New rows of `items` landed; refused ones go to self.refused."""
        try:
            with self.conn.transaction():  # a savepoint: a refused chunk is split and retried
                return sink.write_rows(self.conn, spec, [i.row for i in items])
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgrammingError,
                UnicodeError, ValueError, TypeError, OverflowError) as exc:
            if len(items) == 1:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.refused.append(Rejected(DB_STAGE, f"{spec.schema}: {reason}", items[0].record))
                return 0
            if len(items) > 64:
                log.warning("chunk refused by the database; finding the refused rows",
                            extra={"table": spec.table, "rows": len(items), "error": str(exc).splitlines()[0][:300]})
        half = len(items) // 2
        return self._write_part(spec, items[:half]) + self._write_part(spec, items[half:])
