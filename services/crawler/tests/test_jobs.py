"""Job accounting: when a job is idle, its outcome."""

from __future__ import annotations

from animerec.crawler.jobs import Job
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
