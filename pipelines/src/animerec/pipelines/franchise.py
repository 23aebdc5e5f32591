"""Franchise detection from the catalogue alone, for datasets without a crawled relation table.

Two anime are linked when
- their titles share a franchise key: the part before ':' without season / part / sequel markers
  ("Shingeki no Kyojin Season 3" and "Shingeki no Kyojin: Kuinaki Sentaku" -> "shingeki no kyojin"),
  or one whole title starts the other ("Fullmetal Alchemist" -> "Fullmetal Alchemist: Brotherhood",
  "Dragon Ball" -> "Dragon Ball Z"),
- and their content agrees: genre cosine at least `min_genre_cosine`, or synopsis cosine at least
  `min_text_cosine` when synopsis embeddings are given. Titles alone link "Air" to "Air Gear" and
  "Monster" to "Monster Musume"; their genres do not match.

Synopsis embeddings add links the titles miss ("Bakemonogatari" and "Nisemonogatari") when the
synopses are nearly the same story (`text_link_cosine`). Crawled relations, when there are any,
are links too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import features

if TYPE_CHECKING:
    from .data import World
    from .indexing import Index

_SEQUEL_TEXT = (
    "season seasons part movie movies film gekijouban special specials sp ova oav ona tv the "
    "second third fourth fifth sixth 2nd 3rd 4th 5th 6th ii iii iv v vi r2 recap picture")
SEQUEL_WORDS = frozenset(_SEQUEL_TEXT.split())
_NON_WORD = re.compile(r"[^0-9a-z]+")


def tokens(title: str) -> list[str]:
    """Lower-case ASCII word tokens ("Gintama°" -> ["gintama"], "K-On!!" -> ["k", "on"])."""
    text = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode().lower()
    return _NON_WORD.sub(" ", text).split()


def franchise_key(title: str) -> str:
    """The title's franchise by name: the part before ':', without sequel markers or numbers."""
    head = str(title).split(":")[0]
    words = [w for w in tokens(head) if w not in SEQUEL_WORDS and not w.isdigit() and not _ordinal(w)]
    return " ".join(words)


def _ordinal(word: str) -> bool:
    return bool(re.fullmatch(r"\d+(st|nd|rd|th)", word))


def title_pairs(titles: list[str], max_group: int = 60, min_chars: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols), both directions, of titles sharing a key or where one whole title is a word
    prefix of another. Keys or prefixes shared by more than `max_group` titles are too generic."""
    keys = [franchise_key(t) for t in titles]
    norm = [" ".join(tokens(t)) for t in titles]
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if len(k) >= min_chars:
            groups.setdefault(k, []).append(i)
    full: dict[str, list[int]] = {}
    for i, t in enumerate(norm):
        if len(t) >= min_chars:
            full.setdefault(t, []).append(i)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for members in groups.values():
        if 1 < len(members) <= max_group:
            m = np.asarray(members)
            rows.append(np.repeat(m, len(m)))
            cols.append(np.tile(m, len(m)))
    # Word prefixes: every proper prefix of each title that is itself a whole title.
    extended: dict[str, list[int]] = {}
    for j, t in enumerate(norm):
        words = t.split()
        for cut in range(1, len(words)):
            prefix = " ".join(words[:cut])
            if prefix in full:
                extended.setdefault(prefix, []).append(j)
    for prefix, longer in extended.items():
        if len(longer) <= max_group:
            for i in full[prefix]:
                rows += [np.full(len(longer), i), np.asarray(longer)]
                cols += [np.asarray(longer), np.full(len(longer), i)]
    if not rows:
        return np.empty(0, "int64"), np.empty(0, "int64")
    r, c = np.concatenate(rows).astype("int64"), np.concatenate(cols).astype("int64")
    keep = r != c
    return r[keep], c[keep]


def franchise_matrix(titles: list[str], genres: sp.csr_matrix, text: np.ndarray | None = None,
                     related: tuple[np.ndarray, np.ndarray] | None = None, *, min_genre_cosine: float = 0.5,
                     min_text_cosine: float = 0.6, text_link_cosine: float = 0.9, text_neighbours: int = 10,
                     max_group: int = 60) -> sp.csr_matrix:
    """items x items, symmetric, 1 where two anime belong to one franchise; no diagonal.

    `genres`: items x genres 0/1; `text`: [items, d] L2-normalised synopsis embeddings (zero rows:
    no synopsis); `related`: crawled (a, b) pairs, trusted as they are."""
    n = len(titles)
    r, c = title_pairs(titles, max_group=max_group)
    g = _l2_sparse(genres)
    genre_cos = np.asarray(g[r].multiply(g[c]).sum(1)).ravel() if len(r) else np.empty(0)
    no_genres = (np.diff(g.indptr)[r] == 0) | (np.diff(g.indptr)[c] == 0) if len(r) else np.empty(0, bool)
    ok = (genre_cos >= min_genre_cosine) | no_genres
    if text is not None and len(r):
        has_text = (np.abs(text[r]).sum(1) > 0) & (np.abs(text[c]).sum(1) > 0)
        text_cos = np.einsum("ij,ij->i", text[r], text[c])
        ok |= has_text & (text_cos >= min_text_cosine)
    rows, cols = [r[ok]], [c[ok]]
    if text is not None:
        tr, tc = text_links(text, text_link_cosine, text_neighbours)
        rows += [tr, tc]
        cols += [tc, tr]
    if related is not None and len(related[0]):
        a, b = (np.asarray(x, "int64") for x in related)
        rows += [a, b]
        cols += [b, a]
    rr, cc = np.concatenate(rows), np.concatenate(cols)
    m = sp.csr_matrix((np.ones(len(rr), "float32"), (rr, cc)), shape=(n, n))
    m.setdiag(0)
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def world_links(world: World, index: Index, genres: sp.csr_matrix, text: np.ndarray | None = None) -> sp.csr_matrix:
    """`franchise_matrix` of a world's catalogue in `index` order, its crawled relations (`world.pairs`) trusted:
    what the similar-anime blend and the user-anime ranker both use as franchise links."""
    pairs = world.pairs
    a, b = index.items(pairs["anime_a"]), index.items(pairs["anime_b"])
    related = (a >= 0) & (b >= 0) & pairs["related"].to_numpy(bool)
    titles = world.anime.set_index("anime_id").reindex(index.anime_ids)["title"].fillna("").astype(str).tolist()
    return franchise_matrix(titles, genres, text, related=(a[related], b[related]))


def groups(links: sp.csr_matrix, anime_ids: np.ndarray) -> np.ndarray:
    """Each anime's franchise id: the smallest anime id among those `links` join to it, directly or through
    others (an anime alone is its own franchise). The API uses it to keep one franchise from filling a
    user's few picks."""
    from scipy.sparse.csgraph import connected_components

    ids = np.asarray(anime_ids, "int64")
    if not len(ids):
        return ids
    _, label = connected_components(links, directed=False)
    smallest = np.full(label.max() + 1, np.iinfo("int64").max, "int64")
    np.minimum.at(smallest, label, ids)
    return smallest[label]


def catalogue_groups(anime_ids: list[int], titles: list[str], genres: list[list[str]],
                     related: Sequence[tuple[int, int]] = ()) -> dict[int, int]:
    """`groups` of a catalogue given as plain lists (titles, genre names, crawled related pairs): what
    `animerec publish` puts on each card, without synopsis embeddings (publishing never encodes)."""
    ids = np.asarray(anime_ids, "int64")
    g, _ = features.genre_matrix(pd.DataFrame({"anime_id": ids, "genres": genres}), ids)
    pos = {a: i for i, a in enumerate(anime_ids)}
    pairs = [(pos[a], pos[b]) for a, b in related if a in pos and b in pos]
    rel = (np.asarray([a for a, _ in pairs], "int64"), np.asarray([b for _, b in pairs], "int64"))
    links = franchise_matrix([str(t or "") for t in titles], g, related=rel)
    return dict(zip(anime_ids, groups(links, ids).tolist(), strict=True))


def text_links(text: np.ndarray, threshold: float, neighbours: int, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of anime whose synopsis embeddings have cosine >= `threshold` (each row's
    `neighbours` nearest at most)."""
    has = np.flatnonzero(np.abs(text).sum(1) > 0)
    if len(has) < 2:
        return np.empty(0, "int64"), np.empty(0, "int64")
    t = text[has].astype("float32")
    k = min(neighbours, len(has) - 1)
    rows, cols = [], []
    for start in range(0, len(has), batch):
        block = t[start:start + batch] @ t.T
        idx = np.arange(block.shape[0])
        block[idx, start + idx] = -1.0
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        sim = np.take_along_axis(block, top, 1)
        hit = sim >= threshold
        rows.append(has[np.repeat(idx + start, k).reshape(-1, k)[hit]])
        cols.append(has[top[hit]])
    return np.concatenate(rows).astype("int64"), np.concatenate(cols).astype("int64")


def _l2_sparse(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype="float32")
    norms = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)
