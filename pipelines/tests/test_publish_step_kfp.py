"""The pipelines' last step under kfp.local (no `from __future__ import annotations`: KFP reads the real types)."""

import pytest

from animerec.common import cache
from animerec.common.recstore import RecStore

from .test_publish_parts import PREFIX, _run, models_db  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_the_publish_step_runs_under_kfp_local(models_db, redis_url, monkeypatch, tmp_path):  # noqa: F811
    """The pipelines' last step, Secret bindings and all, run by kfp.local as `animerec pipeline run --publish`
    does: a promoted run goes live, a run not promoted (or publishing off) leaves the live version alone."""
    from kfp import dsl, local

    from animerec.pipelines.components import configure, with_secrets
    from animerec.pipelines.shared_components import publish_lists

    monkeypatch.setenv("ANIMEREC_POSTGRES_URL", models_db)
    monkeypatch.setenv("ANIMEREC_REDIS_URL", redis_url)
    monkeypatch.setenv("ANIMEREC_REDIS_PREFIX", PREFIX)
    _run(models_db, "user_anime", "u1", True, [(7, 1, 2)])
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path), raise_on_error=True)

    @dsl.pipeline
    def last_step(promoted: bool, enabled: bool) -> str:
        task = publish_lists(pipeline="user_anime", run_id="u1", promoted=promoted, enabled=enabled)
        return with_secrets(configure(task, "publish"), redis=True).output

    store = RecStore(cache.client(redis_url), PREFIX)
    version = last_step(promoted=True, enabled=True).output
    assert version and store.redis.get(store.live_key) == version
    assert last_step(promoted=False, enabled=True).output == ""
    assert last_step(promoted=True, enabled=False).output == ""
    assert store.redis.get(store.live_key) == version
