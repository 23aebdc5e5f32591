"""The one lookup for the real datasets: env first, then the shipped data/, then ../shared/datasets."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from animerec.common import datasets


def test_shipped_data_is_found_and_reads() -> None:
    repo = datasets.repo_dir()
    assert repo is not None
    for name in datasets.LAYOUT:
        found = datasets.find(name, repo / "data")
        assert found is not None and found.suffix == ".gz", name
    with datasets.open_csv(datasets.path("ratings", repo / "data")) as fh:
        header = next(csv.reader(fh))
    assert header == ["user_id", "anime_id", "rating"]
    with datasets.open_csv(datasets.path("anime", repo / "data")) as fh:
        row = next(csv.DictReader(fh))
    for column in ("synopsis", "studios", "aired", "premiered", "age_rating", "score", "members", "image_url"):
        assert column in row


def test_env_root_wins_and_takes_either_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "mal-2021-catalogue"
    shared.mkdir()
    (shared / "anime.csv").write_text("anime_id,name\n1,Cowboy Bebop\n")
    monkeypatch.setenv(datasets.ENV, str(tmp_path))
    assert datasets.roots()[0] == tmp_path
    assert datasets.path("anime") == shared / "anime.csv"
    (tmp_path / "mal").mkdir()
    with gzip.open(tmp_path / "mal" / "anime.csv.gz", "wt") as fh:
        fh.write("anime_id,name\n5,Cowboy Bebop: Tengoku no Tobira\n")
    found = datasets.path("anime")
    assert found == tmp_path / "mal" / "anime.csv.gz"
    with datasets.open_csv(found) as fh:
        assert list(csv.DictReader(fh)) == [{"anime_id": "5", "name": "Cowboy Bebop: Tengoku no Tobira"}]


def test_missing_dataset_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(datasets.DatasetNotFound, match=f"{tmp_path}.*ANIMEREC_DATA_DIR"):
        datasets.path("ratings", tmp_path)
    with pytest.raises(KeyError, match="unknown dataset"):
        datasets.find("nope")


def test_shared_dir_is_the_variable_else_beside_the_checkout(tmp_path):
    assert datasets.shared_dir({"ANIMEREC_SHARED_DIR": str(tmp_path)}) == tmp_path
    repo = datasets.repo_dir()
    assert repo is not None and datasets.shared_dir({}) == repo.parent / "shared"
    assert datasets.roots({"ANIMEREC_SHARED_DIR": str(tmp_path)})[-1] == tmp_path / "datasets"
