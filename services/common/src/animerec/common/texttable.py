"""The one plain-text table printer of every command (a module of its own: the training steps print tables too and
must not import the CLI, which pulls in Kafka and the contracts)."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def table(rows: Sequence[Sequence[object]], headers: Sequence[str], right: Collection[int] = ()) -> str:
    """Plain-text columns under a dashed rule (every text table the commands print); the columns numbered in
    `right` are right-aligned, for numbers."""
    cells = [headers, *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             .rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
