"""Prometheus helpers: metric names follow namespace_subsystem_name_unit."""

from __future__ import annotations

import logging
import re

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, push_to_gateway, start_http_server

NAMESPACE = "animerec"
log = logging.getLogger(__name__)

# Latency buckets from 1 ms to 60 s: covers API calls and page fetches alike.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

_started: set[int] = set()


def counter(subsystem: str, name: str, doc: str, labels: tuple[str, ...] = (),
            registry: CollectorRegistry = REGISTRY) -> Counter:
    return Counter(name, doc, labels, namespace=NAMESPACE, subsystem=subsystem, registry=registry)


def gauge(subsystem: str, name: str, doc: str, labels: tuple[str, ...] = (),
          registry: CollectorRegistry = REGISTRY) -> Gauge:
    return Gauge(name, doc, labels, namespace=NAMESPACE, subsystem=subsystem, registry=registry)


def histogram(subsystem: str, name: str, doc: str, labels: tuple[str, ...] = (),
              buckets: tuple[float, ...] = LATENCY_BUCKETS, registry: CollectorRegistry = REGISTRY) -> Histogram:
    return Histogram(name, doc, labels, namespace=NAMESPACE, subsystem=subsystem, buckets=buckets,
                     registry=registry)


def serve(port: int, addr: str = "0.0.0.0") -> None:
    """Expose /metrics on `port` in a background thread (0 disables; idempotent per port)."""
    if port == 0 or port in _started:
        return
    start_http_server(port, addr=addr)
    _started.add(port)
    log.info("metrics endpoint listening", extra={"port": port})


LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def parse_labels(text: str) -> dict[str, str]:
    """`name=value,name=value` -> dict; raises ValueError naming the bad pair."""
    labels: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not LABEL_NAME.fullmatch(name) or name.startswith("__") or name == "job" or not value.strip():
            raise ValueError(f"bad Pushgateway label {pair!r}: use name=value with a Prometheus label name "
                             "(not job, not starting with __)")
        labels[name] = value.strip()
    return labels


def push(gateway: str, job: str, registry: CollectorRegistry, *, labels: str = "",
         grouping: dict[str, str] | None = None) -> None:
    """Replace this job's group on the Pushgateway. The group is the job plus `labels` (the install's identity,
    `ANIMEREC_METRICS_PUSH_LABELS`) plus `grouping` (e.g. the scheduler's kind)."""
    push_to_gateway(gateway, job=job, registry=registry, grouping_key={**parse_labels(labels), **(grouping or {})})
