import pytest
from prometheus_client import CollectorRegistry, generate_latest

from animerec.common import metrics


def test_metric_names_follow_namespace_subsystem_name_unit():
    reg = CollectorRegistry()
    pages = metrics.counter("crawler", "pages", "pages fetched", ("status",), registry=reg)
    latency = metrics.histogram("crawler", "fetch_seconds", "fetch latency", registry=reg)
    pages.labels("200").inc()
    latency.observe(0.02)
    text = generate_latest(reg).decode()
    assert 'animerec_crawler_pages_total{status="200"} 1.0' in text
    assert "animerec_crawler_fetch_seconds_bucket" in text


def test_push_labels_parse_and_refuse_what_prometheus_would():
    assert metrics.parse_labels("") == {}
    assert metrics.parse_labels(" release_namespace=prod , release=animerec ") == {"release_namespace": "prod",
                                                                                    "release": "animerec"}
    for bad in ("release", "job=x", "__name__=x", "1abc=x", "a-b=x", "release="):
        with pytest.raises(ValueError, match="bad Pushgateway label"):
            metrics.parse_labels(bad)


def test_push_groups_by_job_install_labels_and_grouping(pushgateway):
    registry = CollectorRegistry()
    metrics.gauge("test", "runs", "Runs", registry=registry).set(3)
    metrics.push(pushgateway.address, "animerec-test", registry, labels="release_namespace=ns1,release=r1",
                 grouping={"kind": "anime"})
    [(method, path, body)] = pushgateway.pushes
    assert method == "PUT"  # replaces the group: a run's metrics are whole
    assert pushgateway.group(path) == {"job": "animerec-test", "release_namespace": "ns1", "release": "r1",
                                       "kind": "anime"}
    assert "animerec_test_runs 3.0" in body
