import json
import threading

import pytest
from kafka import KafkaConsumer

from animerec.common import db
from animerec.common.kafka import consumer_lag, topic_name
from animerec.devkit import eventworld as world
from animerec.landing import metrics as m
from animerec.landing.writer import Writer

from .conftest import distinct_provenance, landed_counts, produce, produce_raw

pytestmark = pytest.mark.integration


def expected_counts(items, feedback=0):
    out = {}
    for _, msg in items:
        out[msg["item_type"]] = out.get(msg["item_type"], 0) + 1
    if feedback:
        out["feedback"] = feedback
    return out


def dead_letters(core, want, timeout=20):
    consumer = KafkaConsumer(topic_name(core, "deadletter"), bootstrap_servers=core.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=timeout * 1000)
    got = []
    for record in consumer:
        got.append(json.loads(record.value))
        if len(got) >= want:
            break
    consumer.close()
    return got


def test_once_lands_everything_rejects_poison_and_commits(land_core, land_settings):
    w = world.EventWorld(anime=12, users=6, entries_per_user=5)
    items = world.messages(w)
    feedback = world.feedback_messages(w, 7)
    produce(land_core, items)
    produce(land_core, feedback, key="feedback")
    produce_raw(land_core, [b"{broken", json.dumps({**items[0][1], "anime_id": -4}).encode(),
                            # valid for the schema, but out of PostgreSQL integer range: refused by the database
                            json.dumps({**items[0][1], "favorites_count": 2**40}).encode()])
    before_landed = m.LANDED.labels("animelist_entry")._value.get()

    totals = Writer(land_core, land_settings).run(once=True)

    counts = landed_counts(land_core)
    for kind, n in expected_counts(items, len(feedback)).items():
        assert counts[kind] == n, kind
    assert counts["rejects"] == 3
    assert totals.landed == len(items) + len(feedback) and totals.rejected == 3
    assert m.LANDED.labels("animelist_entry")._value.get() - before_landed == expected_counts(items)["animelist_entry"]
    with db.connect(land_core.postgres_url) as conn:
        errors = dict(conn.execute("SELECT stage, string_agg(error, ' | ' ORDER BY kafka_offset) FROM landing.rejects "
                                   "WHERE kafka_topic LIKE %s GROUP BY stage", (land_core.topic_prefix + "%",)))
    assert "not JSON" in errors["landing.validate"] and "anime_id" in errors["landing.validate"]
    assert "out of range" in errors["landing.write"]
    letters = dead_letters(land_core, 3)
    assert sorted(x["stage"] for x in letters) == ["landing.validate", "landing.validate", "landing.write"]
    assert all(x["source_topic"] == topic_name(land_core, "ingest") for x in letters)
    # Everything committed: no lag, and a second drain finds nothing.
    assert set(consumer_lag(land_core, land_settings.group, topic_name(land_core, "ingest")).values()) == {0}
    assert Writer(land_core, land_settings).run(once=True).read == 0
    assert landed_counts(land_core) == counts


def test_replay_from_offset_zero_lands_nothing_twice(land_core, land_settings, unique):
    items = world.messages(world.EventWorld(anime=8, users=4, entries_per_user=4))
    produce(land_core, items)
    Writer(land_core, land_settings).run(once=True)
    first = landed_counts(land_core)
    # A new group starts from the earliest offset: exactly what a crash before the commit replays.
    replay = Writer(land_core, land_settings.__class__(**{**land_settings.__dict__, "group": f"replay-{unique}"}))
    totals = replay.run(once=True)
    assert totals.read == len(items) and totals.landed == 0 and totals.duplicates == len(items)
    assert landed_counts(land_core) == first
    assert distinct_provenance(land_core, "animelist_entry") == first["animelist_entry"]


def test_two_replicas_share_the_partitions(land_core, land_settings):
    items = world.messages(world.sized(1500))
    produce(land_core, items)
    writers = [Writer(land_core, land_settings) for _ in range(2)]
    totals = [None, None]

    def run(i):
        totals[i] = writers[i].run(once=True)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(landed_counts(land_core).values()) == len(items)
    assert sum(t.landed for t in totals) == len(items)
