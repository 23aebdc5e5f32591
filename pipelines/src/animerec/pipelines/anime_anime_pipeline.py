"""Kubeflow pipeline: similar anime. (No `from __future__ import annotations`: KFP reads the
component signatures' real types.)

extract -> per-user split -> candidate pairs (related, MAL recommendations, genre cosine,
co-completion within a window) -> TFRS two-tower retrieval on those pairs -> candidates per anime
-> pairwise ranker on (anchor, a, b, label) -> compare with popularity, co-occurrence and genre
cosine (KFP Metrics + markdown report, promotion) -> ranked similar anime per anime -> models.*.

`python -m animerec.pipelines.anime_anime_pipeline [out.yaml]` compiles it.
"""

import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from animerec.pipelines.components import IMAGE, configure, on_gpu, with_secrets
from animerec.pipelines.settings import load as load_settings
from animerec.pipelines.shared_components import extract_world, publish_lists, record_run, split_world

NAME = "animerec-anime-anime"


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def candidate_pairs(world: Input[Dataset], splits: Input[Dataset], params: dict, signals: Output[Dataset]):
    from animerec.pipelines import steps
    signals.metadata.update(steps.similar_signals(world.path, splits.path, params, signals.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def similar_baselines(world: Input[Dataset], splits: Input[Dataset], signals: Input[Dataset], params: dict,
                      popularity: Output[Metrics], co_occurrence: Output[Metrics], genre_cosine: Output[Metrics]):
    """The three baselines in one step (one process start instead of three; they are cheap)."""
    from animerec.pipelines import steps
    for name, metrics in (("popularity", popularity), ("co_occurrence", co_occurrence),
                          ("genre_cosine", genre_cosine)):
        for key, value in steps.similar_baseline(name, world.path, splits.path, signals.path, params).items():
            metrics.log_metric(key, value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train_similar_retrieval(world: Input[Dataset], splits: Input[Dataset], signals: Input[Dataset], params: dict,
                            model: Output[Model]):
    from animerec.pipelines import steps
    model.metadata.update(steps.similar_retrieval(world.path, splits.path, signals.path, params, model.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def retrieve_similar(world: Input[Dataset], splits: Input[Dataset], signals: Input[Dataset], model: Input[Model],
                     params: dict, candidates: Output[Dataset], metrics: Output[Metrics]):
    from animerec.pipelines import steps
    result = steps.similar_candidates(world.path, splits.path, signals.path, model.path, params, candidates.path)
    for key, value in result.items():
        metrics.log_metric(key, value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train_pairwise_ranker(world: Input[Dataset], splits: Input[Dataset], signals: Input[Dataset],
                          model: Input[Model], candidates: Input[Dataset], params: dict, ranker: Output[Model],
                          ranked: Output[Dataset], metrics: Output[Metrics]):
    from animerec.pipelines import steps
    result = steps.similar_rank(world.path, splits.path, signals.path, model.path, candidates.path, params,
                                ranker.path, ranked.path)
    for key, value in result.items():
        metrics.log_metric(key, value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def compare_similar(popularity: Input[Metrics], co_occurrence: Input[Metrics], genre_cosine: Input[Metrics],
                    retrieval: Input[Metrics], pairwise: Input[Metrics], params: dict, report: Output[Markdown],
                    decision: Output[Dataset]) -> bool:
    from animerec.pipelines import steps
    from animerec.pipelines.settings import from_params
    results = {name: dict(art.metadata) for name, art in (
        ("popularity", popularity), ("co_occurrence", co_occurrence), ("genre_cosine", genre_cosine),
        ("retrieval", retrieval), ("pairwise", pairwise))}
    return steps.compare(results, params, "similar anime models", report.path, decision.path, model="pairwise",
                         baseline=from_params(params).promote_similar_baseline,
                         notes=["similar lists evaluated per test user: anchor = most recent (else random) "
                                "training positive, relevant = held-out positives, the user's anime skipped"])


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def final_similar(world: Input[Dataset], splits: Input[Dataset], params: dict, ranked: Input[Dataset],
                  lists: Output[Dataset]):
    from animerec.pipelines import steps
    lists.metadata["rows"] = steps.final_similar_lists(world.path, splits.path, params, ranked.path, lists.path)


@dsl.pipeline(name=NAME, description="Similar anime: candidate pairs from four sources, TFRS retrieval and a "
                                     "pairwise ranker, evaluated against popularity, co-occurrence and genre cosine")
def anime_anime_pipeline(pg_url: str = "", params: dict = load_settings().params(), publish: bool = False) -> str:
    world = with_secrets(configure(extract_world(pg_url=pg_url), "extract"))
    splits = configure(split_world(world=world.outputs["world"], params=params), "split")
    common = {"world": world.outputs["world"], "splits": splits.outputs["splits"], "params": params}
    signals = configure(candidate_pairs(**common), "candidate pairs")
    with_signals = {**common, "signals": signals.outputs["signals"]}
    base = configure(similar_baselines(**with_signals), "baselines")
    model = on_gpu(configure(train_similar_retrieval(**with_signals), "train retrieval"))
    cands = configure(retrieve_similar(model=model.outputs["model"], **with_signals), "retrieve candidates")
    ranker = on_gpu(configure(train_pairwise_ranker(model=model.outputs["model"],
                                                    candidates=cands.outputs["candidates"], **with_signals),
                              "train pairwise ranker"))
    compared = configure(compare_similar(
        popularity=base.outputs["popularity"], co_occurrence=base.outputs["co_occurrence"],
        genre_cosine=base.outputs["genre_cosine"], retrieval=cands.outputs["metrics"],
        pairwise=ranker.outputs["metrics"], params=params), "compare with baselines")
    final = configure(final_similar(ranked=ranker.outputs["ranked"], **common), "ranked similar anime")
    recorded = with_secrets(configure(record_run(
        pg_url=pg_url, pipeline="anime_anime", params=params, lists=final.outputs["lists"],
        report=compared.outputs["report"], decision=compared.outputs["decision"]), "record run"))
    # Cluster runs publish here (publish=True from the chart); pg_url and the Redis URL come from Secrets.
    with_secrets(configure(publish_lists(pipeline="anime_anime", run_id=recorded.output,
                                         promoted=compared.outputs["Output"], enabled=publish),
                           "publish"), redis=True)
    return recorded.output


if __name__ == "__main__":
    compiler.Compiler().compile(anime_anime_pipeline, sys.argv[1] if len(sys.argv) > 1 else f"{NAME}.yaml")
