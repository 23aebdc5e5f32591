"""The user -> anime model: multi-source candidates reordered by a TFRS listwise ranker.

1. Candidate sources, each fitted on the data of its purpose (`PURPOSES` of compare.BaselineBank):
   the tuned EASE, item-kNN, RP3beta and ALS, the two-tower retrieval model (trained once on
   train_r, early-stopped on validation; it embeds a user by their list, so any history feeds it),
   franchise (anime of the same franchise as the history) and popularity.
2. Per user, the union of every source's best (candidates.build_lists) and the features of each
   candidate (its score and rank in every source, normalised within the user's list; genre, studio,
   synopsis and franchise affinities; popularity, MAL score, year).
3. The ranker learns on the validation split: sources fitted on train_r, lists scored from train_r
   histories, labels = validation positives. It is cross-fitted on two halves of the users, so each
   validation user is ranked by a model that never saw their labels: that is its honest validation
   figure, the one the promotion rule compares with the best tuned baseline's.
4. Test and publishing: the same sources refitted on train (on everything), lists and features
   built the same way from the bigger histories, scored by the mean of the two fold rankers.

`animerec evaluate` / `tune` / `recommend` (compare.py) and the Kubeflow pipeline call `fit` and
`Model.rank` alike.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import candidates, features, franchise, ranking, retrieval
from .indexing import padded_histories
from .topk import ranking_metrics

log = logging.getLogger(__name__)

SOURCE_MODELS = ("ease", "item_knn", "rp3beta", "als")  # tuned baselines used as candidate sources
DEPTHS = {"ease": 200, "item_knn": 100, "rp3beta": 100, "als": 100, "two_tower": 100, "franchise": 20,
          "popularity": 30}


def item_side(ctx, text: np.ndarray | None) -> candidates.ItemSide:
    """Item content in catalogue order (ctx: user_anime.Context)."""
    ix = ctx.index
    anime = ctx.world.anime.set_index("anime_id").reindex(ix.anime_ids)
    score = anime["score"].astype("float64")
    score = score.fillna(score.mean() if score.notna().any() else 5.0).to_numpy("float32")
    year = anime["year"].to_numpy("float64") if "year" in anime else np.full(ix.n_items, np.nan)
    year = np.where(np.isnan(year), np.nanmedian(year) if np.isfinite(year).any() else 2005.0, year)
    studios = anime["studios"].tolist() if "studios" in anime else [[] for _ in range(ix.n_items)]
    return candidates.ItemSide(
        genres=ctx.genres, studios=features.tag_matrix(studios, ix.n_items),
        franchise=franchise.world_links(ctx.world, ix, ctx.genres, text),
        mal_score=(score - 5.0) / 5.0,
        log_members=(np.log1p(anime["members"].fillna(0).to_numpy("float64")) / 15.0).astype("float32"),
        year=year.astype("float32"), text=text)


def synopsis_vectors(ctx) -> np.ndarray | None:
    """Synopsis embeddings of the anime anyone interacted with (zero rows elsewhere), or None when
    the catalogue has no synopses or the model package is not installed."""
    if not ctx.s.ranker_synopsis or "synopsis" not in ctx.world.anime:
        return None
    try:
        from . import text_embeddings
    except ImportError as exc:  # pragma: no cover - tokenizers / safetensors missing
        log.warning("synopsis features off", extra={"error": str(exc)})
        return None
    ix = ctx.index
    active = np.flatnonzero(np.asarray(ctx.all.sum(0)).ravel() > 0)
    anime = ctx.world.anime.set_index("anime_id").reindex(ix.anime_ids[active])
    texts = [t if isinstance(t, str) and t.strip() else None for t in anime["synopsis"]]
    if not any(texts):
        return None
    try:
        vectors = text_embeddings.synopsis_embeddings(ix.anime_ids[active], texts, threads=ctx.s.tf_threads)
    except ImportError as exc:
        log.warning("synopsis features off: the sentence model package is missing", extra={"error": str(exc)})
        return None
    out = np.zeros((ix.n_items, vectors.shape[1]), "float32")
    out[active] = vectors
    return out


# --- two-tower retrieval ------------------------------------------------------------------------------

def train_towers(ctx, sample_users: int = 1000, epochs: int | None = None) -> retrieval.Towers:
    """The two-tower model on train_r positives: a fresh history sample every epoch, weight decay,
    early stopping on NDCG@k of (a sample of) the validation users."""
    s, ix = ctx.s, ctx.index
    hist = ctx.positives["train_r"]
    pos = hist.tocoo()
    val_users = np.flatnonzero(np.diff(ctx.positives["val"].indptr) > 0)
    rng = np.random.default_rng(s.seed)
    watch = np.sort(rng.choice(val_users, min(sample_users, len(val_users)), replace=False))
    relevant = ctx.positives["val"][watch]

    def validate(towers: retrieval.Towers) -> float:
        items, _ = towers.top(watch, s.k, mask=ctx.train_r, history=hist)
        return ranking_metrics(items, relevant, s.k, ix.n_items)[f"ndcg@{s.k}"]

    def resample(epoch: int) -> np.ndarray:
        return padded_histories(hist, s.history_length, pad=ix.n_items, seed=s.seed + epoch)

    towers = retrieval.train(pos.row, pos.col, n_queries=ix.n_users, n_items=ix.n_items,
                             item_features=ctx.item_features, dim=s.embedding_dim, epochs=epochs or s.epochs,
                             batch_size=s.batch_size, learning_rate=s.learning_rate, temperature=s.temperature,
                             seed=s.seed, threads=s.tf_threads, history=resample(0), normalize=s.l2_normalize,
                             query_ids=s.user_id_embedding, resample=resample, l2=s.retrieval_l2,
                             validate=validate if len(watch) else None, patience=s.retrieval_patience)
    log.info("two-tower", extra={"epochs": len(towers.epoch_seconds), "validation": towers.validation})
    return towers


# --- sources, lists, ranker ---------------------------------------------------------------------------

@dataclass
class Sources:
    """Score functions of every candidate source for one purpose, plus popularity counts."""

    scores: dict[str, candidates.Source]
    popularity: np.ndarray


def sources(ctx, bank, purpose: str, towers: retrieval.Towers | None, side: candidates.ItemSide,
            names: Sequence[str] = SOURCE_MODELS) -> Sources:
    """The sources fitted on `purpose`'s positives (bank: compare.BaselineBank, which fits each tuned
    baseline once per purpose and shares it with the baseline rows)."""
    positives = ctx.positives[purpose]
    pop = np.asarray(positives.sum(0)).ravel().astype("float32")
    out: dict[str, candidates.Source] = {}
    def own_rows(model) -> candidates.Source:
        # Each model was fitted on exactly these histories: its own rows are the users' rows.
        return lambda u, h: model.score(u)

    for name in names:
        out[name] = own_rows(bank.model(name, purpose))
    if towers is not None:
        out["two_tower"] = lambda u, h: towers.queries(u, h) @ towers.item_vectors.T
    links = side.franchise
    out["franchise"] = lambda u, h: (h[u] @ links).toarray() + 1e-3 * pop[None, :] / max(pop.max(), 1)
    out["popularity"] = lambda u, h: np.broadcast_to(pop, (len(u), len(pop)))
    return Sources(out, pop)


def lists_for(ctx, src: Sources, users: np.ndarray, purpose: str, exclude: sp.csr_matrix,
              side: candidates.ItemSide, size: int) -> candidates.Lists:
    depths = {k: v for k, v in DEPTHS.items() if k in src.scores}
    return candidates.build_lists(users, ctx.positives[purpose], exclude, src.scores, depths, size, side,
                                  src.popularity)


def select(lists: candidates.Lists, drop: Sequence[str]) -> np.ndarray:
    """Indices of the feature columns kept when the named features (or prefixes) are dropped."""
    return np.array([i for i, n in enumerate(lists.names) if not any(n == d or n.startswith(d) for d in drop)])


@dataclass
class Model:
    """Fold rankers (their mean scores a list) and what scoring needs besides them."""

    rankers: list[ranking.ListRanker]
    columns: np.ndarray                       # feature columns the rankers read
    val: dict[str, float] = field(default_factory=dict)   # out-of-fold validation metrics
    report: dict = field(default_factory=dict)

    def score(self, lists: candidates.Lists) -> np.ndarray:
        x = lists.features[..., self.columns]
        s = np.mean([r.score(x) for r in self.rankers], axis=0)
        return np.where(lists.items >= 0, s, -np.inf)

    def rank(self, lists: candidates.Lists, n: int) -> np.ndarray:
        """[users, n] item positions, best first (-1 pads)."""
        order = np.argsort(-self.score(lists), axis=1, kind="stable")[:, :n]
        items = np.take_along_axis(lists.items, order, 1)
        if items.shape[1] < n:
            items = np.pad(items, ((0, 0), (0, n - items.shape[1])), constant_values=-1)
        return items


def train_model(ctx, lists: candidates.Lists, relevant: sp.csr_matrix, drop: Sequence[str] = (),
                folds: int = 2) -> Model:
    """Cross-fitted rankers on the validation lists; `relevant` = validation positives."""
    s = ctx.s
    labels = candidates.labels_of(lists, relevant)
    mask = lists.items >= 0
    n_rel = np.diff(sp.csr_matrix(relevant)[lists.users].indptr)
    cols = select(lists, drop)
    x = lists.features[..., cols]
    names = [lists.names[i] for i in cols]
    rng = np.random.default_rng(s.seed)
    fold = rng.permutation(len(lists.users)) % folds
    oof = np.zeros(labels.shape, "float32")
    rankers, reports = [], []
    for f in range(folds):
        fit_rows, out_rows = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        ranker, rep = ranking.train_list_ranker(
            x[fit_rows], labels[fit_rows], mask[fit_rows], names, n_relevant=n_rel[fit_rows],
            hidden=s.ranker_hidden, epochs=s.ranker_epochs, batch_size=s.ranker_batch_size,
            learning_rate=s.ranker_learning_rate, l2=s.ranker_l2, seed=s.seed + f, threads=s.tf_threads,
            holdout=0.15, patience=2, k=s.k)
        rankers.append(ranker)
        reports.append(rep)
        oof[out_rows] = ranker.score(x[out_rows])
    model = Model(rankers, cols)
    oof = np.where(mask, oof, -np.inf)
    order = np.argsort(-oof, axis=1, kind="stable")[:, :s.k]
    recs = np.take_along_axis(lists.items, order, 1)
    model.val = ranking_metrics(recs, sp.csr_matrix(relevant)[lists.users], s.k, ctx.index.n_items)
    model.report = {"folds": reports, "features": names}
    return model


def list_order_metrics(ctx, lists: candidates.Lists, relevant: sp.csr_matrix, column: str) -> dict[str, float]:
    """Metrics of the lists ordered by one feature (e.g. a source's z-score): the order a ranker
    has to beat."""
    j = lists.names.index(column)
    s = np.where(lists.items >= 0, lists.features[..., j], -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")[:, :ctx.s.k]
    recs = np.take_along_axis(lists.items, order, 1)
    return ranking_metrics(recs, sp.csr_matrix(relevant)[lists.users], ctx.s.k, ctx.index.n_items)


ABLATIONS: dict[str, tuple[str, ...]] = {
    "all features": (),
    "- source scores and ranks": tuple(f"{n}_" for n in (*SOURCE_MODELS, "two_tower", "franchise", "popularity")),
    "- two-tower": ("two_tower_",),
    "- EASE": ("ease_",),
    "- genre/studio affinities": ("genre_affinity", "studio_affinity", "studio_share"),
    "- franchise": ("franchise_",),
    "- item priors (popularity, score, age)": ("popularity_", "mal_score", "log_members", "year"),
    "- synopsis embeddings": ("synopsis_cosine",),
}


def ablation(ctx, lists: candidates.Lists, relevant: sp.csr_matrix) -> dict[str, float]:
    """Out-of-fold validation NDCG@k of the ranker without each feature group (same lists)."""
    out = {}
    for name, drop in ABLATIONS.items():
        if drop and not any(n.startswith(drop) for n in lists.names):
            continue
        out[name] = train_model(ctx, lists, relevant, drop).val[f"ndcg@{ctx.s.k}"]
    return out


# --- one run: what compare.py (evaluate / tune / recommend) and the pipeline call ----------------------

@dataclass
class Run:
    """Everything one run of the user-anime model produced."""

    side: candidates.ItemSide
    towers: retrieval.Towers
    model: Model
    val_lists: candidates.Lists
    retrieval_val: dict[str, float]
    diagnostics: dict[str, float] = field(default_factory=dict)


def val_users(ctx) -> np.ndarray:
    return np.flatnonzero(np.diff(ctx.positives["val"].indptr) > 0)


def fit(ctx, bank, towers: retrieval.Towers | None = None) -> Run:
    """Towers (trained here unless given), sources on train_r, validation lists and the
    cross-fitted ranker."""
    s = ctx.s
    side = item_side(ctx, synopsis_vectors(ctx))
    towers = towers if towers is not None else train_towers(ctx)
    users = val_users(ctx)
    items, _ = towers.top(users, s.k, mask=ctx.train_r, history=ctx.positives["train_r"])
    retrieval_val = ranking_metrics(items, ctx.positives["val"][users], s.k, ctx.index.n_items)
    src = sources(ctx, bank, "train_r", towers, side)
    lists = lists_for(ctx, src, users, "train_r", ctx.train_r, side, s.ranker_candidates)
    model = train_model(ctx, lists, ctx.positives["val"])
    diag = {f"val_recall@{n}_candidates": candidates.recall_at(lists, ctx.positives["val"], n)
            for n in (100, s.ranker_candidates)}
    diag["val_ndcg_ease_order"] = list_order_metrics(ctx, lists, ctx.positives["val"], "ease_z")[f"ndcg@{s.k}"]
    log.info("user-anime ranker", extra={"val": model.val, **diag})
    return Run(side, towers, model, lists, retrieval_val, diag)


def rank_users(ctx, bank, run: Run, purpose: str, users: np.ndarray, exclude: sp.csr_matrix, n: int,
               batch: int = 1024) -> tuple[np.ndarray, candidates.Lists | None]:
    """[users, n] ranked item positions from the sources fitted on `purpose` ("train": test,
    "all": publishing); also the last batch's lists (for diagnostics)."""
    src = sources(ctx, bank, purpose, run.towers, run.side)
    out = np.full((len(users), n), -1, "int64")
    lists = None
    size = max(ctx.s.ranker_candidates, n)
    for start in range(0, len(users), batch):
        chunk = users[start:start + batch]
        lists = lists_for(ctx, src, chunk, purpose, exclude, run.side, size)
        out[start:start + len(chunk)] = run.model.rank(lists, n)
    return out, lists


def family(ctx, bank, k: int, runs: list[Run] | None = None) -> list:
    """compare.LearnedFamily: the two-tower retrieval model alone and the ranked multi-source lists,
    each with validation and test figures (`runs` receives the Run, for diagnostics)."""
    from .compare import Candidate, test_metrics
    from .evaluation import Result, Stopwatch

    with Stopwatch() as sw:
        run = fit(ctx, bank)
    fit_seconds = sw.seconds
    if runs is not None:
        runs.append(run)
    users = ctx.eval_users()
    with Stopwatch() as sw:
        items, _ = run.towers.top(users, k, mask=ctx.train, history=ctx.positives["train"])
    towers = run.towers

    def publish_retrieval(us: np.ndarray, mask: sp.csr_matrix, n: int) -> np.ndarray:
        return towers.top(us, n, mask=mask, history=ctx.positives["all"])[0]

    out = [Candidate(Result("retrieval", False, test_metrics(ctx, users, items, k), sw.seconds,
                            val=dict(run.retrieval_val),
                            params={"epochs": len(towers.epoch_seconds), "validation": towers.validation}),
                     publish_retrieval)]
    with Stopwatch() as sw:
        recs, _ = rank_users(ctx, bank, run, "train", users, ctx.train, k)
    test = test_metrics(ctx, users, recs, k)
    note = ", ".join(f"{name} {value:.4f}" for name, value in run.diagnostics.items())

    def publish_ranked(us: np.ndarray, mask: sp.csr_matrix, n: int) -> np.ndarray:
        return rank_users(ctx, bank, run, "all", us, mask, n)[0]

    out.append(Candidate(Result("ranker", False, test, fit_seconds + sw.seconds, note=note, val=dict(run.model.val),
                                params={"features": run.model.report["features"],
                                        "folds": run.model.report["folds"]}),
                         publish_ranked))
    return out
