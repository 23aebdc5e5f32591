"""Turning MAL's display strings into typed values: numbers, dates, relative times.

Everything here returns None for anything it does not recognise, so a layout change gives nulls,
never a crash. Times on MAL pages carry no zone; they are read as UTC.
"""

from __future__ import annotations

import datetime as dt
import html
import re

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_INT = re.compile(r"-?\d[\d,]*")
_FLOAT = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_SPACE = re.compile(r"\s+")
# An HTML character reference left in text after parsing: MAL escapes some fields twice ("&amp;#039;"), and
# catalogue titles carry "&#039;"; only well-formed references with their ';' are touched ("Girls & Panzer" stays).
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def unescape(text: str) -> str:
    """Replace leftover character references ("Roberta&#039;s" -> "Roberta's"), twice-escaped ones included."""
    for _ in range(2):
        if "&" not in text:
            break
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    return text


def clean(text: str | None) -> str | None:
    """Collapse whitespace (prettified pages indent every text node), unescape leftover entities; empty -> None."""
    if text is None:
        return None
    text = _SPACE.sub(" ", unescape(str(text))).strip()
    return text or None


def to_int(text) -> int | None:
    """'1,251,960' -> 1251960, '#28' -> 28, 'N/A' / 'Unknown' -> None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        return int(text)
    if not text:
        return None
    m = _INT.search(str(text))
    if not m:
        return None
    try:
        return int(m.group(0).replace(",", ""))
    except ValueError:
        return None


def to_float(text) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    if not text:
        return None
    m = _FLOAT.search(str(text))
    return float(m.group(0).replace(",", "")) if m else None


def iso_z(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a 'Z', seconds precision (the form every event uses)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text) -> dt.datetime | None:
    """An ISO 8601 timestamp (Jikan's '2014-04-06T02:33:00+00:00', or 'Z'), as aware UTC."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso_or_none(text) -> str | None:
    value = parse_iso(text)
    return iso_z(value) if value else None


def date_or_none(text) -> str | None:
    """The calendar date of an ISO timestamp ('2012-07-08T00:00:00+00:00' -> '2012-07-08')."""
    value = parse_iso(text)
    return value.date().isoformat() if value else None


_DATE = re.compile(
    r"^(?P<mon>[A-Za-z]{3})[a-z]*\.?\s*(?:(?P<day>\d{1,2}),?\s*)?,?\s*(?P<year>\d{4})?"
    r"(?:,?\s*(?P<hour>\d{1,2}):(?P<min>\d{2})\s*(?P<ampm>[AaPp][Mm])?)?$")
_YEAR = re.compile(r"^(\d{4})$")


def _hour(hour: str | None, ampm: str | None) -> int:
    h = int(hour or 0)
    if ampm:
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    return h


def parse_mal_date(text: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """MAL absolute dates: 'Apr 3, 1998', 'Apr 1998', '1998', 'May 4, 8:09 AM' (this year),
    'Sep 24, 2017 6:31 AM'. A date without a year is the latest such date not after `now`."""
    text = clean(text)
    if not text or text in {"?", "Not available", "Unknown", "N/A"}:
        return None
    m = _YEAR.match(text)
    if m:
        return dt.datetime(int(m.group(1)), 1, 1, tzinfo=dt.UTC)
    m = _DATE.match(text)
    if not m or m.group("mon").lower()[:3] not in _MONTHS:
        return None
    month = _MONTHS[m.group("mon").lower()[:3]]
    day = int(m.group("day") or 1)
    hour, minute = _hour(m.group("hour"), m.group("ampm")), int(m.group("min") or 0)
    try:
        if m.group("year"):
            return dt.datetime(int(m.group("year")), month, day, hour, minute, tzinfo=dt.UTC)
        if now is None or not m.group("day"):
            return None
        value = dt.datetime(now.year, month, day, hour, minute, tzinfo=dt.UTC)
        if value > now + dt.timedelta(days=1):
            value = value.replace(year=now.year - 1)
        return value
    except ValueError:
        return None


_AGO = re.compile(r"^(?P<n>\d+|an?|one)\s+(?P<unit>second|sec|minute|min|hour|day|week)s?\s+ago$", re.I)
_DAY_TIME = re.compile(r"^(?P<day>yesterday|today),?\s*(?P<hour>\d{1,2}):(?P<min>\d{2})\s*(?P<ampm>[AaPp][Mm])?$",
                       re.I)
_UNIT = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def parse_relative(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """Every form MAL uses for 'last online' / history times: 'Now', '5 minutes ago', '1 hour ago',
    'Yesterday, 10:00 AM', 'Today, 1:00 PM', 'May 4, 8:09 AM', 'Apr 3, 2016', 'Sep 24, 2017 6:31 AM'."""
    text = clean(text)
    if not text:
        return None
    if text.lower() in {"now", "online", "just now"}:
        return now
    m = _AGO.match(text)
    if m:
        n = m.group("n").lower()
        count = 1 if n in {"a", "an", "one"} else int(n)
        return now - dt.timedelta(seconds=count * _UNIT[m.group("unit").lower()])
    m = _DAY_TIME.match(text)
    if m:
        day = now.date() - dt.timedelta(days=1 if m.group("day").lower() == "yesterday" else 0)
        hour = _hour(m.group("hour"), m.group("ampm"))
        return dt.datetime(day.year, day.month, day.day, hour, int(m.group("min")), tzinfo=dt.UTC)
    return parse_mal_date(text, now)


def mal_date(text: str | None) -> str | None:
    """'Apr 3, 1998' -> '1998-04-03' (partial dates take the first day, as Jikan does)."""
    value = parse_mal_date(text)
    return value.date().isoformat() if value else None


def aired_range(text: str | None) -> tuple[str | None, str | None]:
    """'Apr 3, 1998 to Apr 24, 1999' -> both dates; 'Oct 20, 1999 to ?' -> (start, None);
    a single date (films) -> (date, None), like Jikan's aired.to."""
    text = clean(text)
    if not text:
        return None, None
    start, _, end = text.partition(" to ")
    return mal_date(start), mal_date(end) if end else None


def mmddyy(text) -> str | None:
    """load.json's 'MM-DD-YY' date strings -> 'YYYY-MM-DD' (two-digit years pivot at 70)."""
    if not isinstance(text, str):
        return None
    m = re.match(r"^(\d{2})-(\d{2})-(\d{2})$", text.strip())
    if not m:
        return None
    month, day, yy = (int(g) for g in m.groups())
    try:
        return dt.date(1900 + yy if yy >= 70 else 2000 + yy, month, day).isoformat()
    except ValueError:
        return None
