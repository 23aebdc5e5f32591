"""Compile animerec's training pipelines and submit one run of each to Kubeflow Pipelines.

Run by the chart's pipelines CronJob inside the pipelines image (which ships kfp). Compilation bakes the
GPU settings (ANIMEREC_PIPELINES_GPU_*) into the training components; this Job itself needs no GPU and does
not wait for the runs: the pipelines report their own metrics and promote models themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    endpoint = os.environ.get("KFP_ENDPOINT", "")
    if not endpoint:
        print("KFP_ENDPOINT is not set (pipelines.kfpEndpoint)", file=sys.stderr)
        return 2
    experiment = os.environ.get("KFP_EXPERIMENT", "animerec")
    names = [n for n in os.environ.get("KFP_PIPELINES", "").split(",") if n]
    out = Path(os.environ.get("KFP_PACKAGE_DIR") or tempfile.mkdtemp(prefix="pipelines-"))
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["animerec", "pipeline", "compile", "--out", str(out), *names], check=True)

    import kfp  # imported late: compile errors above should not wait on kfp's import

    client = kfp.Client(host=endpoint)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for name in names:
        run = client.create_run_from_pipeline_package(
            str(out / f"{name}.yaml"), arguments={}, run_name=f"{name}-{stamp}", experiment_name=experiment,
        )
        print(f"submitted {name}: run {run.run_id} in experiment {experiment}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
