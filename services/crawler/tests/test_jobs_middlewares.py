"""Job accounting, Retry-After parsing and back-off, item keys, sinks' dead letters."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

from animerec.crawler import middlewares, sinks
from animerec.crawler.jobs import Job
from animerec.crawler.pipelines import item_key
from animerec.crawler.targets import resolve


def job():
    return Job(resolve("https://myanimelist.net/anime/1"), collect=True)


def test_job_is_idle_only_when_requests_and_items_settled():
    j = job()
    j.request_issued()          # root page
    j.root_status = "ok"
    j.request_issued(2)         # two sub-pages issued from the root's callback
    j.item_issued()
    j.request_settled()         # root callback done
    assert not j.idle
    j.item_settled({"item_type": "anime_info"})
    j.request_settled()
    assert not j.idle
    j.request_settled()
    assert j.idle
    result = j.result()
    assert result.outcome == "ok" and result.item_count == 1 and result.items == [{"item_type": "anime_info"}]


def test_job_outcomes():
    j = job()
    assert j.outcome() == "failed" and "never parsed" in j.result().errors[0]
    j.root_status = "not_found"
    assert j.outcome() == "not_found" and j.result().errors == ["https://myanimelist.net/anime/1 not found"]
    j.root_status = "ok"
    j.errors.append("page x: parse error")
    assert j.outcome() == "failed"
    j.item_issued()
    j.item_settled(error="broker down")
    assert j.outcome() == "sink_error" and not j.result().settled
    d = job()
    d.duplicate = True
    assert d.outcome() == "duplicate" and d.result().errors == []


def test_retry_after_seconds_and_http_date():
    assert middlewares.retry_after_seconds(b"7") == 7.0
    now = time.time()
    assert 55 <= middlewares.retry_after_seconds(formatdate(now + 60, usegmt=True), now) <= 61
    assert middlewares.retry_after_seconds(formatdate(now - 60, usegmt=True), now) == 0.0
    assert middlewares.retry_after_seconds(None) is None
    assert middlewares.retry_after_seconds(b"soon") is None


def test_backoff_doubles_up_to_the_cap():
    assert [middlewares.backoff_delay(n, 2.0, 20.0) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 16.0, 20.0]


def test_item_keys():
    assert item_key({"item_type": "anime_review", "anime_id": 5, "user_name": "bob"}) == "5"
    assert item_key({"item_type": "animelist_entry", "anime_id": 5, "user_name": "bob"}) == "bob"
    assert item_key({"item_type": "profile", "user_name": "bob"}) == "bob"


def test_jsonl_sink_writes_items_and_dead_letters(tmp_path):
    out = tmp_path / "items.jsonl"
    sink = sinks.JsonlSink(out)
    sink.dead_letter_max_bytes = 1024
    assert sink.emit("1", {"item_type": "x", "n": 1}).result(1)["n"] == 1
    sink.dead_letter("crawler.parse", "cannot parse", b"<html>" + b"x" * 5000, url="https://myanimelist.net/anime/1")
    sink.close()
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"item_type": "x", "n": 1}]
    (dead,) = [json.loads(line) for line in out.with_suffix(".deadletter.jsonl").read_text().splitlines()]
    assert dead["stage"] == "crawler.parse" and dead["url"] == "https://myanimelist.net/anime/1"
    assert len(dead["payload"]) == 1024


def test_kafka_sink_validates_each_item_once(monkeypatch):
    """The spider checked the item (spiders.check); the Kafka sink must not check it again on send."""
    from animerec.common import contracts
    from animerec.common.kafka import EventProducer
    from animerec.crawler import spiders

    calls = []
    monkeypatch.setattr(contracts.Validator, "is_valid", lambda self, msg: calls.append(self.name) or True)

    class Future:
        def add_callback(self, fn):
            fn(None)

        def add_errback(self, fn):
            pass

    producer = EventProducer.__new__(EventProducer)
    producer.name, producer.settings = "crawler", None
    producer._producer = type("P", (), {"send": lambda self, *a, **k: Future()})()
    sink = sinks.KafkaSink.__new__(sinks.KafkaSink)
    sink.producer, sink.topic, sink.dlq_topic = producer, "t", "dlq"
    item = json.loads((contracts.schemas_dir() / "examples" / "anime_info.json").read_text())
    spiders.check(item)
    assert sink.emit("1", item).result(1) is item
    assert calls == ["anime_info"]
