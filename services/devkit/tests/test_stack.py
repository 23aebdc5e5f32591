import pytest

from animerec.common import config
from animerec.devkit import tansu
from animerec.devkit.stack import Stack

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_down_stops_only_what_it_started(pg_url, redis_url, tmp_path):
    port = tansu.free_port()
    settings = config.core({}, kafka_bootstrap=f"127.0.0.1:{port}", postgres_url=pg_url, redis_url=redis_url,
                           state_dir=tmp_path / "state")
    stack = Stack(settings)
    lines: list[str] = []
    try:
        stack.up(say=lines.append)
        assert any(f"started Tansu broker on 127.0.0.1:{port}" in line for line in lines)
        assert any("animerec.ingest.items: created" in line for line in lines)
        status = {c.name: c for c in stack.status()}
        assert {c.state for c in status.values()} == {"up"}
        assert status["kafka"].started_by_us
        assert not status["postgres"].started_by_us and not status["redis"].started_by_us

        again: list[str] = []
        stack.up(say=again.append)
        assert any(f"using broker at 127.0.0.1:{port}" in line for line in again)
        assert any("animerec.ingest.items: exists" in line for line in again)
        assert "migrations: 0 applied" in again
    finally:
        stopped: list[str] = []
        stack.down(say=stopped.append)
    assert [line.split(":")[0] for line in stopped] == ["tansu"]
    status = {c.name: c for c in stack.status()}
    assert status["kafka"].state == "down"
    assert status["postgres"].state == "up" and status["redis"].state == "up"
