"""Components both pipelines use, and the steps they chain alike. (No `from __future__ import annotations`: KFP
reads the real types.)"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Output, PipelineTask

from animerec.pipelines.components import IMAGE, configure, with_secrets


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def extract_world(pg_url: str, world: Output[Dataset]):
    from animerec.pipelines import steps
    world.metadata.update(steps.extract(steps.postgres_url(pg_url), world.path))


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def split_world(world: Input[Dataset], params: dict, splits: Output[Dataset]):
    from animerec.pipelines import steps
    steps.split(world.path, params, splits.path)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def record_run(pg_url: str, pipeline: str, params: dict, lists: Input[Dataset], report: Input[Markdown],
               decision: Input[Dataset]) -> str:
    from animerec.pipelines import steps
    return steps.record_run(steps.postgres_url(pg_url), pipeline, params, lists.path, report.path, decision.path)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def publish_lists(pipeline: str, run_id: str, promoted: bool, enabled: bool) -> str:
    """The last step: a promoted run goes live (its part; the other pipeline's latest promoted run is kept)."""
    if not (enabled and promoted):
        print(f"run {run_id} not published ({'not promoted' if enabled else 'publishing off'})")
        return ""
    from animerec.pipelines.publish import publish_run
    version = publish_run(pipeline, run_id)
    print(f"run {run_id} published as version {version}")
    return version


def extract_and_split(pg_url: str, params: dict) -> dict:
    """The first two steps of every pipeline: the processed tables (pg_url from a Secret when empty), split per
    user. Returns the inputs every later step takes: world, splits and params."""
    world = with_secrets(configure(extract_world(pg_url=pg_url), "extract"))
    splits = configure(split_world(world=world.outputs["world"], params=params), "split")
    return {"world": world.outputs["world"], "splits": splits.outputs["splits"], "params": params}


def record_and_publish(pipeline: str, pg_url: str, params: dict, lists, compared: PipelineTask,
                       publish: bool) -> PipelineTask:
    """The last two steps of every pipeline: the run is recorded whatever the decision (`animerec publish` only
    takes promoted runs), then published when promoted and `publish` is on (cluster runs: publish=True from the
    chart; pg_url and the Redis URL come from Secrets). `compared` is the compare step (report, decision, and
    whether it promoted). Returns the record step; its output is the run id."""
    recorded = with_secrets(configure(record_run(
        pg_url=pg_url, pipeline=pipeline, params=params, lists=lists, report=compared.outputs["report"],
        decision=compared.outputs["decision"]), "record run"))
    with_secrets(configure(publish_lists(pipeline=pipeline, run_id=recorded.output,
                                         promoted=compared.outputs["Output"], enabled=publish),
                           "publish"), redis=True)
    return recorded
