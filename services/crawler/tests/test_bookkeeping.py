"""Bookkeeping against PostgreSQL: inspected counts add up, crawled resets errors, failures count,
and a job's callback runs only after its batch is committed."""

from __future__ import annotations

import threading

import pytest

from animerec.crawler.bookkeeping import Bookkeeper

pytestmark = pytest.mark.integration

A1, A2, P1 = "https://myanimelist.net/anime/1", "https://myanimelist.net/anime/2", "https://myanimelist.net/profile/Al"


def wait_committed(book):
    done = threading.Event()
    errors = []
    book.then(lambda error: (errors.append(error), done.set()))
    assert done.wait(10)
    return errors[0]


def test_inspected_crawled_failed_round_trip(crawl_db, schedule):
    book = Bookkeeper(crawl_db, flush_s=0.05).start()
    try:
        book.inspected([A1, A2, P1, "https://myanimelist.net/forum/1"])
        book.inspected([A1])
        assert wait_committed(book) is None
        anime = schedule(crawl_db, "anime")
        assert anime[A1]["inspected_count"] == 2 and anime[A2]["inspected_count"] == 1
        assert anime[A1]["last_inspected_date"] is not None and anime[A1]["last_scheduled_date"] is None
        assert set(schedule(crawl_db, "profile")) == {P1}

        book.failed("anime", A2, "cannot parse anime page")
        book.failed("anime", A2, "http_500")
        book.crawled("anime", A1)
        assert wait_committed(book) is None
        anime = schedule(crawl_db, "anime")
        # two failures in one batch count once: they are one attempt's outcome per batch
        assert anime[A2]["error_count"] == 1 and anime[A2]["last_error"] == "http_500"
        assert anime[A1]["crawled_count"] == 1 and anime[A1]["last_crawled_date"] is not None

        book.failed("anime", A2, "again")
        assert wait_committed(book) is None
        assert schedule(crawl_db, "anime")[A2]["error_count"] == 2
        book.crawled("anime", A2)
        book.crawled("anime", A1, count=False)   # a duplicate request: fresher, not crawled again
        assert wait_committed(book) is None
        anime = schedule(crawl_db, "anime")
        assert anime[A2]["error_count"] == 0 and anime[A2]["crawled_count"] == 1
        assert anime[A1]["crawled_count"] == 1
    finally:
        book.stop()


def test_callback_gets_the_error_when_the_database_is_unreachable():
    book = Bookkeeper("postgresql://postgres@127.0.0.1:1/none", flush_s=0.01, retries=1).start()
    try:
        book.crawled("anime", A1)
        error = wait_committed(book)
        assert error is not None
    finally:
        book.stop()


def test_without_a_database_callbacks_still_run():
    book = Bookkeeper(None, flush_s=0.01).start()
    try:
        book.inspected([A1])
        assert wait_committed(book) is None
    finally:
        book.stop()
