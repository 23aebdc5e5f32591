"""MAL's display strings: numbers, dates, aired ranges and every 'last online' form."""

from __future__ import annotations

import datetime as dt

import pytest

from animerec.crawler.parsers import values

NOW = dt.datetime(2018, 7, 24, 12, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("Now", "2018-07-24T12:30:00Z"),
    ("Online", "2018-07-24T12:30:00Z"),
    ("20 seconds ago", "2018-07-24T12:29:40Z"),
    ("1 minute ago", "2018-07-24T12:29:00Z"),
    ("23 minutes ago", "2018-07-24T12:07:00Z"),
    ("1 hour ago", "2018-07-24T11:30:00Z"),
    ("6 hours ago", "2018-07-24T06:30:00Z"),
    ("an hour ago", "2018-07-24T11:30:00Z"),
    ("3 days ago", "2018-07-21T12:30:00Z"),
    ("Yesterday, 10:00 AM", "2018-07-23T10:00:00Z"),
    ("Yesterday, 9:01 PM", "2018-07-23T21:01:00Z"),
    ("Today, 12:05 AM", "2018-07-24T00:05:00Z"),
    ("Today, 12:05 PM", "2018-07-24T12:05:00Z"),
    ("May 4, 8:09 AM", "2018-05-04T08:09:00Z"),            # this year
    ("Dec 30, 11:00 PM", "2017-12-30T23:00:00Z"),          # not yet this year: last year
    ("Apr 3, 2016", "2016-04-03T00:00:00Z"),
    ("Sep 24, 2017 6:31 AM", "2017-09-24T06:31:00Z"),
    ("  Jul 21,   4:13 PM ", "2018-07-21T16:13:00Z"),
    ("Feb 29, 2016", "2016-02-29T00:00:00Z"),
])
def test_relative_and_absolute_times(text: str, expected: str) -> None:
    assert values.iso_z(values.parse_relative(text, NOW)) == expected


@pytest.mark.parametrize("text", ["", None, "?", "soon", "Feb 30, 2016", "Smarch 3, 2016", "13:99"])
def test_unreadable_times_are_none(text) -> None:
    assert values.parse_relative(text, NOW) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Apr 3, 1998 to Apr 24, 1999", ("1998-04-03", "1999-04-24")),
    ("Oct 20, 1999 to ?", ("1999-10-20", None)),
    ("Sep 1, 2001", ("2001-09-01", None)),
    ("Apr 2018 to Jun 2018", ("2018-04-01", "2018-06-01")),
    ("1986", ("1986-01-01", None)),
    ("Not available", (None, None)),
    ("? to ?", (None, None)),
    (None, (None, None)),
])
def test_aired_range(text, expected) -> None:
    assert values.aired_range(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1,251,960", 1251960), ("#28", 28), ("N/A", None), ("Unknown", None), ("", None), (None, None), (7, 7),
    (True, None), ("26 eps", 26),
])
def test_to_int(text, expected) -> None:
    assert values.to_int(text) == expected


def test_floats_and_dates() -> None:
    assert values.to_float("8.78") == 8.78 and values.to_float("1,234.5") == 1234.5 and values.to_float("N/A") is None
    assert values.mmddyy("03-10-18") == "2018-03-10" and values.mmddyy("04-07-98") == "1998-04-07"
    assert values.mmddyy("13-40-18") is None and values.mmddyy(None) is None
    assert values.iso_or_none("2014-04-06T02:33:00+09:00") == "2014-04-05T17:33:00Z"
    assert values.date_or_none("2012-07-08T00:00:00+00:00") == "2012-07-08"
    assert values.iso_or_none("yesterday") is None and values.clean("  a \n\t b ") == "a b"
