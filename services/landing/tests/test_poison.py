"""Every class of poison next to valid messages: each valid one lands exactly once, each poison one becomes one
landing.rejects row and one dead letter, the group's lag ends at 0, and the writer never stops on content."""

import json

import pytest
from kafka import KafkaConsumer

from animerec.common import db
from animerec.common.kafka import H_DEAD_LETTER_ID, consumer_lag, topic_name
from animerec.devkit import eventworld as world
from animerec.landing import deadletters
from animerec.landing.writer import Writer

from .conftest import distinct_provenance, landed_counts, produce

pytestmark = pytest.mark.integration


def poison_messages(good: dict) -> list[tuple[str, bytes | None, bytes | None]]:
    """(class, key, value): raw bytes as a broken or hostile producer would send them."""
    text = json.dumps(good)
    return [
        ("lone surrogate", b"k", text.replace('"Anime ', '"\\ud800Anime ', 1).encode()),
        ("surrogate bytes", b"k", text.replace("Anime ", "\ud800Anime ", 1).encode("utf-8", "surrogatepass")),
        ("oversized", b"k", b'{"item_type": "anime_info", "pad": "' + b"x" * 1_100_000 + b'"}'),
        ("invalid bytes, 400 KB", b"k", b"\xff" * 400_000),
        ("deep nesting", b"k", b"[" * 100_000 + b"]" * 100_000),
        ("deep object", b"k", b'{"a":' * 200 + b"1" + b"}" * 200),
        ("NaN", b"k", text.replace('"score": ', '"score": NaN, "x": ', 1).encode()),
        ("Infinity", b"k", text.replace('"score": ', '"score": Infinity, "x": ', 1).encode()),
        ("duplicate keys", b"k", text.replace('{"item_type"', '{"anime_id": 3, "item_type"', 1).encode()),
        ("BOM", b"k", b"\xef\xbb\xbf" + text.encode()),
        ("anime_id beyond the schema", b"k", json.dumps({**good, "anime_id": 2**40}).encode()),
        # valid for the schema, but out of PostgreSQL integer range: refused by the database
        ("out-of-range integer", b"k", json.dumps({**good, "num_episodes": 2**40}).encode()),
        ("huge integer", b"k", json.dumps({**good, "favorites_count": 10**30}).encode()),
        ("empty value", b"k", b""),
        ("null value", b"k", None),
        ("null key, bad value", None, b"{broken"),
        ("NUL in a string", b"k\x00", text.replace("Anime ", "Anime\\u0000", 1).encode()),
    ]


def dead_letters(core, timeout=20):
    consumer = KafkaConsumer(topic_name(core, "deadletter"), bootstrap_servers=core.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=timeout * 1000,
                             max_partition_fetch_bytes=8 * 1024 * 1024)
    got = [(dict(r.headers).get(H_DEAD_LETTER_ID, b"").decode(), json.loads(r.value)) for r in consumer]
    consumer.close()
    return got


def produce_poison(core, poison):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=core.kafka_bootstrap.split(","), max_request_size=4 * 1024 * 1024)
    for _, key, value in poison:
        producer.send(topic_name(core, "ingest"), key=key, value=value)
    producer.flush(60)
    producer.close()


def test_every_poison_class_is_rejected_once_and_every_valid_message_lands_once(land_core, land_settings):
    items = world.messages(world.EventWorld(anime=10, users=5, entries_per_user=4))
    good = next(m for _, m in items if m["item_type"] == "anime_info")
    poison = poison_messages(good)
    produce(land_core, items[: len(items) // 2])
    produce_poison(land_core, poison)
    produce(land_core, items[len(items) // 2:])
    settings = land_settings.__class__(**{**land_settings.__dict__, "dead_letter_max_bytes": 2048,
                                          "batch_max_messages": 40, "max_failures": 1})

    totals = Writer(land_core, settings).run(once=True)   # max_failures=1: any failed batch would raise

    counts = landed_counts(land_core)
    expected: dict[str, int] = {}
    for _, m in items:
        expected[m["item_type"]] = expected.get(m["item_type"], 0) + 1
    for kind, n in expected.items():
        assert counts[kind] == n and distinct_provenance(land_core, kind) == n, kind
    assert counts["rejects"] == len(poison) == totals.rejected
    with db.connect(land_core.postgres_url) as conn:
        states = dict(conn.execute("SELECT dead_letter_state, count(*) FROM landing.rejects WHERE kafka_topic LIKE %s "
                                   "GROUP BY 1", (land_core.topic_prefix + "%",)).fetchall())
        stages = dict(conn.execute("SELECT stage, count(*) FROM landing.rejects WHERE kafka_topic LIKE %s GROUP BY 1",
                                   (land_core.topic_prefix + "%",)).fetchall())
    assert states == {"sent": len(poison)}
    assert stages == {"landing.validate": len(poison) - 2, "landing.write": 2}   # the two integers PostgreSQL refuses
    letters = dead_letters(land_core)
    assert len(letters) == len(poison) and len({i for i, _ in letters}) == len(poison)
    for _, letter in letters:
        assert len(letter["payload"].encode()) <= 2048
        assert letter["payload_bytes"] >= 0 and len(letter["payload_sha256"]) == 64
    sizes = sorted(letter["payload_bytes"] for _, letter in letters)
    assert sizes[-1] > 1_000_000 and sizes[0] == 0
    for key in ("ingest", "feedback"):
        assert set(consumer_lag(land_core, land_settings.group, topic_name(land_core, key)).values()) == {0}


def test_a_dead_letter_is_sent_once_across_a_crash_between_send_and_bookkeeping(land_core, land_settings,
                                                                                 monkeypatch):
    produce(land_core, world.messages(world.EventWorld(anime=3, users=2, entries_per_user=2)))
    produce_poison(land_core, [("bad", b"k", b"{broken"), ("worse", None, b"\xff")])
    real = deadletters._mark_sent

    def crash(*args, **kwargs):   # the letters are on the topic; the process dies before recording it
        raise SystemExit("killed after the send")

    monkeypatch.setattr(deadletters, "_mark_sent", crash)
    with pytest.raises(SystemExit):
        Writer(land_core, land_settings).run(once=True)
    assert len(dead_letters(land_core, timeout=5)) == 2
    with db.connect(land_core.postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM landing.rejects WHERE kafka_topic LIKE %s AND "
                            "dead_letter_state = 'sending'", (land_core.topic_prefix + "%",)).fetchone()[0] == 2

    monkeypatch.setattr(deadletters, "_mark_sent", real)
    Writer(land_core, land_settings).run(once=True)   # the restart: looks the letters up, sends nothing twice
    letters = dead_letters(land_core, timeout=5)
    assert len(letters) == 2 and len({i for i, _ in letters}) == 2
    with db.connect(land_core.postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM landing.rejects WHERE kafka_topic LIKE %s AND "
                            "dead_letter_state = 'sent'", (land_core.topic_prefix + "%",)).fetchone()[0] == 2
