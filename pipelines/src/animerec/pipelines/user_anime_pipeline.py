"""Kubeflow pipeline: user -> anime recommendations. (No `from __future__ import annotations`: KFP reads
the component signatures' real types.)

extract (processed tables) -> per-user split -> [popularity, item-kNN, EASE, RP3beta, ALS: tuned on validation]
                                              -> TFRS two-tower retrieval (early-stopped on validation)
-> ranker: multi-source candidates (tuned EASE, item-kNN, RP3beta, ALS, two-tower, franchise, popularity)
   ordered by a TFRS listwise ranker trained on the validation labels (userrank.py)
-> compare every model with the baselines (KFP Metrics + markdown report, honest promotion: a learned model
   must beat the best tuned baseline on validation and not lose on test, else that baseline is published)
-> final filter (seen except plan_to_watch, excluded types/genres) -> top-N per user -> models.* tables.

`python -m animerec.pipelines.user_anime_pipeline [out.yaml]` compiles it.
"""


import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from animerec.pipelines.components import IMAGE, configure, on_gpu
from animerec.pipelines.settings import load as load_settings
from animerec.pipelines.shared_components import extract_and_split, record_and_publish

NAME = "animerec-user-anime"


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train_baselines(world: Input[Dataset], splits: Input[Dataset], params: dict, recs: Output[Dataset],
                    results: Output[Dataset], metrics: Output[Metrics]):
    """The five baselines tuned on the validation split, in one step (as `animerec evaluate` does)."""
    from animerec.pipelines import steps
    summary = steps.tune_baselines(world.path, splits.path, params, recs.path, results.path)
    recs.metadata["best"] = summary.pop("best")
    for key, value in summary.items():
        metrics.log_metric(key, value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train_retrieval(world: Input[Dataset], splits: Input[Dataset], params: dict, model: Output[Model],
                    metrics: Output[Metrics]):
    """The two-tower model: its figures, towers and publishable lists."""
    from animerec.pipelines import steps
    result = steps.train_retrieval(world.path, splits.path, params, model.path)
    model.metadata.update({k: result[k] for k in ("epochs", "seconds_per_epoch")})
    for key, value in result.items():
        metrics.log_metric(key, value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train_ranker(world: Input[Dataset], splits: Input[Dataset], baselines: Input[Dataset], model: Input[Model],
                 params: dict, ranker: Output[Model], ranked: Output[Dataset], metrics: Output[Metrics]):
    """Multi-source candidates and the listwise ranker: figures, ranker weights, publishable lists."""
    from animerec.pipelines import steps
    result = steps.train_ranker(world.path, splits.path, baselines.path, model.path, params, ranker.path,
                                ranked.path)
    for key, value in result.items():
        metrics.log_metric(key, value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def compare_models(baselines: Input[Dataset], retrieval: Input[Metrics], ranker: Input[Metrics], params: dict,
                   report: Output[Markdown], decision: Output[Dataset]) -> bool:
    """Honest promotion: a learned model must beat the best tuned baseline on validation (by the margin) and
    not lose on test; otherwise the best baseline's lists are published. Returns: publishable."""
    import json

    from animerec.pipelines import steps
    with open(baselines.path) as fh:
        results = json.load(fh)
    results.update({name: dict(art.metadata) for name, art in (("retrieval", retrieval), ("ranker", ranker))})
    return steps.compare(results, params, "user -> anime models", report.path, decision.path)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def final_lists(world: Input[Dataset], splits: Input[Dataset], params: dict, decision: Input[Dataset],
                baselines: Input[Dataset], retrieval: Input[Model], ranker: Input[Dataset],
                lists: Output[Dataset]):
    """The decided model's publishable lists (a learned model, or the best tuned baseline), labelled."""
    import json
    import os

    from animerec.pipelines import steps
    with open(decision.path) as fh:
        model = json.load(fh)["model"]
    learned = {"retrieval": retrieval.path, "ranker": ranker.path}
    chosen = learned.get(model) or os.path.join(baselines.path, model)
    lists.metadata["rows"] = steps.final_user_lists(world.path, splits.path, params, lists.path, model, chosen)
    lists.metadata["model"] = model


@dsl.pipeline(name=NAME, description="TFRS retrieval + multi-source candidates ranked by a TFRS listwise ranker, "
                                     "evaluated against five baselines tuned on validation")
def user_anime_pipeline(pg_url: str = "", params: dict = load_settings().params(), publish: bool = False) -> str:
    common = extract_and_split(pg_url, params)
    base = configure(train_baselines(**common), "baselines")
    model = on_gpu(configure(train_retrieval(**common), "train retrieval"))
    ranker = on_gpu(configure(train_ranker(baselines=base.outputs["results"], model=model.outputs["model"], **common),
                              "train ranker"))
    compared = configure(compare_models(baselines=base.outputs["results"], retrieval=model.outputs["metrics"],
                                        ranker=ranker.outputs["metrics"], params=params), "compare with baselines")
    final = configure(final_lists(decision=compared.outputs["decision"], baselines=base.outputs["recs"],
                                  retrieval=model.outputs["model"], ranker=ranker.outputs["ranked"], **common),
                      "final filter")
    return record_and_publish("user_anime", pg_url, params, final.outputs["lists"], compared, publish).output


if __name__ == "__main__":
    compiler.Compiler().compile(user_anime_pipeline, sys.argv[1] if len(sys.argv) > 1 else f"{NAME}.yaml")
