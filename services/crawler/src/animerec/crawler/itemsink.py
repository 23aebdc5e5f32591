"""The Scrapy item pipeline (ITEM_PIPELINES): hand each item to the sink and finish only when the sink has it."""

from __future__ import annotations

import asyncio

from twisted.internet.defer import Deferred

from . import metrics


def item_key(item: dict) -> str:
    """Kafka key of an item: the anime id for anime items, the user name for profile items."""
    if item["item_type"].startswith("anime_"):
        return str(item["anime_id"])
    return str(item.get("user_name") or item.get("anime_id"))


def deferred(future) -> Deferred:
    """A Deferred fired on the reactor thread when a concurrent.futures.Future completes."""
    from twisted.internet import reactor

    d: Deferred = Deferred()

    def done(f) -> None:
        exc = f.exception()
        if exc is None:
            reactor.callFromThread(d.callback, f.result())
        else:
            reactor.callFromThread(d.errback, exc)

    future.add_done_callback(done)
    return d


class ItemSink:
    def __init__(self, sink) -> None:
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.spider.shared.sink)

    async def process_item(self, item):
        # The reactor runs on an asyncio loop: awaiting the sink's future keeps the item "in progress"
        # until it is durable, and a failure becomes Scrapy's item_error signal.
        try:
            await asyncio.wrap_future(self.sink.emit(item_key(item), item))
        except Exception:
            metrics.SINK_ERRORS.labels(self.sink.name).inc()
            raise
        metrics.ITEMS.labels(item["item_type"]).inc()
        return item
