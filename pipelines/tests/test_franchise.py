"""Franchise links from the catalogue: title keys, titles confirmed by genres or synopses, crawled relations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from animerec.pipelines import features, franchise
from animerec.pipelines.data import World, empty_pairs
from animerec.pipelines.indexing import Index


def test_franchise_keys_strip_sequel_markers():
    assert franchise.franchise_key("Shingeki no Kyojin Season 3 Part 2") == "shingeki no kyojin"
    assert franchise.franchise_key("Shingeki no Kyojin: The Final Season") == "shingeki no kyojin"
    assert franchise.franchise_key("Gintama°") == "gintama"
    assert franchise.franchise_key("Steins;Gate 0") == "steins gate"
    assert franchise.franchise_key("K-On!!") == "k on"


def _genres(rows: list[list[int]], n_genres: int = 4) -> sp.csr_matrix:
    r = [i for i, gs in enumerate(rows) for _ in gs]
    c = [g for gs in rows for g in gs]
    return sp.csr_matrix((np.ones(len(r), "float32"), (r, c)), shape=(len(rows), n_genres))


def test_franchise_links_need_titles_and_agreeing_content():
    titles = ["Fullmetal Alchemist", "Fullmetal Alchemist: Brotherhood", "Naruto", "Naruto: Shippuuden",
              "Monster", "Monster Musume no Iru Nichijou", "Dragon Ball", "Dragon Ball Z", "Sailor Moon SuperS"]
    genres = _genres([[0, 1], [0, 1], [0, 2], [0, 2], [3], [1, 2], [0], [0], [1]])
    m = franchise.franchise_matrix(titles, genres).toarray()
    assert (m == m.T).all() and not m.diagonal().any()
    linked = {(titles[a], titles[b]) for a, b in zip(*np.nonzero(m), strict=True) if a < b}
    assert linked == {("Fullmetal Alchemist", "Fullmetal Alchemist: Brotherhood"), ("Naruto", "Naruto: Shippuuden"),
                      ("Dragon Ball", "Dragon Ball Z")}  # "Monster" and "Monster Musume" share no genre


def test_synopsis_links_join_titles_that_differ():
    titles = ["Bakemonogatari", "Nisemonogatari", "Clannad"]
    text = np.array([[1.0, 0.0], [0.995, 0.0998], [0.0, 1.0]], "float32")
    m = franchise.franchise_matrix(titles, _genres([[0], [0], [1]]), text, text_link_cosine=0.98).toarray()
    assert m[0, 1] == m[1, 0] == 1 and m[:, 2].sum() == 0


def test_world_links_trust_crawled_relations_in_index_order():
    anime = pd.DataFrame({"anime_id": [30, 10, 20], "title": ["Dragon Ball Z", "Dragon Ball", "Clannad"],
                          "genres": [["Action"], ["Action"], ["Drama"]]})
    pairs = pd.concat([empty_pairs(), pd.DataFrame({"anime_a": [20, 10], "anime_b": [10, 999],
                                                    "recommendation": [False, False], "related": [True, True]})])
    world = World(anime=anime, interactions=pd.DataFrame({"user_id": [1], "anime_id": [10]}), pairs=pairs)
    index = Index.build(world.anime, world.interactions)
    genres, _ = features.genre_matrix(world.anime, index.anime_ids)
    m = franchise.world_links(world, index, genres).toarray()
    at = {int(a): i for i, a in enumerate(index.anime_ids)}
    assert m[at[10], at[30]] == m[at[30], at[10]] == 1      # one title starts the other, same genres
    assert m[at[10], at[20]] == m[at[20], at[10]] == 1      # crawled: trusted though titles and genres differ
    assert m[at[20], at[30]] == 0 and m.sum() == 4         # the relation to an anime outside the catalogue is dropped


def test_catalogue_groups_name_each_franchise_by_its_smallest_id():
    ids = [223, 813, 30, 6033, 20, 1735, 5114, 121, 34]
    titles = ["Dragon Ball", "Dragon Ball Z", "Neon Genesis Evangelion", "Dragon Ball Kai", "Naruto",
              "Naruto: Shippuuden", "Fullmetal Alchemist: Brotherhood", "Fullmetal Alchemist", "Air"]
    genres = [["Action", "Adventure"], ["Action", "Adventure"], ["Mecha"], ["Action", "Adventure"],
              ["Action", "Comedy"], ["Action", "Comedy"], ["Action", "Drama"], ["Action", "Drama"], ["Drama"]]
    groups = franchise.catalogue_groups(ids, titles, genres, related=[(30, 34), (999, 20)])
    assert groups[223] == groups[813] == groups[6033] == 223  # Dragon Ball -> Z; "Dragon Ball Kai" by its key
    assert groups[20] == groups[1735] == 20
    assert groups[5114] == groups[121] == 121
    assert groups[30] == groups[34] == 30  # a crawled relation joins titles that share nothing
    assert franchise.catalogue_groups([], [], []) == {}
