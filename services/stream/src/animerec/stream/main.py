"""Entry point of the job on a Flink cluster (`python -m animerec.stream.main`, run by Flink's PythonDriver in
application mode). The operator restores the latest checkpoint itself (upgradeMode last-state)."""

from __future__ import annotations

from animerec.common import config, log

from . import job
from .settings import StreamSettings


def main() -> None:
    core = config.core()
    log.setup("stream", core.log_level, core.log_format)
    job.build(core, config.load(StreamSettings)).execute("animerec-stream")


if __name__ == "__main__":
    main()
