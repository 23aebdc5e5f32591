"""The sinks: JSON lines with dead letters beside, Kafka validating each item once."""

from __future__ import annotations

import json

from animerec.crawler import sinks


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
