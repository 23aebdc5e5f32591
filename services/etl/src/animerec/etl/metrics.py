"""Prometheus metrics of an ETL run (pushed to a Pushgateway when one is configured)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from animerec.common import metrics

SUBSYSTEM = "etl"
REGISTRY = CollectorRegistry()

ROWS = metrics.gauge(SUBSYSTEM, "rows", "Rows each ETL step produced, by step and table", ("step", "table"),
                     registry=REGISTRY)
RULE_ROWS = metrics.gauge(SUBSYSTEM, "cleaning_rule_rows", "user_anime rows each cleaning rule touched or dropped",
                          ("rule",), registry=REGISTRY)
STEP_SECONDS = metrics.gauge(SUBSYSTEM, "step_duration_seconds", "Duration of each ETL step", ("step",),
                             registry=REGISTRY)
EXPECTATIONS_FAILED = metrics.gauge(SUBSYSTEM, "expectations_failed", "Failed expectations per staging suite",
                                    ("suite",), registry=REGISTRY)
LAST_SUCCESS = metrics.gauge(SUBSYSTEM, "last_success_timestamp_seconds",
                             "When staging was last promoted to processed", registry=REGISTRY)
LAST_STATUS = metrics.gauge(SUBSYSTEM, "last_run_ok", "1 if the last run promoted, 0 if it failed",
                            registry=REGISTRY)


JOB = "animerec-etl"


def push(url: str, labels: str = "") -> None:
    if url:
        metrics.push(url, JOB, REGISTRY, labels=labels)
