"""The anime-anime recommender ("similar anime"), step by step.

Candidate pairs come from four sources: related anime (sequels...), MAL user recommendations,
genre similarity (cosine of the genre vectors) and co-completion (two anime completed by the same
user within `cocompletion_window_days`; plain co-occurrence when the list has no dates). A TFRS
two-tower model trained on those pairs retrieves more candidates; a pairwise ranker trained on
(anchor, a, b, label) orders them.

Evaluation uses the user split of the user-anime pipeline: for each test user, the anchor is their
most recent (else a seeded random) training positive, and the held-out positives are the relevant
anime of the anchor's list (the user's training anime are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import features, ranking, retrieval
from .baselines import keep_top_per_row
from .data import World
from .indexing import Index
from .metrics import ranking_metrics, topk_rows
from .settings import PipelineSettings
from .split import positive_mask
from .useranime import Candidates, Splits

SIGNALS = ("related", "recommenders", "cocompletion", "genre")
SIMILAR_BASELINES = ("popularity", "co_occurrence", "genre_cosine")


@dataclass
class Signals:
    """items x items sparse matrices of each candidate source (symmetric)."""
    related: sp.csr_matrix
    recommenders: sp.csr_matrix
    cocompletion: sp.csr_matrix
    genre: sp.csr_matrix
    popularity: np.ndarray

    def save(self, path) -> None:
        arrays = {}
        for name in SIGNALS:
            m = getattr(self, name).tocsr()
            arrays |= {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr}
        with open(path, "wb") as fh:
            np.savez(fh, popularity=self.popularity, n=np.array(self.popularity.shape[0]), **arrays)

    @classmethod
    def load(cls, path) -> Signals:
        with np.load(path) as z:
            n = int(z["n"])
            mats = {name: sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]), shape=(n, n))
                    for name in SIGNALS}
            return cls(popularity=z["popularity"], **mats)

    def union(self) -> sp.csr_matrix:
        m = (self.related + self.recommenders + self.cocompletion + self.genre).tocsr()
        m.data[:] = 1.0
        return m


def build_signals(world: World, inter: pd.DataFrame, index: Index, s: PipelineSettings) -> Signals:
    n = index.n_items
    pairs = world.pairs
    a, b = index.items(pairs["anime_a"]), index.items(pairs["anime_b"])
    ok = (a >= 0) & (b >= 0) & (a != b)

    def sym(values: np.ndarray, where: np.ndarray) -> sp.csr_matrix:
        w = ok & where
        m = sp.csr_matrix((values[w].astype("float32"), (a[w], b[w])), shape=(n, n))
        return (m + m.T).tocsr()

    related = sym(np.ones(len(pairs)), pairs["related"].to_numpy(bool))
    recommenders = sym(pairs["num_recommenders"].fillna(1).to_numpy(), pairs["recommendation"].to_numpy(bool))
    positives = inter[positive_mask(inter, s.positive_min_score)]
    cocompletion = _cocompletion(positives, index, s.cocompletion_window_days)
    genres, _ = features.genre_matrix(world.anime, index.anime_ids)
    genre = _genre_neighbours(genres, s.genre_neighbours)
    popularity = np.bincount(index.items(positives["anime_id"]), minlength=n).astype("float32")
    return Signals(related, recommenders, keep_top_per_row(cocompletion, s.item_item_neighbours), genre, popularity)


def _cocompletion(positives: pd.DataFrame, index: Index, window_days: int, max_gap: int = 10) -> sp.csr_matrix:
    """Counts of users who completed both anime within the window (dated users: each interaction
    against the next `max_gap` ones in time) or in the same list (undated users)."""
    n = index.n_items
    users, items = index.users(positives["user_id"]), index.items(positives["anime_id"])
    dated_user = positives["ts"].notna().groupby(positives["user_id"]).transform("all").to_numpy()
    out = sp.csr_matrix((n, n), dtype="float32")
    if (~dated_user).any():
        x = sp.csr_matrix((np.ones((~dated_user).sum(), "float32"), (users[~dated_user], items[~dated_user])),
                          shape=(index.n_users, n))
        x.data[:] = 1.0
        co = (x.T @ x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        out = out + co
    if dated_user.any():
        ts = pd.to_datetime(positives["ts"], utc=True).to_numpy("datetime64[ns]")[dated_user].astype("int64")
        u, it = users[dated_user], items[dated_user]
        order = np.lexsort((ts, u))
        u, it, ts = u[order], it[order], ts[order]
        window = np.int64(window_days) * 86_400 * 1_000_000_000
        rows, cols = [], []
        for gap in range(1, max_gap + 1):
            same = (u[gap:] == u[:-gap]) & (ts[gap:] - ts[:-gap] <= window) & (it[gap:] != it[:-gap])
            rows.append(it[:-gap][same])
            cols.append(it[gap:][same])
        r, c = np.concatenate(rows), np.concatenate(cols)
        m = sp.csr_matrix((np.ones(len(r), "float32"), (r, c)), shape=(n, n))
        out = out + m + m.T
    return out.tocsr()


def _genre_neighbours(genres: sp.csr_matrix, k: int, batch: int = 2048) -> sp.csr_matrix:
    """Cosine of genre vectors, each anime keeping its k most similar (computed by row blocks)."""
    g = features.l2_rows(genres).astype("float32").tocsr()
    n = g.shape[0]
    rows, cols, vals = [], [], []
    gt = g.T.tocsc()
    for start in range(0, n, batch):
        block = (g[start:start + batch] @ gt).toarray()
        idx = np.arange(block.shape[0])
        block[idx, start + idx] = -1  # not its own neighbour
        top = topk_rows(block, k)
        sc = np.take_along_axis(block, np.maximum(top, 0), 1)
        ok = (top >= 0) & (sc > 0)
        r = np.repeat(idx + start, k).reshape(-1, k)
        rows.append(r[ok])
        cols.append(top[ok])
        vals.append(sc[ok])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


class Context:
    def __init__(self, world: World, splits: Splits, s: PipelineSettings):
        self.world, self.splits, self.s = world, splits, s
        self.index = Index.build(world.anime, world.interactions)
        self.train = self.index.matrix(splits.train)
        self.test_pos = self.index.matrix(splits.test[positive_mask(splits.test, s.positive_min_score)])
        self.val_pos = self.index.matrix(splits.val[positive_mask(splits.val, s.positive_min_score)])
        self.genres, _ = features.genre_matrix(world.anime, self.index.anime_ids)
        self.item_features = features.item_features(world.anime, self.index.anime_ids,
                                                    np.zeros(self.index.n_items, "float32"))

    def anchors(self, frame: pd.DataFrame, users: np.ndarray) -> np.ndarray:
        """Per user position: the most recent positive of `frame` (seeded random when undated); -1 if none."""
        pos = frame[positive_mask(frame, self.s.positive_min_score)]
        rng = np.random.default_rng(self.s.seed)
        pos = pos.assign(_r=rng.random(len(pos)), _t=pd.to_datetime(pos["ts"], utc=True))
        pos = pos.sort_values(["user_id", "_t", "_r"], na_position="first")
        last = pos.groupby("user_id").tail(1)
        out = np.full(len(users), -1, dtype="int64")
        lookup = dict(zip(self.index.users(last["user_id"]), self.index.items(last["anime_id"]), strict=True))
        for i, u in enumerate(users):
            out[i] = lookup.get(u, -1)
        return out


def train_retrieval(ctx: Context, signals: Signals) -> retrieval.Towers:
    s = ctx.s
    pairs = signals.union().tocoo()
    if pairs.nnz == 0:
        raise ValueError("no candidate pairs (related, recommendations, genres, co-completion) to train on")
    return retrieval.train(pairs.row, pairs.col, n_queries=ctx.index.n_items, n_items=ctx.index.n_items,
                           item_features=ctx.item_features, query_features=ctx.item_features,
                           dim=s.embedding_dim, epochs=s.epochs, batch_size=s.batch_size,
                           learning_rate=s.learning_rate, temperature=s.temperature, seed=s.seed,
                           threads=s.tf_threads, normalize=s.l2_normalize)


def candidates(ctx: Context, towers: retrieval.Towers, signals: Signals, anchors: np.ndarray) -> Candidates:
    """Per anchor: every source pair, then the retrieval model's best, `similar_candidates` in all."""
    n = ctx.s.similar_candidates
    self_mask = sp.identity(ctx.index.n_items, format="csr", dtype="float32")
    items, _ = towers.top(anchors, n, mask=self_mask, query_features=ctx.item_features)
    sources = signals.union()
    out = np.full((len(anchors), n), -1, dtype="int64")
    for r, a in enumerate(anchors):
        own = sources.indices[sources.indptr[a]:sources.indptr[a + 1]]
        merged = np.concatenate([own, items[r][(items[r] >= 0) & ~np.isin(items[r], own)]])[:n]
        out[r, :len(merged)] = merged
    return Candidates(anchors, out, np.zeros(out.shape, "float32"))


def pair_features(ctx: Context, towers: retrieval.Towers, signals: Signals, anchors: np.ndarray,
                  items: np.ndarray) -> np.ndarray:
    """anchors [U, 1] or [U, L], items [U, L] -> [U, L, F]."""
    anchors = np.broadcast_to(anchors, items.shape)
    q = towers.queries(anchors.ravel(), query_features=ctx.item_features).reshape((*items.shape, -1))
    dot = np.einsum("uld,uld->ul", q, towers.item_vectors[items])
    g = features.l2_rows(ctx.genres).tocsr()
    a_flat, i_flat = anchors.ravel(), items.ravel()
    genre_cos = np.asarray(g[a_flat].multiply(g[i_flat]).sum(1)).ravel().reshape(items.shape)

    def lookup(m: sp.csr_matrix) -> np.ndarray:
        return np.asarray(m[a_flat, i_flat]).ravel().reshape(items.shape)

    kinds = ctx.world.anime.set_index("anime_id").reindex(ctx.index.anime_ids)["type"].fillna("").to_numpy()
    same_type = (kinds[anchors] == kinds[items]).astype("float32")
    return np.stack([dot, genre_cos, np.log1p(lookup(signals.cocompletion)), lookup(signals.related),
                     np.log1p(lookup(signals.recommenders)), np.log1p(signals.popularity[items]), same_type],
                    -1).astype("float32")


def train_ranker(ctx: Context, towers: retrieval.Towers, signals_r: Signals, val_cands: Candidates,
                 val_users: np.ndarray) -> ranking.Ranker:
    """(anchor, a, b, label) from the val split: a = a val positive of the anchor's user, b = a candidate
    the user never touched; half of the pairs swapped (label 0)."""
    rng = np.random.default_rng(ctx.s.seed)
    train = ctx.train
    anchors_a, anchors_b, labels = [], [], []
    for r, u in enumerate(val_users):
        anchor = val_cands.users[r]
        liked = ctx.val_pos.indices[ctx.val_pos.indptr[u]:ctx.val_pos.indptr[u + 1]]
        cands = val_cands.items[r][val_cands.items[r] >= 0]
        touched = np.concatenate([liked, train.indices[train.indptr[u]:train.indptr[u + 1]]])
        negatives = cands[~np.isin(cands, touched)]
        if not len(liked) or not len(negatives):
            continue
        for a in liked[:5]:
            b = negatives[rng.integers(len(negatives))]
            swap = rng.random() < 0.5
            anchors_a.append((anchor, b if swap else a))
            anchors_b.append((anchor, a if swap else b))
            labels.append(0.0 if swap else 1.0)
    if not labels:
        raise ValueError("no (anchor, a, b) training pairs: too few validation interactions")
    pa, pb = np.array(anchors_a), np.array(anchors_b)
    fa = pair_features(ctx, towers, signals_r, pa[:, :1], pa[:, 1:])[:, 0]
    fb = pair_features(ctx, towers, signals_r, pb[:, :1], pb[:, 1:])[:, 0]
    s = ctx.s
    return ranking.train_pairwise(fa, fb, np.array(labels), hidden=s.ranking_hidden, epochs=s.ranking_epochs,
                                  batch_size=128, learning_rate=s.ranking_learning_rate, seed=s.seed,
                                  threads=s.tf_threads)


def rank(ctx: Context, towers: retrieval.Towers, signals: Signals, ranker: ranking.Ranker, cands: Candidates,
         batch: int = 512) -> Candidates:
    items = cands.items.copy()
    scores = np.full(items.shape, -np.inf, "float32")
    for start in range(0, len(items), batch):
        sl = slice(start, start + batch)
        f = pair_features(ctx, towers, signals, cands.users[sl][:, None], np.maximum(items[sl], 0))
        sc = np.where(items[sl] >= 0, ranker.score(f), -np.inf)
        order = np.argsort(-sc, axis=1, kind="stable")
        items[sl] = np.take_along_axis(items[sl], order, 1)
        scores[sl] = np.take_along_axis(sc, order, 1)
    return Candidates(cands.users, items, scores)


def baseline_lists(name: str, ctx: Context, signals: Signals, anchors: np.ndarray, n: int) -> Candidates:
    if name == "popularity":
        scores = np.broadcast_to(signals.popularity, (len(anchors), ctx.index.n_items)).copy()
    elif name == "co_occurrence":
        scores = signals.cocompletion[anchors].toarray()
    elif name == "genre_cosine":
        scores = signals.genre[anchors].toarray()
    else:
        raise ValueError(f"unknown similar-anime baseline {name!r}")
    scores[np.arange(len(anchors)), anchors] = -np.inf
    scores = np.where(scores > 0, scores, -np.inf) if name != "popularity" else scores
    return Candidates(anchors, topk_rows(scores.astype("float32"), n), np.zeros((len(anchors), n), "float32"))


def evaluate(ctx: Context, lists: Candidates, users: np.ndarray, k: int) -> dict[str, float]:
    """lists rows align with `users`; a user's training anime are skipped before the cut at k."""
    items = lists.items.copy()
    train = ctx.train[users]
    rows = np.repeat(np.arange(len(users)), np.diff(train.indptr))
    keys = set(zip(rows.tolist(), train.indices.tolist(), strict=True))
    out = np.full((len(users), k), -1, dtype="int64")
    for r in range(len(users)):
        kept = [i for i in items[r] if i >= 0 and (r, i) not in keys][:k]
        out[r, :len(kept)] = kept
    return ranking_metrics(out, ctx.test_pos[users], k, ctx.index.n_items)


def test_users(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """(users, anchors) of the evaluation: users with held-out positives and a training anchor."""
    users = np.flatnonzero(np.diff(ctx.test_pos.indptr) > 0)
    anchors = ctx.anchors(ctx.splits.train, users)
    keep = anchors >= 0
    return users[keep], anchors[keep]


def val_users(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    users = np.flatnonzero(np.diff(ctx.val_pos.indptr) > 0)
    anchors = ctx.anchors(ctx.splits.train_r, users)
    keep = anchors >= 0
    return users[keep], anchors[keep]


def final_lists(ctx: Context, ranked: Candidates, top_n: int) -> pd.DataFrame:
    anime = ctx.world.anime.set_index("anime_id").reindex(ctx.index.anime_ids)
    excluded_types = {t.lower() for t in ctx.s.excluded_types}
    excluded_genres = {g.lower() for g in ctx.s.excluded_genres}
    allowed = np.array([(str(t).lower() not in excluded_types) and not ({str(g).lower() for g in gs} & excluded_genres)
                        for t, gs in zip(anime["type"], anime["genres"], strict=True)], dtype=bool)
    items = ranked.items
    ok = (items >= 0) & allowed[np.maximum(items, 0)] & (items != ranked.users[:, None])
    rank_ = np.cumsum(ok, axis=1)
    keep = ok & (rank_ <= top_n)
    rows, cols = np.nonzero(keep)
    return pd.DataFrame({"anime_id": ctx.index.anime_ids[ranked.users[rows]], "rank": rank_[rows, cols].astype("int32"),
                         "similar_id": ctx.index.anime_ids[items[rows, cols]],
                         "score": ranked.scores[rows, cols].astype("float32")})
