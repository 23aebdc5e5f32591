"""The user-anime recommender, step by step: split, retrieval, batch top-k candidates, rankers,
baselines, final filter. The KFP components and `animerec evaluate` call these same functions.

Splits: test = each user's held-out interactions (evaluation only); train = the rest. The rankers
learn to reorder retrieved candidates, which needs labels the retrieval model has not seen: train
is split once more into train_r (retrieval) and val (ranker labels).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import baselines, features, ranking, retrieval
from .data import World
from .indexing import Index
from .metrics import ranking_metrics, topk
from .settings import PipelineSettings
from .split import positive_mask, split_per_user

log = logging.getLogger(__name__)

UNSCORED_POSITIVE_TARGET = 0.7  # a positive without a score: about the mean score on MAL


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


# --- retrieval -------------------------------------------------------------------------------------

def train_retrieval(ctx: Context, epochs: int | None = None) -> retrieval.Towers:
    """The two-tower model on train_r, early-stopped on validation (userrank.train_towers)."""
    from . import userrank
    return userrank.train_towers(ctx, epochs=epochs)


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


# Which history embeds a user and which items are masked, per purpose: ranker training (val
# labels), evaluation (test labels) and publishing (everything known).
def candidate_sets(ctx: Context, towers: retrieval.Towers, n: int | None = None) -> dict[str, Candidates]:
    n = n or ctx.s.candidates
    val_users = np.flatnonzero(np.diff(ctx.index.matrix(ctx.splits.val).indptr) > 0)
    plans = {
        "val": (val_users, ctx.positives["train_r"], ctx.train_r),
        "test": (ctx.eval_users(), ctx.positives["train"], ctx.train),
        "publish": (np.arange(ctx.index.n_users), ctx.positives["all"], ctx.publish_mask()),
    }
    return {name: retrieve(ctx, towers, users, history, mask, n) for name, (users, history, mask) in plans.items()}


def retrieve(ctx: Context, towers: retrieval.Towers, users: np.ndarray, history: sp.csr_matrix,
             mask: sp.csr_matrix, n: int, batch: int = 2048) -> Candidates:
    """Batch top-n: the retrieval model's best, in its order, then the most popular unseen anime it
    missed (a second candidate source: the logQ-corrected retrieval deliberately does not favour
    popular anime; the rankers see popularity as a feature and decide)."""
    items, scores = towers.top(users, n, mask=mask, history=history, batch=batch)
    extra = min(ctx.s.popular_candidates, n)
    if not extra:
        return Candidates(users, items, scores)
    popular = topk(baselines.Popularity(ctx.positives["train_r"]).score, users, extra, mask)
    for start in range(0, len(users), batch):
        sl = slice(start, start + batch)
        for r in range(sl.start, min(sl.stop, len(users))):
            missing = popular[r][(popular[r] >= 0) & ~np.isin(popular[r], items[r])]
            if len(missing):
                items[r, n - len(missing):] = missing
        q = towers.queries(users[sl], history)
        safe = np.maximum(items[sl], 0)
        scores[sl] = np.where(items[sl] >= 0, np.einsum("ud,uld->ul", q, towers.item_vectors[safe]), -np.inf)
    return Candidates(users, items, scores)


# --- rankers ---------------------------------------------------------------------------------------

class PairFeatures:
    """Features of (user, candidate) pairs for one purpose (its history decides the user side)."""

    def __init__(self, ctx: Context, towers: retrieval.Towers, history: sp.csr_matrix):
        self.ctx, self.towers, self.history = ctx, towers, history
        self.profiles = features.user_genre_profiles(history, ctx.genres)
        self.genres_l2 = np.asarray(features.l2_rows(ctx.genres).toarray(), "float32")
        self.history_len = np.log1p(np.diff(history.indptr)).astype("float32")

    def __call__(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """users [U], items [U, L] -> [U, L, F]."""
        q = self.towers.queries(users, self.history)                       # [U, d]
        safe = np.maximum(items, 0)
        v = self.towers.item_vectors[safe]                                 # [U, L, d]
        cosine = np.einsum("ud,uld->ul", q, v)[..., None]
        affinity = np.einsum("ug,ulg->ul", self.profiles[users], self.genres_l2[safe])[..., None]
        hist = np.broadcast_to(self.history_len[users][:, None, None], (*items.shape, 1))
        return np.concatenate([cosine, affinity, hist, self.ctx.item_features[safe]], -1).astype("float32")


def ranking_lists(ctx: Context, cands: Candidates, pf: PairFeatures):
    """Training lists for the rankers, drawn from the retrieved candidates themselves (a ranker only
    ever sees retrieved items, so forcing in items retrieval missed would teach it their feature
    shift instead of preference): per val user, the candidates that are val interactions plus a
    seeded sample of the others, up to ranking_list_size. Graded labels: score / 10,
    UNSCORED_POSITIVE_TARGET for unscored positives, 0 for not interacted."""
    L = ctx.s.ranking_list_size
    rng = np.random.default_rng(ctx.s.seed)
    val = ctx.splits.val
    target = val["score"].to_numpy() / 10.0
    positive = positive_mask(val, ctx.s.positive_min_score)
    target = np.where(np.isnan(target), np.where(positive, UNSCORED_POSITIVE_TARGET, 0.1), target)
    labels_m = ctx.index.matrix(val, values=target).tocsr()
    users, items = cands.users, cands.items
    lists = np.full((len(users), L), -1, dtype="int64")
    labels = np.zeros((len(users), L), dtype="float32")
    for r, u in enumerate(users):
        row_items = items[r][items[r] >= 0]
        row_labels = np.asarray(labels_m[u, row_items].todense()).ravel() if len(row_items) else np.empty(0)
        hit = row_labels > 0
        own, own_labels = row_items[hit][:L // 2], row_labels[hit][:L // 2]
        others = row_items[~hit]
        rest = others[np.sort(rng.choice(len(others), size=min(L - len(own), len(others)), replace=False))]
        row = np.concatenate([own, rest])
        lists[r, :len(row)] = row
        labels[r, :len(own)] = own_labels
    mask = lists >= 0
    feats = np.zeros((*lists.shape, pf(users[:1], lists[:1]).shape[-1]), "float32")
    for start in range(0, len(users), 512):
        sl = slice(start, start + 512)
        feats[sl] = pf(users[sl], lists[sl])
    return feats, labels, mask


def train_ranker(kind: str, ctx: Context, towers: retrieval.Towers, val_cands: Candidates) -> ranking.Ranker:
    s = ctx.s
    pf = PairFeatures(ctx, towers, ctx.positives["train_r"])
    feats, labels, mask = ranking_lists(ctx, val_cands, pf)
    common = {"hidden": s.ranking_hidden, "epochs": s.ranking_epochs, "seed": s.seed, "threads": s.tf_threads,
              "learning_rate": s.ranking_learning_rate}
    if kind == "pointwise":
        return ranking.train_pointwise(feats[mask], labels[mask], batch_size=256, **common)
    if kind == "listwise":
        useful = (labels > 0).any(1)
        return ranking.train_listwise(feats[useful], labels[useful], mask[useful], batch_size=32, **common)
    raise ValueError(f"unknown ranker kind {kind!r}")


def rerank(ctx: Context, towers: retrieval.Towers, ranker: ranking.Ranker, cands: Candidates,
           history: sp.csr_matrix, batch: int = 256) -> Candidates:
    pf = PairFeatures(ctx, towers, history)
    items = cands.items.copy()
    scores = np.full(items.shape, -np.inf, "float32")
    for start in range(0, len(cands.users), batch):
        sl = slice(start, start + batch)
        sc = ranker.score(pf(cands.users[sl], items[sl]))
        sc = np.where(items[sl] >= 0, sc, -np.inf)
        order = np.argsort(-sc, axis=1, kind="stable")
        items[sl] = np.take_along_axis(items[sl], order, 1)
        scores[sl] = np.take_along_axis(sc, order, 1)
    return Candidates(cands.users, items, scores)


# --- baselines -------------------------------------------------------------------------------------

def fit_baseline(name: str, ctx: Context, positives: sp.csr_matrix):
    s = ctx.s
    if name == "popularity":
        return baselines.Popularity(positives)
    if name == "item_item":
        return baselines.ItemItem(positives, s.item_item_neighbours, s.item_item_shrinkage)
    if name == "als":
        return baselines.ALS(factors=s.als_factors, iterations=s.als_iterations,
                             regularization=s.als_regularization, seed=s.seed, threads=s.tf_threads).fit(positives)
    raise ValueError(f"unknown baseline {name!r}")


def baseline_recs(name: str, ctx: Context, n: int) -> tuple[Candidates, Candidates]:
    """(evaluation top-n on train, publishable top-n on everything) for one baseline."""
    model = fit_baseline(name, ctx, ctx.positives["train"])
    users = ctx.eval_users()
    test = Candidates(users, topk(model.score, users, n, ctx.train), np.zeros((len(users), n), "float32"))
    full = fit_baseline(name, ctx, ctx.positives["all"]) if name != "als" else model
    everyone = np.arange(ctx.index.n_users)
    publish = Candidates(everyone, topk(full.score, everyone, n, ctx.publish_mask()),
                         np.zeros((len(everyone), n), "float32"))
    return test, publish


# --- evaluation and output -------------------------------------------------------------------------

def evaluate_recs(ctx: Context, cands: Candidates, k: int) -> dict[str, float]:
    relevant = ctx.positives["test"][cands.users]
    return ranking_metrics(cands.items, relevant, k, ctx.index.n_items)


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
