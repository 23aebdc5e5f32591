"""Prometheus metrics of the landing writer."""

from __future__ import annotations

from animerec.common import metrics

SUBSYSTEM = "landing"

LANDED = metrics.counter(SUBSYSTEM, "messages_landed_total", "Messages written to a landing table, by type",
                         ("type",))
DUPLICATES = metrics.counter(SUBSYSTEM, "messages_duplicate_total",
                             "Messages read again after a crash or rebalance and skipped (already landed)",
                             ("type",))
REJECTS = metrics.counter(SUBSYSTEM, "messages_rejected_total",
                          "Messages that failed validation or the database, sent to landing.rejects and the "
                          "dead-letter topic")
LAG = metrics.gauge(SUBSYSTEM, "lag_messages", "High watermark minus committed offset, per assigned partition",
                    ("topic", "partition"))
BATCH_SECONDS = metrics.histogram(SUBSYSTEM, "batch_duration_seconds",
                                  "Time from the start of a bounded read to its offset commit")
BATCH_MESSAGES = metrics.histogram(SUBSYSTEM, "batch_size_messages", "Messages per bounded batch",
                                   buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000, 100000))
COMMIT_FAILURES = metrics.counter(SUBSYSTEM, "commit_failures_total",
                                  "Offset commits refused (partition moved to another replica); the batch "
                                  "is re-read there and lands nothing twice")
