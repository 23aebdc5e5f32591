from datetime import UTC, datetime, timedelta, timezone

from animerec.common.timefmt import iso, now_iso


def test_iso_is_utc_with_a_z_suffix():
    moment = datetime(2026, 1, 2, 5, 4, 5, 678900, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2026-01-02T03:04:05.678Z"
    assert iso(moment, "seconds") == "2026-01-02T03:04:05Z"


def test_now_iso_parses_back_to_now():
    before = datetime.now(UTC)
    parsed = datetime.fromisoformat(now_iso().replace("Z", "+00:00"))
    assert before - timedelta(milliseconds=1) <= parsed <= datetime.now(UTC)
