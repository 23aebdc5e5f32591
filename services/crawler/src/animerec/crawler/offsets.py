"""Which Kafka offsets may be committed when messages finish out of order.

Jobs of one partition finish in any order; the committed offset may only move past a message once
it and every message before it are done, so a crash never skips an unfinished one.
"""

from __future__ import annotations

from collections.abc import Iterable


class OffsetTracker:
    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], dict[int, bool]] = {}
        self._committed: dict[tuple[str, int], int] = {}

    def add(self, topic: str, partition: int, offset: int) -> None:
        self._pending.setdefault((topic, partition), {})[offset] = False

    def done(self, topic: str, partition: int, offset: int) -> None:
        offsets = self._pending.get((topic, partition))
        if offsets is not None and offset in offsets:
            offsets[offset] = True

    def in_flight(self) -> int:
        return sum(1 for offsets in self._pending.values() for done in offsets.values() if not done)

    def committable(self) -> dict[tuple[str, int], int]:
        """Per partition, the next offset to commit, where it moved past the last commit."""
        out = {}
        for tp, offsets in self._pending.items():
            ready = None
            for offset in sorted(offsets):
                if not offsets[offset]:
                    break
                ready = offset + 1
            if ready is not None and ready > self._committed.get(tp, -1):
                out[tp] = ready
        return out

    def committed(self, commits: dict[tuple[str, int], int]) -> None:
        """Record a successful commit; only then are the finished offsets below it dropped."""
        for tp, position in commits.items():
            self._committed[tp] = position
            offsets = self._pending.get(tp, {})
            for offset in [o for o in offsets if o < position]:
                del offsets[offset]

    def last_committed(self, topic: str, partition: int) -> int | None:
        return self._committed.get((topic, partition))

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions taken away by a rebalance: their unfinished messages go to the new owner."""
        for tp in partitions:
            self._pending.pop(tp, None)
            self._committed.pop(tp, None)
