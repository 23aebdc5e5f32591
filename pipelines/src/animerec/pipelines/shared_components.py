"""Components both pipelines use. (No `from __future__ import annotations`: KFP reads the real types.)"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Output

from animerec.pipelines.components import IMAGE


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
