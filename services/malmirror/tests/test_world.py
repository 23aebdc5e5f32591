"""Worlds: generated ones are deterministic and shaped like MAL; the dataset world holds the real lists."""

from __future__ import annotations

import csv
import gzip
import itertools
from pathlib import Path

import numpy as np
import pytest

from animerec.common import datasets
from animerec.malmirror.world import STATUS_CODES, from_datasets, generate

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def small():
    return generate(users=2000, anime=300, seed=11)


def test_generation_is_deterministic() -> None:
    a, b = generate(300, 60, seed=5), generate(300, 60, seed=5)
    for name in ("e_anime", "e_status", "e_score", "e_progress", "u_off", "f_user", "last_online_ago"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert [x.title for x in a.anime] == [x.title for x in b.anime] and a.related == b.related
    c = generate(300, 60, seed=6)
    assert not np.array_equal(a.e_anime, c.e_anime)


def test_popularity_is_heavy_tailed_and_lists_realistic(small) -> None:
    members = np.sort(small.status_counts.sum(axis=1))[::-1]
    top = members[: len(members) // 10].sum() / members.sum()
    assert top > 0.3                                   # the top 10% of anime hold a large share of members
    sizes = np.diff(small.u_off)
    assert sizes.min() >= 1 and 15 <= np.median(sizes) <= 60 and sizes.max() > 4 * np.median(sizes)
    statuses = set(np.unique(small.e_status).tolist())
    assert statuses == set(STATUS_CODES)
    scored = small.e_score[small.e_score > 0]
    assert scored.min() >= 1 and scored.max() <= 10 and 6 < scored.mean() < 8.5
    assert (small.e_score[small.e_status == 6] == 0).all()     # plan-to-watch is never scored
    # no duplicate (user, anime) entries
    keys = np.repeat(np.arange(small.n_users), sizes) * small.n_anime + small.e_anime
    assert len(np.unique(keys)) == len(keys)


def test_users_prefer_their_clusters(small) -> None:
    """There is something to learn: a user's entries concentrate in few genre clusters."""
    clusters = np.array([a.cluster for a in small.anime])
    shares = []
    for ui in range(0, small.n_users, 10):
        span = small.entries(ui)
        if len(span) >= 20:
            counts = np.bincount(clusters[small.e_anime[span.start:span.stop]], minlength=clusters.max() + 1)
            shares.append(np.sort(counts)[-2:].sum() / counts.sum())
    assert np.mean(shares) > 0.35  # 2 of 16 clusters would hold 1/8 by chance


def test_friendships_and_relations_are_symmetric(small) -> None:
    pairs = {(u, int(small.f_user[i])) for u in range(small.n_users) for i in small.friends(u)}
    assert pairs and all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs)
    inverse = {"Sequel": "Prequel", "Prequel": "Sequel", "Side story": "Parent story", "Parent story": "Side story"}
    for ai, rels in small.related.items():
        for kind, target in rels:
            assert (inverse[kind], ai) in small.related[target]


def test_aggregates_match_entries(small) -> None:
    ai = int(small.ranking[0])
    entries = small.anime_users(ai)
    assert small.members(ai) == len(entries) == int(small.status_counts[ai].sum())
    scores = small.e_score[entries]
    assert small.score_hist[ai].sum() == (scores > 0).sum()
    assert small.score[ai] == pytest.approx(scores[scores > 0].mean())
    ranked = small.ranking
    assert all(small.score[ranked[i]] >= small.score[ranked[i + 1]] for i in range(len(ranked) - 1))
    assert sorted(small.score_rank[ranked].tolist()) == list(range(1, len(ranked) + 1))


def test_world_from_real_datasets() -> None:
    """The default world: the shipped 2021 catalogue (plus 2016 rows it lacks) and the 5,000 complete lists."""
    world = from_datasets()
    assert world.n_anime >= 21755 and world.n_users == 5000 and len(world.e_anime) == 520609
    fmab = world.anime[world.index_of[5114]]
    assert fmab.title == "Fullmetal Alchemist: Brotherhood" and fmab.type == "TV" and fmab.episodes == 64
    assert "Shounen" in fmab.demographics and "Military" in fmab.themes and "Action" in fmab.genres
    assert fmab.start.isoformat() == "2009-04-05" and fmab.end.isoformat() == "2010-07-04"
    assert fmab.studios == ("Bones",) and fmab.source == "Manga" and "Equivalent Exchange" in fmab.synopsis
    # every real rating is someone's list entry, under user<id>; ids only the 2016 catalogue knows are kept
    with datasets.open_csv(datasets.path("ratings")) as fh:
        rows = list(itertools.islice((r for r in csv.DictReader(fh) if int(r["rating"]) > 0), 200))
    for row in rows[::37]:
        ui = world.user_index[f"user{row['user_id']}"]
        entry = next(i for i in world.entries(ui)
                     if world.anime[int(world.e_anime[i])].anime_id == int(row["anime_id"]))
        assert int(world.e_score[entry]) == int(row["rating"]) and int(world.e_status[entry]) == 2
    assert any(kind == "Sequel" for rels in world.related.values() for kind, _ in rels)


def test_world_reads_a_folder_in_either_layout(tmp_path: Path) -> None:
    (tmp_path / "mal").mkdir()
    with gzip.open(tmp_path / "mal" / "anime.csv.gz", "wt") as fh:
        fh.write('anime_id,name,genre,type,episodes,status,aired,studios,source,synopsis,image_url\n'
                 '1,Cowboy Bebop,"Action, Sci-Fi, Space",TV,26,Finished Airing,"Apr 3, 1998 to Apr 24, 1999",'
                 'Sunrise,Original,Bounty hunters.,https://cdn.myanimelist.net/images/anime/4/19644.jpg\n')
    (tmp_path / "cooperunion-anime-2016").mkdir()
    (tmp_path / "cooperunion-anime-2016" / "ratings_5000users.csv").write_text(
        "user_id,anime_id,rating\n7,1,9\n7,999,5\n8,1,-1\n")
    world = from_datasets(tmp_path)
    assert world.n_anime == 1 and world.user_names == ["user7", "user8"]
    assert world.e_score.tolist() == [9, 0] and world.anime[0].themes == ("Space",)
    with pytest.raises(datasets.DatasetNotFound, match=r"anime.*ANIMEREC_DATA_DIR"):
        from_datasets(tmp_path / "mal")
