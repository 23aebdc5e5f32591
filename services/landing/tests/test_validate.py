import json

import pytest

from animerec.common import contracts
from animerec.landing.beam_job import allowed_schemas
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
    assert row[0] == "landing.validate" and row[4:7] == (topic, 1, 3)
    assert "\x00" not in row[2]


def test_world_messages_are_all_valid():
    from animerec.devkit import eventworld as world
    w = world.EventWorld(anime=30, users=12)
    items = world.messages(w)
    kinds = {m["item_type"] for _, m in items}
    assert kinds == set(contracts.ITEM_TYPES)
    for _, m in items:
        assert isinstance(check(rec(m), ALLOWED, TABLES), Landed)
    for _, m in world.feedback_messages(w, 10):
        assert isinstance(check(rec(m, FEEDBACK), ALLOWED, TABLES), Landed)


def poison():
    """Every class of message that once stopped a writer or that JSON decoders disagree on."""
    good = example("anime_info")
    text = json.dumps(good)
    return [
        ("lone surrogate", text.replace('"Fullmetal', '"\\ud800Fullmetal', 1).encode(), "not JSON"),
        ("lone low surrogate key", b'{"\\udc00": 1}', "not JSON"),
        ("surrogate bytes (CESU-8)", text.replace("Fullmetal", "\ud800Fullmetal", 1).encode("utf-8", "surrogatepass"),
         "not JSON"),
        ("oversized", b'{"item_type": "anime_info", "pad": "' + b"x" * 2_000_000 + b'"}', "exceeds the landing limit"),
        ("invalid bytes, large", b"\xff" * 400_000, "not JSON"),
        ("deep nesting", b"[" * 5000 + b"]" * 5000, "not JSON"),
        ("deep but parseable", b'{"a":' * 100 + b"1" + b"}" * 100, "nested deeper"),
        ("NaN", text.replace('"score": 9.1', '"score": NaN').encode(), "not JSON"),
        ("Infinity", text.replace('"score": 9.1', '"score": Infinity').encode(), "not JSON"),
        ("-Infinity", text.replace('"score": 9.1', '"score": -Infinity').encode(), "not JSON"),
        ("duplicate key", text.replace('{"item_type"', '{"anime_id": 7, "item_type"', 1).encode(), "duplicate key"),
        ("duplicate key, quotes in strings", text.replace('{"item_type"', '{"title": "a \\"b\\"", "item_type"', 1)
         .encode(), "duplicate key 'title'"),
        ("BOM", b"\xef\xbb\xbf" + text.encode(), "not JSON"),
        ("empty", b"", "empty message"),
        ("whitespace", b"  ", "not JSON"),
        ("null", b"null", "no item_type"),
        ("top-level string", b'"anime_info"', "no item_type"),
        ("NUL escape", text.replace("Fullmetal", "Full\\u0000metal", 1).encode(), "NUL"),
    ]


@pytest.mark.parametrize(("name", "raw", "reason"), poison(), ids=[p[0] for p in poison()])
def test_poison_is_rejected_with_a_reason_and_a_storable_row(name, raw, reason):
    out = check(Record(INGEST, 0, 5, None, raw, None), ALLOWED, TABLES)
    assert isinstance(out, Rejected), name
    assert reason in out.error
    row = out.row(max_bytes=4096)
    for value in row:
        if isinstance(value, str):
            value.encode("utf-8")          # encodable: no lone surrogate reaches PostgreSQL or Kafka
            assert "\x00" not in value     # PostgreSQL text refuses NUL
    assert len(row[2].encode()) <= 4096 and row[7] == len(raw)


def test_valid_edge_cases_land():
    good = example("anime_info")
    # Quotes, backslashes and escaped non-ASCII in strings, a key order of its own, integers as large as bigint.
    msg = {**good, "title": 'say "hi" \\ \u00e9\u3042', "synopsis": "\\u0000 is not NUL here"}
    raw = json.dumps(dict(reversed(list(msg.items())))).encode()
    out = check(rec(raw), ALLOWED, TABLES)
    assert isinstance(out, Landed), getattr(out, "error", None)
    row = dict(zip(TABLES["anime_info"].columns, out.row, strict=True))
    assert row["title"] == msg["title"] and row["synopsis"] == msg["synopsis"]


def test_out_of_range_integer_passes_validation_and_is_left_to_the_database():
    # 10**30 is a valid JSON integer and a valid schema integer; PostgreSQL refuses it per row (test_writer).
    out = check(rec({**example("anime_info"), "favorites_count": 10**30}), ALLOWED, TABLES)
    assert isinstance(out, (Landed, Rejected))
