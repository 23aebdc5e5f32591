"""The Scrapy item pipeline's Kafka keys."""

from __future__ import annotations

from animerec.crawler.itemsink import item_key


def test_item_keys():
    assert item_key({"item_type": "anime_review", "anime_id": 5, "user_name": "bob"}) == "5"
    assert item_key({"item_type": "animelist_entry", "anime_id": 5, "user_name": "bob"}) == "bob"
    assert item_key({"item_type": "profile", "user_name": "bob"}) == "bob"
