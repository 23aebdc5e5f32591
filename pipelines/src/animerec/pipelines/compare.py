"""The user-anime comparison every command shares: `animerec evaluate`, `animerec tune` and
`animerec recommend` (and the bench) all call `run_user_anime`, so a model added here is evaluated,
promoted and published by all of them alike.

One run: split (test = each user's held-out share; validation = a share of train), the five
baselines tuned on validation, every learned model (`LEARNED`), validation and test figures for
each, the honest promotion rule (`evaluation.decide`), and on request the published lists of the
winner, trained on everything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import baselines, tuning, user_anime
from .data import World
from .evaluation import Decision, Result, Stopwatch, decide
from .settings import PipelineSettings
from .topk import personalisation_metrics, ranking_metrics, topk

log = logging.getLogger(__name__)

PURPOSES = ("train_r", "train", "all")  # fit on: validation trials, test evaluation, publishing


@dataclass
class Candidate:
    """A model's figures plus how to get its lists for everyone: publish(users, mask, n) -> [users, n]
    item positions (trained on all the data, nothing in `mask` recommended, -1 pads)."""

    result: Result
    publish: Callable[[np.ndarray, sp.csr_matrix, int], np.ndarray] | None = None


class BaselineBank:
    """The tuned baselines, fitted on demand once per purpose: "train_r" (validation: fit on the
    validation split's training part), "train" (test) and "all" (publishing). Learned models take
    their candidate sources and features from here, with the same tuned values."""

    def __init__(self, ctx: user_anime.Context, tuned: dict[str, tuning.Tuned]):
        self.ctx, self.tuned = ctx, tuned
        self._fitted: dict[tuple[str, str], baselines.Baseline] = {}
        self._grams: dict[str, baselines.Gram] = {}

    @property
    def best(self) -> str:
        """The baseline best on validation."""
        return max(self.tuned.values(), key=lambda t: t.val[f"ndcg@{self.ctx.s.k}"]).name

    def gram(self, purpose: str) -> baselines.Gram:
        if purpose not in self._grams:
            self._grams[purpose] = baselines.Gram.of(self.ctx.positives[purpose])
        return self._grams[purpose]

    def model(self, name: str, purpose: str) -> baselines.Baseline:
        if purpose not in PURPOSES:
            raise ValueError(f"purpose {purpose!r}: one of {', '.join(PURPOSES)}")
        key = (name, purpose)
        if key not in self._fitted:
            self._fitted[key] = baselines.make(name, **self.tuned[name].params).fit(
                self.ctx.positives[purpose], self.gram(purpose))
        return self._fitted[key]


# A learned-model family: (context, tuned baselines, k) -> its candidates with validation and test
# figures. The two-tower + rankers family lives in user_anime; more can be appended.
LearnedFamily = Callable[[user_anime.Context, BaselineBank, int], list[Candidate]]


@dataclass
class Evaluation:
    ctx: user_anime.Context
    bank: BaselineBank
    candidates: dict[str, Candidate]
    decision: Decision
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def results(self) -> list[Result]:
        return [c.result for c in self.candidates.values()]

    def publish(self, n: int, mask: sp.csr_matrix | None = None) -> pd.DataFrame:
        """Every user's top n by the published model (decision.model), trained on all the data:
        rows (user_id, anime_id, rank, model). `mask` (default: every row of the data) is never
        recommended."""
        ctx, name = self.ctx, self.decision.model
        mask = ctx.all if mask is None else mask
        users = np.arange(ctx.index.n_users)
        publish = self.candidates[name].publish
        if publish is None:
            raise ValueError(f"{name} cannot publish lists")
        items = publish(users, mask, n)
        # Whatever a model returns, nothing in the mask survives (and -1 pads are dropped).
        m = mask.tocsr()
        rows, cols = np.nonzero(items >= 0)
        picked = items[rows, cols]
        seen = np.asarray(m[users[rows], picked]).ravel() > 0
        keep = ~seen
        rows, picked = rows[keep], picked[keep]
        rank = pd.Series(rows).groupby(rows).cumcount().to_numpy() + 1
        out = pd.DataFrame({"user_id": ctx.index.user_ids[users[rows]], "anime_id": ctx.index.anime_ids[picked],
                            "rank": rank.astype("int32"), "model": name})
        return out[out["rank"] <= n].reset_index(drop=True)


def validation_split(ctx: user_anime.Context) -> tuning.ValidationSplit:
    return tuning.ValidationSplit(fit=ctx.positives["train_r"], mask=ctx.train_r, target=ctx.positives["val"])


def item_interactions(ctx: user_anime.Context) -> np.ndarray:
    """Training interactions per item (what the personalisation metrics call popularity)."""
    return np.asarray(ctx.train.sum(0)).ravel()


def test_metrics(ctx: user_anime.Context, users: np.ndarray, recs: np.ndarray, k: int) -> dict[str, float]:
    """Accuracy on the test positives plus the personalisation metrics of the same lists."""
    m = ranking_metrics(recs, ctx.positives["test"][users], k, ctx.index.n_items)
    m.update(personalisation_metrics(recs, k, item_interactions(ctx)))
    return m


def tune(ctx: user_anime.Context, k: int) -> dict[str, tuning.Tuned]:
    """The five baselines tuned on the validation split (ctx.s.tune_trials trials each)."""
    s = ctx.s
    return tuning.tune_all(validation_split(ctx), k, s.tune_trials, s.seed,
                           fixed={"als": {"seed": s.seed, "threads": s.tf_threads}})


def baseline_candidates(ctx: user_anime.Context, bank: BaselineBank, k: int) -> list[Candidate]:
    users = ctx.eval_users()
    out = []
    for name, t in bank.tuned.items():
        with Stopwatch() as sw:
            model = bank.model(name, "train")
            recs = topk(model.score, users, k, ctx.train)
        result = Result(name, True, test_metrics(ctx, users, recs, k), t.seconds + sw.seconds,
                        val=dict(t.val), params=dict(t.params))
        log.info("baseline", extra={"model": name, "val": round(t.val[f"ndcg@{k}"], 5),
                                    "test": round(result.metrics[f"ndcg@{k}"], 5)})

        def publish(users: np.ndarray, mask: sp.csr_matrix, n: int, name: str = name) -> np.ndarray:
            return topk(bank.model(name, "all").score, users, n, mask)

        out.append(Candidate(result, publish))
    return out


def ranked_family(ctx: user_anime.Context, bank: BaselineBank, k: int) -> list[Candidate]:
    """The user-anime model (userrank.py): two-tower retrieval alone, and multi-source candidates
    ordered by the listwise ranker."""
    from . import userrank
    return userrank.family(ctx, bank, k)


LEARNED: list[LearnedFamily] = [ranked_family]


def run_user_anime(world: World, s: PipelineSettings, k: int | None = None, *, learned: bool = True,
                   families: list[LearnedFamily] | None = None) -> Evaluation:
    k = k or s.k
    seconds: dict[str, float] = {}
    with Stopwatch() as sw:
        splits = user_anime.make_splits(world, s)
        ctx = user_anime.Context(world, splits, s)
    seconds["split"] = sw.seconds
    if len(ctx.eval_users()) == 0:
        raise ValueError("no user has a positive held-out interaction: the dataset is too small to evaluate")
    with Stopwatch() as sw:
        tuned = tune(ctx, k)
    seconds["tuning"] = sw.seconds
    bank = BaselineBank(ctx, tuned)
    candidates = {c.result.model: c for c in baseline_candidates(ctx, bank, k)}
    if learned:
        with Stopwatch() as sw:
            for family in (LEARNED if families is None else families):
                for c in family(ctx, bank, k):
                    candidates[c.result.model] = c
        seconds["learned"] = sw.seconds
    decision = decide([c.result for c in candidates.values()], f"{s.promote_metric}@{k}", s.promote_margin)
    log.info("decision", extra={"model": decision.model, "promoted": decision.promoted, "reason": decision.reason})
    return Evaluation(ctx, bank, candidates, decision, seconds)


def evaluate_user_anime(world: World, s: PipelineSettings, k: int | None = None,
                        learned: bool = True) -> tuple[list[Result], Decision]:
    ev = run_user_anime(world, s, k, learned=learned)
    return ev.results, ev.decision
