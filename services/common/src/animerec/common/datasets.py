"""Where the real MyAnimeList datasets live: one lookup for the demo, the mirror, the pipelines and the benchmarks.

Searched in order: ``$ANIMEREC_DATA_DIR``, the repository's ``data/`` folder (shipped, gzipped), then
``../shared/datasets`` beside the checkout (``$ANIMEREC_SHARED_DIR/datasets``; the team's uncompressed copies).
Each root may use either layout: the shipped one (``mal/anime.csv.gz``) or the shared one
(``mal-2021-catalogue/anime.csv``). See data/README.md for the sources and their terms.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

ENV = "ANIMEREC_DATA_DIR"

# name -> paths relative to a root, shipped layout first; each also tried without or with ".gz".
LAYOUT: dict[str, tuple[str, ...]] = {
    # complete lists of 5,000 users: user_id, anime_id, rating (1-10, -1 = listed without a score)
    "ratings": ("mal/ratings_5000users.csv.gz", "cooperunion-anime-2016/ratings_5000users.csv"),
    # the 2021 catalogue: synopsis, studios, aired, premiered, age_rating, score, members, image_url, ...
    "anime": ("mal/anime.csv.gz", "mal-2021-catalogue/anime.csv"),
    # the 2016 catalogue (name, genre, type, episodes, aired, image_url): anime the 2021 one lacks
    "anime_2016": ("mal/anime_2016.csv.gz", "cooperunion-anime-2016/anime_enriched.csv"),
}


class DatasetNotFound(FileNotFoundError):
    """No root holds the named dataset; the message lists where we looked."""


def repo_dir() -> Path | None:
    """The checkout this package is installed from (editable installs), if any."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "schemas" / "topics.yaml").is_file() and (parent / "services").is_dir():
            return parent
    return None


def shared_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The team's shared data (datasets/, mal-fixtures/): $ANIMEREC_SHARED_DIR, else ../shared beside the
    checkout; None outside a checkout."""
    env = os.environ if environ is None else environ
    if env.get("ANIMEREC_SHARED_DIR"):
        return Path(env["ANIMEREC_SHARED_DIR"])
    repo = repo_dir()
    return repo.parent / "shared" if repo is not None else None


def roots(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Candidate folders, most specific first."""
    env = os.environ if environ is None else environ
    found: list[Path] = []
    if env.get(ENV):
        found.append(Path(env[ENV]))
    repo = repo_dir()
    if repo is not None:
        found.append(repo / "data")
    shared = shared_dir(env)
    if shared is not None:
        found.append(shared / "datasets")
    return found


def _variants(relative: str) -> tuple[str, str]:
    return (relative, relative.removesuffix(".gz")) if relative.endswith(".gz") else (relative, relative + ".gz")


def find(name: str, root: Path | None = None) -> Path | None:
    """The first file holding dataset `name` (a key of LAYOUT), under `root` only when given."""
    if name not in LAYOUT:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(LAYOUT)}")
    for folder in [root] if root is not None else roots():
        for relative in LAYOUT[name]:
            for candidate in _variants(relative):
                if (folder / candidate).is_file():
                    return folder / candidate
    return None


def path(name: str, root: Path | None = None) -> Path:
    """Like `find`, but a missing dataset is an error that says where we looked and what to do."""
    found = find(name, root)
    if found is None:
        where = [root] if root is not None else roots()
        raise DatasetNotFound(
            f"dataset {name!r} ({LAYOUT[name][0]}) not found in {', '.join(map(str, where)) or 'no folder'}: "
            f"set {ENV} to a folder holding it (see data/README.md)")
    return found


def open_csv(file: Path) -> TextIO:
    """A text stream over a .csv or .csv.gz file, for csv.DictReader (pandas reads both itself)."""
    if file.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(file, "rb"), encoding="utf-8", newline="")
    return open(file, encoding="utf-8", newline="")  # the caller closes it
