"""Readers of a parsed HTML document (lxml): text, the first XPath match, CSS classes, label -> value rows.

Nothing here knows MAL; the page parsers and base.py build on these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from animerec.crawler.parsers.values import clean


def text_of(node) -> str | None:
    return clean(node.text_content()) if node is not None else None


def first(doc, xpath: str):
    found = doc.xpath(xpath)
    return found[0] if found else None


def either(*candidates):
    """The first candidate that is not None (lxml elements without children are falsy, so no `or`)."""
    return next((c for c in candidates if c is not None), None)


def has_class(name: str) -> str:
    """XPath predicate for an element carrying CSS class `name`."""
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def labelled(doc: Any, labels: str, value: Callable[[Any], Any]) -> dict[str, Any]:
    """Label text (without a trailing ':') -> the element holding its value, for layouts that put a label element
    beside each value: `labels` selects the label elements, `value(label)` finds its value (None: left out). The
    first of a repeated label wins."""
    out: dict[str, Any] = {}
    for node in doc.xpath(labels):
        label = clean(node.text_content())
        found = value(node)
        if label and found is not None:
            out.setdefault(label.rstrip(":").strip(), found)
    return out
