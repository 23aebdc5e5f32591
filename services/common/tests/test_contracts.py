import copy
import json

import pytest

from animerec.common import contracts
from animerec.common.contracts import ITEM_TYPES, SchemaError

EXAMPLES = contracts.schemas_dir() / "examples"
NAMES = sorted(contracts.event_schemas())


def example(name):
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def test_every_schema_has_an_example_and_every_item_type_a_schema():
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(NAMES)
    assert set(ITEM_TYPES) <= set(NAMES)
    assert {"schedule_request", "feedback", "dead_letter"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_valid_example_is_accepted(name):
    contracts.validate(name, example(name))


@pytest.mark.parametrize("name", NAMES)
def test_missing_required_field_is_named(name):
    schema = contracts.event_schemas()[name]
    for field in schema["required"]:
        msg = example(name)
        del msg[field]
        with pytest.raises(SchemaError) as err:
            contracts.validate(name, msg)
        assert f"'{field}' is a required property" in str(err.value)
        assert str(err.value).startswith(name + ":")


@pytest.mark.parametrize("name", NAMES)
def test_unknown_field_is_rejected(name):
    msg = example(name)
    msg["surprise"] = 1
    with pytest.raises(SchemaError, match="surprise"):
        contracts.validate(name, msg)


@pytest.mark.parametrize(("name", "field", "value", "fragment"), [
    ("anime_info", "anime_id", "one", "anime_id: 'one' is not of type 'integer'"),
    ("anime_info", "anime_id", 0, "anime_id: 0 is less than the minimum of 1"),
    ("anime_info", "score", 11, "score: 11 is greater than the maximum of 10"),
    ("anime_info", "source", "crunchyroll", "source: 'crunchyroll' is not one of ['mal', 'jikan']"),
    ("anime_info", "crawled_at", "yesterday", "crawled_at: 'yesterday' is not a 'date-time'"),
    ("anime_info", "start_date", "2009-13-45", "start_date: '2009-13-45' is not a 'date'"),
    ("animelist_entry", "status", "binged", "status: 'binged' is not one of"),
    ("profile", "user_name", "bad name!", "user_name: 'bad name!' does not match"),
    ("feedback", "action", "love", "action: 'love' is not one of ['like', 'dislike', 'click']"),
    ("schedule_request", "kind", "manga", "kind: 'manga' is not one of ['anime', 'profile']"),
    ("schedule_request", "url", "ftp://x", "url: 'ftp://x' does not match"),
])
def test_bad_values_give_readable_messages(name, field, value, fragment):
    msg = example(name)
    msg[field] = value
    with pytest.raises(SchemaError) as err:
        contracts.validate(name, msg)
    assert fragment in str(err.value)


def test_nested_path_is_reported():
    msg = example("feedback")
    msg["context"]["position"] = -1
    with pytest.raises(SchemaError, match=r"context\.position: -1 is less than the minimum of 0"):
        contracts.validate("feedback", msg)


def test_item_type_must_match_schema():
    msg = copy.deepcopy(example("anime_stats"))
    msg["item_type"] = "anime_info"
    with pytest.raises(SchemaError):
        contracts.validate("anime_stats", msg)


def test_unknown_schema_and_missing_item_type():
    with pytest.raises(SchemaError, match="unknown event schema"):
        contracts.validate("nope", {})
    with pytest.raises(SchemaError, match="no item_type"):
        contracts.schema_for({"x": 1})
    assert contracts.schema_for(example("friend")) == "friend"


def test_topics_cover_every_schema():
    topics = contracts.topics()
    carried = {s for t in topics.values() for s in t.schemas}
    assert carried == set(NAMES)
    assert topics["ingest"].name == "animerec.ingest.items"
    assert set(topics["ingest"].schemas) == set(ITEM_TYPES)
    assert contracts.topics("x.")["deadletter"].name == "x.deadletter"
    assert all(t.partitions >= 1 and t.retention_ms > 0 for t in topics.values())


def test_validator_is_compiled_and_cached_once():
    check = contracts.validator("anime_info")
    assert check is contracts.validator("anime_info")
    assert type(check.compiled).__module__.startswith("jsonschema_rs")


def _mutations():
    """Valid examples with one field changed, for every schema: the compiled and the reference validator agree."""
    cases = []
    odd = ["", "x", -1, 0, 1, 1.5, 2.0, 10**30, 1e30, None, True, [], {}, "2020-01-01", "2020-02-30",
           "2020-01-01T00:00:00Z", "2020-01-01T25:00:00Z", "2020-01-01t00:00:00z", "http://x", "ftp://x", "a" * 40]
    for name in NAMES:
        for field in contracts.event_schemas()[name].get("properties", {}):
            for value in odd:
                msg = example(name)
                msg[field] = value
                cases.append((name, msg))
    return cases


def test_compiled_validator_agrees_with_the_reference_on_every_mutation():
    from jsonschema.exceptions import best_match
    for name, msg in _mutations():
        check = contracts.validator(name)
        reference = check.reference
        assert check.is_valid(msg) == reference.is_valid(msg), (name, msg)
        if not reference.is_valid(msg):
            error = best_match(reference.iter_errors(msg))
            where = ".".join(str(p) for p in error.absolute_path) or "(message)"
            with pytest.raises(SchemaError) as err:
                contracts.validate(name, msg)
            assert str(err.value) == f"{name}: {where}: {error.message}"


def test_fast_date_time_check_gives_jsonschemas_verdicts():
    from jsonschema import FormatChecker

    checker = FormatChecker()
    fast = contracts._fast_datetime(checker)
    assert fast is not None, "rfc3339_validator is installed with jsonschema here"
    days = [f"{d:02d}" for d in range(0, 33)]
    texts = [f"{y}-{m}-{d}T12:00:00Z" for y in ("0000", "0001", "1900", "2000", "2023", "2024")
             for m in ("00", "01", "02", "04", "12", "13") for d in days]
    texts += ["2020-01-01t00:00:00z", "2020-01-01T00:00:00.123+05:30", "2020-01-01T23:59:60Z", "2020-01-01 00:00:00Z",
              "2020-01-01T00:00:00", "2020-01-01T00:00:00Z\n", "2020-1-01T00:00:00Z", "", "x", "2020-01-01",
              "\u0660\u0662020-01-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T00:00:00-24:00"]
    for text in [*texts, 5, None]:
        assert fast(text) == checker.conforms(text, "date-time"), text


def test_user_name_pattern_is_the_schemas_rule_without_anchors():
    import re
    pattern = contracts.user_name_pattern()
    assert f"^{pattern}$" == contracts.definition("user_name")["pattern"]
    inside = re.compile(rf"/profile/({pattern})/")
    assert inside.search("https://myanimelist.net/profile/a_b-C9/").group(1) == "a_b-C9"
    assert not inside.search("/profile/" + "x" * 33 + "/") and not inside.search("/profile/a/")
