"""Files generated from code (dashboards, values schema, kustomize base): write them, or check them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path


def sync(files: Iterable[tuple[Path, str]], *, check: bool, target: str) -> int:
    """Write every file whose content differs; with `check`, only report them. Exit status: 1 if stale in check."""
    stale = []
    for path, text in files:
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if check:
        for path in stale:
            print(f"stale: {path} (run: make {target})", file=sys.stderr)
        return 1 if stale else 0
    return 0
