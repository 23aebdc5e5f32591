"""`animerec parse PATH --url URL [--type T]`: the items of one saved page as JSON lines (like `scrapy parse`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from animerec.crawler.parsers import PAGE_TYPES, ParseError
from animerec.crawler.parsers import parse as parse_page


@click.command("parse")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--url", required=True, help="The URL the page was fetched from (decides page type and ids).")
@click.option("--type", "page_type", type=click.Choice(PAGE_TYPES), default=None,
              help="Page type; default: inferred from --url.")
@click.option("--crawled-at", default=None, help="RFC 3339 time of the fetch (relative dates count from it); "
              "default: now.")
def parse(path: str, url: str, page_type: str | None, crawled_at: str | None) -> None:
    """Print each item of a saved MAL page / Jikan response as one JSON line: {"type": page type, "item": {...}}.

    A summary line (status, next page, discovered links) goes to stderr.
    """
    body = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    try:
        page = parse_page(url, body, page_type=page_type, crawled_at=crawled_at)
    except (ParseError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    out = click.get_text_stream("stdout")
    for item in page.items:
        # nested, because anime_info has a field named "type" (TV, Movie, ...) of its own
        out.write(json.dumps({"type": page.page_type, "item": item}, ensure_ascii=False) + "\n")
    summary = {"type": page.page_type, "source": page.source, "status": page.status, "items": len(page.items),
               "next_url": page.next_url, "links": page.links}
    click.echo(json.dumps(summary, ensure_ascii=False), err=True)
