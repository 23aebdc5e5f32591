"""Crawler metrics (animerec_crawler_*)."""

from __future__ import annotations

from animerec.common import metrics

PAGES = metrics.counter("crawler", "pages_total", "Pages fetched, by page type and outcome",
                        ("source", "page_type", "status"))
ITEMS = metrics.counter("crawler", "items_total", "Items that reached the sink, by item type", ("item_type",))
PARSE_ERRORS = metrics.counter("crawler", "parse_errors_total", "Pages that failed to parse (dead-lettered)",
                               ("page_type",))
FETCH_SECONDS = metrics.histogram("crawler", "fetch_duration_seconds", "Download latency of a page", ("host",))
RETRIES = metrics.counter("crawler", "retries_total", "Requests retried, by host and delay kind", ("host", "kind"))
RATE_LIMIT_WAIT = metrics.histogram("crawler", "rate_limit_wait_seconds", "Time a request waited for a rate limit",
                                    ("host",))
JOBS = metrics.counter("crawler", "jobs_total", "Anime / profile / seed crawls finished, by outcome",
                       ("kind", "outcome"))
JOBS_IN_FLIGHT = metrics.gauge("crawler", "jobs_in_flight", "Crawls started and not finished")
INSPECTED = metrics.counter("crawler", "inspected_urls_total", "Anime / profile URLs seen on crawled pages",
                            ("kind",))
QUEUE_LAG = metrics.gauge("crawler", "queue_lag_messages", "Schedule messages not yet committed by this group",
                          ("topic", "partition"))
DEAD_LETTERS = metrics.counter("crawler", "dead_letters_total", "Pages and messages sent to the dead-letter topic",
                               ("stage",))
SINK_ERRORS = metrics.counter("crawler", "sink_errors_total", "Items the sink failed to write", ("sink",))
BOOKKEEPING_SECONDS = metrics.histogram("crawler", "bookkeeping_flush_duration_seconds",
                                        "Time to write one batch of schedule-table updates")
