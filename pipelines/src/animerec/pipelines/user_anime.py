"""The user-anime recommender's shared parts: the splits, the context every step rebuilds from them, candidate
lists on disk and the final filter. The KFP components and `animerec evaluate` call these same functions.

Splits: test = each user's held-out interactions (evaluation only); train = the rest. The ranker
(userrank.py) learns to reorder candidates, which needs labels the candidate sources have not seen:
train is split once more into train_r (sources) and val (ranker labels, and every model's tuning).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import features
from .data import World
from .indexing import Index
from .settings import PipelineSettings
from .split import positive_mask, split_per_user

log = logging.getLogger(__name__)



@dataclass
class Splits:
    train: pd.DataFrame
    test: pd.DataFrame
    train_r: pd.DataFrame
    val: pd.DataFrame

    def save(self, folder) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("train", "test", "train_r", "val"):
            getattr(self, name).to_parquet(folder / f"{name}.parquet", index=False)

    @classmethod
    def load(cls, folder) -> Splits:
        return cls(**{n: pd.read_parquet(folder / f"{n}.parquet") for n in ("train", "test", "train_r", "val")})


def make_splits(world: World, s: PipelineSettings) -> Splits:
    train, test = split_per_user(world.interactions, s.test_fraction, s.seed)
    train_r, val = split_per_user(train, s.val_fraction, s.seed + 1)
    return Splits(train=train, test=test, train_r=train_r, val=val)


class Context:
    """Indices, matrices and item features shared by every step, rebuilt cheaply from the frames."""

    def __init__(self, world: World, splits: Splits, s: PipelineSettings):
        self.world, self.splits, self.s = world, splits, s
        self.index = Index.build(world.anime, world.interactions)
        ix = self.index
        self.all = ix.matrix(world.interactions)
        self.train = ix.matrix(splits.train)
        self.train_r = ix.matrix(splits.train_r)
        self.positives = {name: ix.matrix(frame[positive_mask(frame, s.positive_min_score)])
                          for name, frame in (("all", world.interactions), ("train", splits.train),
                                              ("train_r", splits.train_r), ("val", splits.val),
                                              ("test", splits.test))}
        self.genres, self.genre_names = features.genre_matrix(world.anime, ix.anime_ids)
        # From train_r only: counted over train, every val item would carry its own label in its count.
        self.popularity = np.asarray(self.positives["train_r"].sum(0)).ravel()
        self.item_features = features.item_features(world.anime, ix.anime_ids, self.popularity)

    def eval_users(self) -> np.ndarray:
        """Users with at least one positive held-out interaction."""
        return np.flatnonzero(np.diff(self.positives["test"].indptr) > 0)

    def publish_mask(self) -> sp.csr_matrix:
        """Everything already in a user's list, except plan_to_watch (those may be recommended)."""
        inter = self.world.interactions
        return self.index.matrix(inter[inter["status"] != "plan_to_watch"])


@dataclass
class Candidates:
    users: np.ndarray   # user positions
    items: np.ndarray   # [users, n] item positions, -1 pads
    scores: np.ndarray  # [users, n] retrieval cosine

    def save(self, path) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, users=self.users, items=self.items, scores=self.scores)

    @classmethod
    def load(cls, path) -> Candidates:
        with np.load(path) as z:
            return cls(z["users"], z["items"], z["scores"])


# --- output -------------------------------------------------------------------------

def final_lists(ctx: Context, cands: Candidates, top_n: int) -> pd.DataFrame:
    """Drop excluded types and genres, keep the first top_n: rows (user_id, rank, anime_id, score)."""
    anime = ctx.world.anime.set_index("anime_id").reindex(ctx.index.anime_ids)
    excluded_types = {t.lower() for t in ctx.s.excluded_types}
    excluded_genres = {g.lower() for g in ctx.s.excluded_genres}
    allowed = np.array([
        (str(t).lower() not in excluded_types) and not ({str(g).lower() for g in gs} & excluded_genres)
        for t, gs in zip(anime["type"], anime["genres"], strict=True)], dtype=bool)
    items = cands.items
    ok = (items >= 0) & allowed[np.maximum(items, 0)]
    rank = np.cumsum(ok, axis=1)
    keep = ok & (rank <= top_n)
    rows, cols = np.nonzero(keep)
    return pd.DataFrame({
        "user_id": ctx.index.user_ids[cands.users[rows]],
        "rank": rank[rows, cols].astype("int32"),
        "anime_id": ctx.index.anime_ids[items[rows, cols]],
        "score": cands.scores[rows, cols].astype("float32"),
    })
