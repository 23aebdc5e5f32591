from pathlib import Path

from animerec.devkit import typecheck

ROOT = Path(__file__).resolve().parents[3]


def test_every_package_is_found_with_its_module():
    found = {p.name: p.module for p in typecheck.packages(ROOT)}
    assert found["scheduler"] == "animerec.scheduler" and found["devkit"] == "animerec.devkit"
    assert found["pipelines"] == "animerec.pipelines"   # a namespace package (no __init__.py) counts too


def test_errors_are_counted_per_package_by_file():
    pkgs = typecheck.packages(ROOT)
    lines = [
        "services/crawler/src/animerec/crawler/worker.py:12: error: Incompatible types  [assignment]",
        "services/crawler/src/animerec/crawler/worker.py:40:7: error: Missing return  [return]",
        "services/crawler/src/animerec/crawler/worker.py:41: note: a note is no error",
        "pipelines/src/animerec/pipelines/data.py:3: error: Name 'x' is not defined  [name-defined]",
        "Success: no issues found",
    ]
    assert typecheck.count(lines, pkgs, ROOT) == {"crawler": 2, "pipelines": 1}


def test_the_ratchet_only_goes_down():
    baseline = {"crawler": 5, "api": 3}
    worse, better = typecheck.compare({"crawler": 6, "api": 1, "devkit": 1}, baseline)
    assert worse == ["crawler", "devkit"]   # a package absent from the baseline may have no errors
    assert better == ["api"]
    assert typecheck.lowered({"crawler": 6, "api": 1}, baseline) == {"api": 1, "crawler": 5}
