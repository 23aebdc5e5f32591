import json
import time

import pytest
from kafka import KafkaProducer

from animerec.common import contracts
from animerec.common.contracts import SchemaError
from animerec.common.kafka import H_PRODUCER, H_SCHEMA, H_VERSION, EventConsumer, EventProducer, consumer_lag
from animerec.common.kafka import topic_name as full_topic

pytestmark = pytest.mark.integration


def example(name):
    return json.loads((contracts.schemas_dir() / "examples" / f"{name}.json").read_text())


def topic(settings, unique, partitions=3):
    from kafka.admin import KafkaAdminClient, NewTopic
    name = f"test.{unique}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()
    return name


def drain(consumer, want, timeout=40):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        got += consumer.poll(500)
    return got


def commit(consumer, events):
    """Commit past the highest offset of each partition in `events`, as the writers do: commit_offsets."""
    offsets = {}
    for e in events:
        offsets[e.tp] = max(offsets.get(e.tp, -1), e.offset + 1)
    consumer.commit_offsets(offsets)
    return offsets


@pytest.mark.parametrize("codec", ["none", "gzip", "zstd"])
def test_round_trip_keys_headers_compression(core_settings, unique, codec):
    name = topic(core_settings, unique + codec)
    msgs = []
    for i in range(20):
        m = example("animelist_entry")
        m["anime_id"] = i + 1
        msgs.append((f"user{i % 4}", m))
    with EventProducer(core_settings, "test", compression=codec) as producer:
        assert producer.send_all(name, msgs) == 20
        producer.send(name, msgs[0][1], key="user0", headers=[("x-extra", b"one")], wait=True)
    with EventConsumer(core_settings, f"g-{unique}", [name]) as consumer:
        got = drain(consumer, 21)
    assert len(got) == 21
    assert all(e.error is None and e.schema == "animelist_entry" for e in got)
    assert sorted(e.value["anime_id"] for e in got) == sorted([*range(1, 21), 1])
    for e in got:
        assert e.headers[H_SCHEMA] == "animelist_entry"
        assert e.headers[H_VERSION] == "1"
        assert e.headers[H_PRODUCER] == "test"
    # Keys are kept and one key always lands on one partition.
    by_key = {}
    for e in got:
        by_key.setdefault(e.key, set()).add(e.partition)
    assert set(by_key) == {"user0", "user1", "user2", "user3"}
    assert all(len(p) == 1 for p in by_key.values())
    # A caller's extra headers travel next to the three every message carries, and nothing else is added.
    assert sorted(len(e.headers) for e in got) == [3] * 20 + [4]
    assert [e.headers["x-extra"] for e in got if "x-extra" in e.headers] == ["one"]


def test_invalid_message_never_leaves_the_producer(core_settings, unique):
    name = topic(core_settings, unique, partitions=1)
    bad = example("anime_info")
    del bad["title"]
    with EventProducer(core_settings, "test") as producer, pytest.raises(SchemaError, match="'title' is a required"):
        producer.send(name, bad, key="1", wait=True)
    assert consumer_lag(core_settings, f"g-{unique}", name) == {0: 0}


def test_commit_then_restart_resumes_from_committed_offset(core_settings, unique):
    name = topic(core_settings, unique, partitions=2)
    group = f"g-{unique}"
    items = []
    for i in range(30):
        m = example("favorite")
        m["anime_id"] = i + 1
        items.append((f"k{i}", m))
    with EventProducer(core_settings, "test") as producer:
        producer.send_all(name, items)
    assert sum(consumer_lag(core_settings, group, name).values()) == 30

    first = EventConsumer(core_settings, group, [name], max_poll_records=5)
    seen = drain(first, 12)
    # Commit only part of what was read; the rest must come back after a restart.
    done = seen[:12]
    committed = commit(first, done)
    first.close()
    # Each partition starts at offset 0, so what is left is everything past the committed offsets.
    assert sum(consumer_lag(core_settings, group, name).values()) == 30 - sum(committed.values())

    second = EventConsumer(core_settings, group, [name])
    rest = drain(second, 30 - sum(committed.values()))
    commit(second, rest)
    second.close()
    done_keys = {(e.partition, e.offset) for e in done}
    rest_keys = {(e.partition, e.offset) for e in rest}
    # Nothing before a committed offset is read again, nothing after it is skipped.
    for e in rest:
        assert e.offset >= committed.get(e.tp, 0)
    everything = {(e.partition, e.offset) for e in done} | rest_keys
    assert len(everything) == 30
    assert not (rest_keys & {(tp.partition, o) for tp, c in committed.items() for o in range(c)})
    assert done_keys
    assert sum(consumer_lag(core_settings, group, name).values()) == 0


def test_poison_message_is_decoded_with_an_error_and_dead_lettered(core_settings, unique):
    name = topic(core_settings, unique, partitions=1)
    raw = KafkaProducer(bootstrap_servers=core_settings.kafka_bootstrap)
    raw.send(name, key=b"k1", value=b"\xff not json").get(10)
    raw.send(name, key=b"k2", value=json.dumps({"item_type": "friend", "user_name": "x"}).encode()).get(10)
    raw.close()
    with EventConsumer(core_settings, f"g-{unique}", [name]) as consumer:
        got = drain(consumer, 2)
        assert [e.value for e in got] == [None, None]
        assert got[0].error.startswith("not JSON")
        assert "friend: " in got[1].error and "required property" in got[1].error
        with EventProducer(core_settings, "test") as producer:
            for e in got:
                producer.dead_letter("test.consume", e.error, e.raw, event=e)
        commit(consumer, got)
    dlq = full_topic(core_settings, "deadletter")
    with EventConsumer(core_settings, f"dlq-{unique}", [dlq]) as consumer:
        letters = [e for e in drain(consumer, 100, timeout=15) if e.value["source_topic"] == name]
    assert len(letters) == 2
    assert {e.value["source_offset"] for e in letters} == {0, 1}
    assert letters[0].value["key"] in ("k1", "k2")
    assert all(e.schema == "dead_letter" for e in letters)


def test_lag_follows_fetch_high_watermark(core_settings, unique):
    name = topic(core_settings, unique, partitions=3)
    group = f"g-{unique}"
    assert consumer_lag(core_settings, group, name) == {0: 0, 1: 0, 2: 0}
    with EventProducer(core_settings, "test") as producer:
        for i in range(9):
            m = example("activity")
            producer.send(name, m, key=f"user{i}", wait=True)
    lag = consumer_lag(core_settings, group, name)
    assert set(lag) == {0, 1, 2} and sum(lag.values()) == 9
    with EventConsumer(core_settings, group, [name]) as consumer:
        commit(consumer, drain(consumer, 4, timeout=20)[:4])
    assert sum(consumer_lag(core_settings, group, name).values()) == 5


def test_dead_letter_is_cut_to_the_limit_with_size_and_hash_of_the_original():
    import hashlib

    from animerec.common import contracts
    from animerec.common.kafka import build_dead_letter
    raw = b"\xff" * 400_000  # every invalid byte becomes a 3-byte U+FFFD: 1.2 MB of text uncut
    letter = build_dead_letter("landing.validate", "not JSON \ud800", raw, topic="t", partition=2, offset=9,
                               key="k\udc80", max_bytes=1000)
    msg = letter.message
    assert len(msg["payload"].encode()) <= 1000 and msg["payload"].startswith("\ufffd")
    assert msg["payload_bytes"] == 400_000 and msg["payload_truncated"] is True
    assert msg["payload_sha256"] == hashlib.sha256(raw).hexdigest()
    assert letter.id == "t/2/9" and letter.key.startswith("k\ufffd")
    contracts.validate("dead_letter", msg)
    json.dumps(msg).encode()  # every string encodable: no lone surrogate left
    small = build_dead_letter("s", "e", "ok é").message
    assert small["payload"] == "ok é" and small["payload_truncated"] is False
    # A cut never splits a character.
    assert build_dead_letter("s", "e", "é" * 10, max_bytes=5).message["payload"] == "éé"
