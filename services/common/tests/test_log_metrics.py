import json
import logging

from prometheus_client import CollectorRegistry, generate_latest

from animerec.common import metrics
from animerec.common.log import JsonFormatter


def test_json_lines_carry_extra_fields_and_exceptions():
    fmt = JsonFormatter("crawler")
    record = logging.makeLogRecord({"name": "animerec.crawler", "levelno": logging.WARNING, "levelname": "WARNING",
                                    "msg": "page %s failed", "args": ("x",), "url": "https://myanimelist.net/anime/1"})
    line = json.loads(fmt.format(record))
    assert line["msg"] == "page x failed"
    assert line["level"] == "warning"
    assert line["service"] == "crawler"
    assert line["url"] == "https://myanimelist.net/anime/1"
    assert line["ts"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(fmt.format(record))["exc"]


def test_metric_names_follow_namespace_subsystem_name_unit():
    reg = CollectorRegistry()
    pages = metrics.counter("crawler", "pages", "pages fetched", ("status",), registry=reg)
    latency = metrics.histogram("crawler", "fetch_seconds", "fetch latency", registry=reg)
    pages.labels("200").inc()
    latency.observe(0.02)
    text = generate_latest(reg).decode()
    assert 'animerec_crawler_pages_total{status="200"} 1.0' in text
    assert "animerec_crawler_fetch_seconds_bucket" in text
