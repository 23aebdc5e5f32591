"""Kubeflow pipeline: similar anime. (No `from __future__ import annotations`: KFP reads the
component signatures' real types.)

extract -> per-user split -> side data (genres, franchise links from crawled relations or the
catalogue's titles, MAL user recommendations, synopsis embeddings) -> every baseline (popularity,
genre cosine, co-completion, item-kNN, EASE, RP3beta) and the blend, tuned on validation and
measured on test -> honest choice (the blend only if it beats the best baseline on validation by
the margin and is not worse on test; else the best baseline) -> that model's list for every anime
-> models.* -> publish.

`python -m animerec.pipelines.anime_anime_pipeline [out.yaml]` compiles it.
"""

import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Output

from animerec.pipelines.components import IMAGE, configure, on_gpu
from animerec.pipelines.settings import load as load_settings
from animerec.pipelines.shared_components import extract_and_split, record_and_publish

NAME = "animerec-anime-anime"


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def similar_side(world: Input[Dataset], splits: Input[Dataset], params: dict, side: Output[Dataset]):
    """Runs the sentence model over the synopses it has not cached yet (a GPU speeds it up)."""
    from animerec.pipelines import steps
    side.metadata.update(steps.similar_side(world.path, splits.path, params, side.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def similar_models(world: Input[Dataset], splits: Input[Dataset], side: Input[Dataset], params: dict,
                   results: Output[Dataset], metrics: Output[Metrics]):
    from animerec.pipelines import steps
    figures = steps.similar_models(world.path, splits.path, side.path, params, results.path)
    for model, values in figures.items():
        for key, value in values.items():
            if isinstance(value, (int, float)):
                metrics.log_metric(f"{model}.{key}", value)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def compare_similar(results: Input[Dataset], params: dict, report: Output[Markdown], decision: Output[Dataset]) -> bool:
    from animerec.pipelines import steps
    return steps.similar_compare(results.path, params, report.path, decision.path)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def final_similar(world: Input[Dataset], splits: Input[Dataset], side: Input[Dataset], results: Input[Dataset],
                  decision: Input[Dataset], params: dict, lists: Output[Dataset]):
    from animerec.pipelines import steps
    lists.metadata["rows"] = steps.final_similar_lists(world.path, splits.path, params, side.path, results.path,
                                                       decision.path, lists.path)


@dsl.pipeline(name=NAME, description="Similar anime: tuned baselines and a tuned blend with franchise and synopsis "
                                     "features; the best on validation is published")
def anime_anime_pipeline(pg_url: str = "", params: dict = load_settings().params(), publish: bool = False) -> str:
    common = extract_and_split(pg_url, params)
    side = on_gpu(configure(similar_side(**common), "side data"))
    models = configure(similar_models(side=side.outputs["side"], **common), "baselines and blend")
    compared = configure(compare_similar(results=models.outputs["results"], params=params), "compare")
    final = configure(final_similar(side=side.outputs["side"], results=models.outputs["results"],
                                    decision=compared.outputs["decision"], **common), "similar anime lists")
    return record_and_publish("anime_anime", pg_url, params, final.outputs["lists"], compared, publish).output


if __name__ == "__main__":
    compiler.Compiler().compile(anime_anime_pipeline, sys.argv[1] if len(sys.argv) > 1 else f"{NAME}.yaml")
