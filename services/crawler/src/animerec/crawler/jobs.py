"""One crawl job (an anime, a profile or a seed listing) and when it is done.

A job is done when every request it issued was answered (callback or errback) or dropped, and every
item and dead letter it emitted was acknowledged by the sink. Counters are touched only on the
reactor thread; the result is handed to other threads through a concurrent.futures.Future.
"""

from __future__ import annotations

import itertools
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .targets import Target

OUTCOMES = ("ok", "failed", "not_found", "duplicate", "sink_error")
_ids = itertools.count(1)


@dataclass
class JobResult:
    url: str
    kind: str
    source: str
    outcome: str                    # one of OUTCOMES
    pages: int = 0
    item_count: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)   # only when the job collects them
    errors: list[str] = field(default_factory=list)
    links: int = 0

    @property
    def settled(self) -> bool:
        """Done for good (crawled, failed, or fresh already); False when the sink failed and it should be retried."""
        return self.outcome != "sink_error"

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "kind": self.kind, "source": self.source, "status": self.outcome,
                "pages": self.pages, "item_count": self.item_count, "errors": self.errors, "items": self.items}


@dataclass(eq=False)
class Job:
    target: Target
    collect: bool = False          # keep the items for the caller (POST /crawl with wait)
    force: bool = False            # crawl even if the shared dupefilter says it is fresh
    max_pages: int | None = None   # pages per chain of next pages (seed listings); default: the setting
    id: int = field(default_factory=lambda: next(_ids))
    future: Future = field(default_factory=Future)
    pending_requests: int = 0
    pending_items: int = 0
    pages: int = 0
    item_count: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sink_errors: list[str] = field(default_factory=list)
    links: Counter = field(default_factory=Counter)
    root_status: str | None = None   # the parser's status of the first page (anime main page, profile)
    duplicate: bool = False
    finished: bool = False

    # Accounting: increments happen before the matching decrement can, so zero means done.
    def request_issued(self, n: int = 1) -> None:
        self.pending_requests += n

    def request_settled(self) -> None:
        self.pending_requests -= 1

    def item_issued(self) -> None:
        self.pending_items += 1

    def item_settled(self, item: dict[str, Any] | None = None, error: str | None = None) -> None:
        self.pending_items -= 1
        if error is not None:
            self.sink_errors.append(error)
        elif item is not None:
            self.item_count += 1
            if self.collect:
                self.items.append(item)

    @property
    def idle(self) -> bool:
        return self.pending_requests <= 0 and self.pending_items <= 0

    def outcome(self) -> str:
        if self.sink_errors:
            return "sink_error"
        if self.duplicate:
            return "duplicate"
        if self.root_status == "not_found":
            return "not_found"
        if self.errors or self.root_status is None:
            return "failed"
        return "ok"

    def result(self) -> JobResult:
        errors = self.errors + [f"sink: {e}" for e in self.sink_errors]
        if self.root_status is None and not errors and not self.duplicate:
            errors.append("the first page was never parsed")
        if self.root_status == "not_found":
            errors.append(f"{self.target.url} not found")
        return JobResult(self.target.url, self.target.kind, self.target.source, self.outcome(), self.pages,
                         self.item_count, self.items, errors, len(self.links))
