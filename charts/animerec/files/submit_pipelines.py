"""Compile animerec's training pipelines and submit one run of each to Kubeflow Pipelines.

Run by the chart's pipelines CronJob inside the pipelines image (which ships kfp). Compilation bakes the
GPU settings (ANIMEREC_PIPELINES_GPU_*) and the names of the Secrets holding the database URLs
(ANIMEREC_PIPELINES_*_SECRET) into the components; this Job itself needs no GPU and does not wait for the runs:
each run records, promotes and publishes its lists itself and pushes its publish time for the overdue alert.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run arguments: publish the run's lists when it is promoted (the pipeline's last step).
ARGUMENTS = {"publish": True}


def required_inputs(spec: dict) -> set[str]:
    """Root inputs of a compiled pipeline without a default value."""
    params = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    return {name for name, p in params.items() if not p.get("isOptional") and "defaultValue" not in p}


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
    import yaml

    client = kfp.Client(host=endpoint)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for name in names:
        package = out / f"{name}.yaml"
        # Nothing secret travels as a run argument: the tasks read the URLs from Secrets (use_secret_as_env).
        required = required_inputs(next(yaml.safe_load_all(package.read_text())))
        if required - set(ARGUMENTS):
            print(f"{name}: the pipeline requires {sorted(required - set(ARGUMENTS))}, which this Job does not "
                  "pass", file=sys.stderr)
            return 2
        run = client.create_run_from_pipeline_package(
            str(package), arguments=dict(ARGUMENTS), run_name=f"{name}-{stamp}", experiment_name=experiment,
        )
        print(f"submitted {name}: run {run.run_id} in experiment {experiment}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
