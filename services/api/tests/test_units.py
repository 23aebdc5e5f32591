"""Pure functions: input checks, feedback parsing, cold-start blending, crawl answer parsing."""

import json

import pytest
from starlette.datastructures import QueryParams

from animerec.api import coldstart, errors, feedback
from animerec.api.errors import ApiError
from animerec.common import contracts


@pytest.mark.parametrize("name", ["Xinil", "ab", "a_b-c", "A" * 16, "A" * 32, "0123456789"])
def test_good_user_names(name):
    assert errors.user_name(name) == name


@pytest.mark.parametrize("name", ["a", "A" * 33, "bad name", "bad/../x", "ünï", "x;drop", "", "a.b", "%2e%2e",
                                  "name\n", "na\x00me"])
def test_bad_user_names(name):
    with pytest.raises(ApiError) as err:
        errors.user_name(name)
    assert err.value.status == 400 and err.value.code == "bad_user_name"


@pytest.mark.parametrize("raw, ok", [("1", 1), ("2147483647", 2147483647), ("0", None), ("-1", None),
                                     ("2147483648", None), ("1e3", None), ("１", None), ("9" * 5000, None)])
def test_anime_ids(raw, ok):
    if ok is None:
        with pytest.raises(ApiError):
            errors.anime_id(raw)
    else:
        assert errors.anime_id(raw) == ok


def test_int_params():
    q = QueryParams("n=5&sample=2&dup=1&dup=2")
    assert errors.int_param(q, "n", 20, 1, 100) == 5
    assert errors.int_param(q, "missing", 20, 1, 100) == 20
    for bad in ("n=0", "n=101", "n=abc", "n=", "n=1.5", "n=" + "9" * 40, "n=1&n=2"):
        with pytest.raises(ApiError) as err:
            errors.int_param(QueryParams(bad), "n", 20, 1, 100)
        assert err.value.status == 400 and err.value.code == "bad_n"


def test_feedback_parse_builds_a_schema_valid_event():
    body = {"user": "Xinil", "anime_id": 1, "action": "like",
            "context": {"surface": "web", "position": 2, "model_version": "v1"}}
    event, token = feedback.parse(json.dumps(body).encode())
    assert token is None
    contracts.validate("feedback", event)
    assert event["user_name"] == "Xinil" and event["context"] == body["context"] and event["created_at"].endswith("Z")


@pytest.mark.parametrize("body, status, code", [
    (b"not json", 400, "bad_json"),
    (b"[1, 2]", 400, "bad_json"),
    (b"[" * 100000, 400, "bad_json"),
    (b'{"user": "Xinil", "anime_id": 1}', 422, "bad_action"),
    (b'{"user": "Xinil", "anime_id": true, "action": "like"}', 422, "bad_anime_id"),
    (b'{"user": "Xinil", "anime_id": 1.0, "action": "like"}', 422, "bad_anime_id"),
    (b'{"user": "x", "anime_id": 1, "action": "like"}', 422, "bad_user_name"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "love"}', 422, "bad_action"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "like", "extra": 1}', 422, "unknown_field"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": []}', 422, "bad_context"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": null}', 422, "bad_context"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": {"x": 1}}', 422, "bad_context"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": {"position": -1}}', 422, "bad_feedback"),
    (b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": {"surface": "tv"}}', 422, "bad_feedback"),
])
def test_feedback_parse_rejects(body, status, code):
    with pytest.raises(ApiError) as err:
        feedback.parse(body)
    assert (err.value.status, err.value.code) == (status, code)


def test_crawled_items_shapes():
    items = [{"item_type": "profile", "user_name": "x"}]
    assert coldstart.crawled_items(items) == items
    assert coldstart.crawled_items({"items": items}) == items
    assert coldstart.crawled_items({"results": [{"url": "u", "items": items}]}) == items
    with pytest.raises(coldstart.CrawlError):
        coldstart.crawled_items({"error": "nope"})


def test_user_list_from_items_is_case_insensitive_and_ignores_others():
    items = [
        {"item_type": "profile", "user_name": "NewOne", "private": False},
        {"item_type": "animelist_entry", "user_name": "newone", "anime_id": 5, "status": "completed", "score": 9},
        {"item_type": "animelist_entry", "user_name": "someone", "anime_id": 6, "status": "completed"},
        {"item_type": "favorite", "user_name": "NewOne", "anime_id": 7},
    ]
    found, private, entries = coldstart.user_list("NEWONE", items)
    assert found and not private and entries == [(5, "completed", 9, None)]
    assert coldstart.user_list("ghost", items) == (False, False, [])


def test_recent_completed_and_blend():
    entries = [[1, "completed", 10, "2026-01-03T00:00:00Z"], [2, "completed", None, "2026-01-05T00:00:00Z"],
               [3, "watching", 8, "2026-01-09T00:00:00Z"], [4, "completed", 5, None]]
    seeds = coldstart.recent_completed(entries, 2)
    assert seeds == [(2, 0.7), (1, 1.0)]  # newest completed first; unscored weighs 0.7
    assert coldstart.recent_completed([[3, "watching", 8, None]], 5) == [(3, 0.8)]
    similar = {1: [(10, 0.9), (11, 0.5), (2, 0.99)], 2: [(11, 0.9), (12, 0.1)]}
    ranked = coldstart.blend(seeds, similar, exclude={1, 2, 3, 4})
    # 11: 0.5*1.0 + 0.9*0.7 = 1.13 (mostly from seed 2); 10: 0.9; 12: 0.07; listed anime never come back
    assert [(a, round(s, 2), seed) for a, s, seed in ranked] == [(11, 1.13, 2), (10, 0.9, 1), (12, 0.07, 2)]


def test_diverse_sample_takes_one_per_franchise_while_there_are_enough():
    import random

    from animerec.api.service import diverse_sample

    # a top 20 where twelve entries are one long series (franchise 1) and eight are others
    franchises = [1] * 12 + [2, 3, 4, 5, 6, 7, 8, 9]
    rng = random.Random(3)
    for _ in range(200):
        chosen = diverse_sample(franchises, 5, 1, rng)
        assert chosen == sorted(chosen) and len(set(chosen)) == 5 and max(chosen) < 20
        picked = [franchises[i] for i in chosen]
        assert len(set(picked)) == 5, picked
    # uncapped: the series fills most draws, as a plain random sample would
    assert max(sum(franchises[i] == 1 for i in diverse_sample(franchises, 5, 0, rng)) for _ in range(50)) >= 3


def test_diverse_sample_fills_with_repeats_when_franchises_run_out():
    import random

    from animerec.api.service import diverse_sample

    rng = random.Random(5)
    for _ in range(50):
        chosen = diverse_sample([1, 1, 1, 2, 2, 1], 5, 1, rng)
        assert len(chosen) == 5 and chosen == sorted(chosen) and len(set(chosen)) == 5
        assert {1, 2} <= {[1, 1, 1, 2, 2, 1][i] for i in chosen}
        two = diverse_sample([1, 1, 1, 2, 2, 1], 2, 2, rng)
        assert len(two) == 2
