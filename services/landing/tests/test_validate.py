import json

import pytest

from animerec.common import contracts
from animerec.landing.pipeline import allowed_schemas
from animerec.landing.tables import landing_tables
from animerec.landing.validate import Landed, Record, Rejected, check

ALLOWED = allowed_schemas("animerec.", ["ingest", "feedback"])
TABLES = landing_tables()
INGEST, FEEDBACK = "animerec.ingest.items", "animerec.feedback.events"


def example(name):
    return json.loads((contracts.schemas_dir() / "examples" / f"{name}.json").read_text())


def rec(message, topic=INGEST, header=None, offset=3):
    raw = message if isinstance(message, bytes) else json.dumps(message).encode()
    return Record(topic, 1, offset, "k", raw, header)


@pytest.mark.parametrize("name", contracts.ITEM_TYPES)
def test_every_item_example_becomes_a_row_of_its_table(name):
    out = check(rec(example(name)), ALLOWED, TABLES)
    assert isinstance(out, Landed) and out.schema == name
    spec = TABLES[name]
    row = dict(zip(spec.columns, out.row, strict=True))
    assert row["kafka_topic"] == INGEST and row["kafka_partition"] == 1 and row["kafka_offset"] == 3
    for field, value in example(name).items():
        if field != "item_type":
            assert row[field] == value


def test_feedback_lands_without_item_type_and_context_as_json():
    out = check(rec(example("feedback"), FEEDBACK), ALLOWED, TABLES)
    assert isinstance(out, Landed) and out.schema == "feedback"
    row = dict(zip(TABLES["feedback"].columns, out.row, strict=True))
    assert json.loads(row["context"]) == example("feedback")["context"]


@pytest.mark.parametrize(("message", "topic", "header", "reason"), [
    (b"{not json", INGEST, None, "not JSON"),
    (b"\xff\xfe", INGEST, None, "not JSON"),
    ({k: v for k, v in example("anime_info").items() if k != "title"}, INGEST, None, "'title' is a required"),
    ({**example("anime_info"), "anime_id": 0}, INGEST, None, "anime_id"),
    ({**example("animelist_entry"), "status": "binged"}, INGEST, None, "status"),
    ({**example("animelist_entry"), "extra": 1}, INGEST, None, "Additional properties"),
    ({"anime_id": 1}, INGEST, None, "no item_type"),
    (example("feedback"), INGEST, "feedback", "does not belong on topic"),
    (example("anime_info"), FEEDBACK, None, "feedback"),
    (example("anime_info"), INGEST, "profile", "profile"),
    ({**example("anime_info"), "title": "nul\u0000byte"}, INGEST, None, "NUL"),
])
def test_bad_messages_are_rejected_with_the_reason(message, topic, header, reason):
    out = check(rec(message, topic, header), ALLOWED, TABLES)
    assert isinstance(out, Rejected)
    assert reason in out.error
    row = out.row()
    assert row[0] == "landing.validate" and row[4:] == (topic, 1, 3)
    assert "\x00" not in row[2]


def test_world_messages_are_all_valid():
    from animerec.landing import world
    w = world.World(anime=30, users=12)
    items = world.messages(w)
    kinds = {m["item_type"] for _, m in items}
    assert kinds == set(contracts.ITEM_TYPES)
    for _, m in items:
        assert isinstance(check(rec(m), ALLOWED, TABLES), Landed)
    for _, m in world.feedback_messages(w, 10):
        assert isinstance(check(rec(m, FEEDBACK), ALLOWED, TABLES), Landed)
