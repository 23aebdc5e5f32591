"""One ETL run: step 1, step 2, validation, then promotion only when every suite passed."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from animerec.common import db

from . import feedback, steps
from . import metrics as m
from .promote import promote
from .settings import EtlSettings
from .suites import Validation, validate

log = logging.getLogger(__name__)
_LOCK_ID = 0x65746C31  # "etl1": one ETL run at a time per database


class EtlBusy(RuntimeError):
    pass


@dataclass
class RunResult:
    run_id: int
    status: str                          # promoted | failed_validation
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    validation: Validation | None = None
    promoted: dict[str, int] = field(default_factory=dict)
    result_file: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "promoted"


def _execute(conn: psycopg.Connection, step: str, statements: list[steps.Statement]) -> dict[str, int]:
    counts = {}
    for st in statements:
        started = time.monotonic()
        conn.execute(st.sql)
        table = st.table
        if not st.count:
            schema, name = table.split(".")
            n = db.scalar(conn, f'SELECT count(*) FROM {schema}."{name}"')
        else:
            n = db.scalar(conn, st.count)
        if table != "staging.truncate":
            counts[table] = n
            m.ROWS.labels(step, table).set(n)
            log.info("etl table built", extra={"step": step, "table": table, "rows": n,
                                               "seconds": round(time.monotonic() - started, 3)})
    return counts


def _timed(step: str, fn: Callable[[], Any]) -> Any:
    started = time.monotonic()
    try:
        return fn()
    finally:
        m.STEP_SECONDS.labels(step).set(time.monotonic() - started)


def _session(conn: psycopg.Connection, settings: EtlSettings) -> None:
    conn.execute(f"SET statement_timeout = {int(settings.statement_timeout_s) * 1000}")
    conn.execute("SET work_mem = '256MB'")


def transform(url: str, settings: EtlSettings) -> dict[str, dict[str, int]]:
    """Steps 1 and 2: rebuild the etl.* working tables and staging.*; returns row counts per table."""
    counts: dict[str, dict[str, int]] = {}
    with db.connect(url) as conn:
        _session(conn, settings)
        with conn.transaction():
            step1 = steps.step1(settings.relation_depth)
            counts["landing_to_staging"] = _timed(
                "landing_to_staging", lambda: _execute(conn, "landing_to_staging", step1))
        with conn.transaction():
            counts["merge"] = _timed("merge", lambda: _execute(conn, "merge", steps.step2()))
            row = conn.execute(steps.rule_counts_sql()).fetchone() or ()
            names = ["candidates", *steps.RULES]
            rules = dict(zip(names, row, strict=True))
        with conn.transaction():  # feedback is not validated with the crawl: its tables are written here
            counts["feedback"] = _timed("feedback", lambda: _execute(conn, "feedback", feedback.feedback_steps()))
        for rule, n in rules.items():
            m.RULE_ROWS.labels(rule).set(n)
        counts["cleaning_rules"] = rules
        log.info("cleaning rules applied", extra=rules)
    return counts


def _write_result(settings: EtlSettings, run_id: int, doc: dict[str, Any]) -> Path | None:
    try:
        settings.results_dir.mkdir(parents=True, exist_ok=True)
        path = settings.results_dir / f"etl-run-{run_id}.json"
        path.write_text(json.dumps(doc, indent=2, default=str))
        return path
    except OSError as exc:  # the etl.runs row still holds the result
        log.warning("could not write the validation result file", extra={"error": str(exc)})
        return None


def run(url: str, settings: EtlSettings, *, after_table: Callable[[str], None] | None = None,
        push_labels: str = "") -> RunResult:
    """The whole run. Raises EtlBusy when another run holds the lock; other errors mark the run 'error'."""
    with db.connect(url, autocommit=True) as lock_conn:
        if not db.scalar(lock_conn, "SELECT pg_try_advisory_lock(%s)", (_LOCK_ID,)):
            raise EtlBusy("another ETL run is in progress on this database")
        run_id = db.scalar(lock_conn, "INSERT INTO etl.runs DEFAULT VALUES RETURNING run_id")
        log.info("etl run started", extra={"run_id": run_id})
        try:
            result = _run(url, settings, run_id, after_table)
        except Exception as exc:
            lock_conn.execute("UPDATE etl.runs SET status = 'error', error = %s, finished_at = now() "
                              "WHERE run_id = %s", (f"{type(exc).__name__}: {exc}", run_id))
            m.LAST_STATUS.set(0)
            raise
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
            try:
                m.push(settings.pushgateway_url, push_labels)
            except OSError as exc:
                log.warning("metrics push failed", extra={"error": str(exc)})
    return result


def _run(url: str, settings: EtlSettings, run_id: int, after_table) -> RunResult:
    counts = transform(url, settings)
    validation = _timed("validate", lambda: validate(url))
    for suite in validation.raw:
        m.EXPECTATIONS_FAILED.labels(suite).set(sum(1 for r in validation.failures() if r.suite == suite))
    doc = {"run_id": run_id, "success": validation.success, "summary": validation.summary(),
           "failures": [vars(r) for r in validation.failures()], "suites": validation.raw}
    result = RunResult(run_id, "promoted" if validation.success else "failed_validation", counts, validation)
    if not validation.success:
        result.result_file = _write_result(settings, run_id, doc)
        with db.connect(url) as conn:
            conn.execute("UPDATE etl.runs SET status = 'failed_validation', row_counts = %s, validation = %s, "
                         "finished_at = now() WHERE run_id = %s", (Jsonb(counts), Jsonb(doc), run_id))
            conn.commit()
        m.LAST_STATUS.set(0)
        log.error("validation failed; processed left untouched", extra={"run_id": run_id,
                                                                         "failed": len(validation.failures())})
        return result

    def _promote() -> dict[str, int]:
        with db.connect(url) as conn:
            _session(conn, settings)
            with conn.transaction():
                promoted = promote(conn, after_table=after_table)
                counts["promote"] = promoted
                conn.execute("UPDATE etl.runs SET status = 'promoted', row_counts = %s, validation = %s, "
                             "finished_at = now() WHERE run_id = %s", (Jsonb(counts), Jsonb(doc), run_id))
            for table in promoted:
                conn.execute(f'ANALYZE processed."{table}"')
        return promoted

    result.promoted = _timed("promote", _promote)
    for table, n in result.promoted.items():
        m.ROWS.labels("promote", table).set(n)
    m.LAST_STATUS.set(1)
    m.LAST_SUCCESS.set_to_current_time()
    log.info("staging promoted to processed", extra={"run_id": run_id, **result.promoted})
    return result
