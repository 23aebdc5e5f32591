"""Out-of-order completion never moves the committed offset past an unfinished message."""

from __future__ import annotations

from animerec.crawler.offsets import OffsetTracker

T = "animerec.schedule.anime"


def test_commits_only_the_finished_prefix():
    tracker = OffsetTracker()
    for offset in (10, 11, 12, 13):
        tracker.add(T, 0, offset)
    tracker.done(T, 0, 12)
    tracker.done(T, 0, 13)
    assert tracker.committable() == {}           # 10 still running
    tracker.done(T, 0, 10)
    assert tracker.committable() == {(T, 0): 11}  # 11 still running
    tracker.committed({(T, 0): 11})
    assert tracker.in_flight() == 1
    tracker.done(T, 0, 11)
    assert tracker.committable() == {(T, 0): 14}
    tracker.committed({(T, 0): 14})
    assert tracker.committable() == {} and tracker.in_flight() == 0


def test_partitions_are_independent_and_forgotten_on_revoke():
    tracker = OffsetTracker()
    tracker.add(T, 0, 5)
    tracker.add(T, 1, 7)
    tracker.done(T, 1, 7)
    assert tracker.committable() == {(T, 1): 8}
    assert tracker.committable() == {(T, 1): 8}    # until a commit succeeded, it stays committable
    tracker.forget([(T, 0)])
    tracker.done(T, 0, 5)                          # finished after the partition moved: not ours to commit
    assert tracker.committable() == {(T, 1): 8}
    tracker.committed({(T, 1): 8})
    assert tracker.committable() == {} and tracker.in_flight() == 0
