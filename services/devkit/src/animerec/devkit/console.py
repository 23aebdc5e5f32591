"""What the demo shows on the terminal, and nothing more.

One progress line per stage: redrawn in place on a terminal, printed once when the stage ends
otherwise (a pipe, CI, a file). Tables and the showcase are printed whole. Every process's own
output goes to its log file (`System`), never here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class StageHandle:
    """What a running stage reports: progress (done of total, None = unknown) and a one-line detail."""

    name: str
    done: int = 0
    total: int | None = None
    detail: str = ""
    rows: int = 0                    # for the stage table: rows the stage wrote
    started: float = field(default_factory=time.monotonic)
    _on_update: Callable[[StageHandle], None] | None = field(default=None, repr=False)

    def update(self, done: int | None = None, total: int | None = None, detail: str | None = None) -> None:
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if detail is not None:
            self.detail = detail
        if self._on_update is not None:
            self._on_update(self)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class Reporter(Protocol):
    def stage(self, name: str) -> contextlib.AbstractContextManager[StageHandle]: ...

    def show(self, renderable: Any) -> None: ...


class LineReporter:
    """Plain lines through `say` (tests, logs): the stage's name when it starts, its detail when it ends."""

    def __init__(self, say: Callable[[str], None] = print) -> None:
        self.say = say

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[StageHandle]:
        handle = StageHandle(name)
        self.say(f"== {name}")
        yield handle
        self.say(f"   done in {handle.seconds:.1f}s: {handle.detail}")

    def show(self, renderable: Any) -> None:
        self.say(str(renderable))


class RichReporter:
    """rich progress bars, one per stage; a bar that stops leaves its final line behind."""

    def __init__(self, console: Any | None = None) -> None:
        import sys

        from rich.console import Console
        # Off a terminal rich assumes 80 columns; the stage lines and tables want more.
        self.console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[StageHandle]:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        width = self.console.width
        bar = 28 if width >= 110 else 12
        room = max(16, width - (20 + bar + 13 + 8 + 5))  # what the detail may take without squeezing the bar
        progress = Progress(TextColumn("{task.description:<20}"), BarColumn(bar_width=bar),
                            TextColumn("{task.fields[count]:>13}"), TimeElapsedColumn(),
                            TextColumn("{task.fields[detail]}"), console=self.console, refresh_per_second=4)
        task = progress.add_task(name, total=None, count="", detail="")

        def redraw(h: StageHandle) -> None:
            count = f"{h.done:,}/{h.total:,}" if h.total else (f"{h.done:,}" if h.done else "")
            detail = h.detail if len(h.detail) <= room else h.detail[:room - 1] + "…"
            progress.update(task, completed=h.done, total=h.total, count=count, detail=detail)

        handle = StageHandle(name, _on_update=redraw)
        with progress:
            try:
                yield handle
            except BaseException:
                progress.update(task, detail="[red]failed[/red]" if handle.total is None else handle.detail)
                raise
            # a finished stage shows a full bar, also when its total was never known
            redraw(handle)
            if handle.total is None:
                progress.update(task, completed=1, total=1)

    def show(self, renderable: Any) -> None:
        self.console.print(renderable)
