"""Sanity cases of similar anime on the real catalogue and the real 5,000 complete user lists
(data/mal, else ../shared/datasets): franchise entries list their sequel or first season in the
top 10, and Naruto's list does not open with Sailor Moon SuperS (what the served model did).

The blend runs with the weights and parameters `anime_anime.run` tuned on this data's validation
split (seed 42, 4 trials, synopses off as here); the pipeline re-tunes them every run. Known misses of
those weights (not asserted): Naruto -> Naruto: Shippuuden and Shingeki no Kyojin -> its OVA/movies rank
below 20, behind more popular co-watched anime."""

from __future__ import annotations

import pytest

from animerec.pipelines import anime_anime, franchise, user_anime
from animerec.pipelines.settings import from_params

pytestmark = pytest.mark.slow

TUNED_WEIGHTS = {"ease": 0.05, "rp3beta": 0.05, "co_occurrence": 1.0, "popularity": 0.1, "genre": 0.1,
                 "franchise": 0.2}
TUNED_PARAMS = {"ease": {"l2": 30000.0}, "rp3beta": {"alpha": 0.6, "beta": 0.3, "neighbours": 800}}

# anchor -> anime of its franchise; at least one must be in the anchor's top 10
FRANCHISE_CASES = {
    121: {5114},                      # Fullmetal Alchemist -> Brotherhood
    5114: {121},                      # Brotherhood -> Fullmetal Alchemist
    1575: {2904},                     # Code Geass -> Code Geass R2
    2167: {4181},                     # Clannad -> Clannad: After Story
    30: {32, 31},                     # Neon Genesis Evangelion -> The End of Evangelion / Death & Rebirth
    11757: {21881},                   # Sword Art Online -> Sword Art Online II
    269: {1686, 2889, 4835, 8247},    # Bleach -> its movies
}
NARUTO, SHIPPUUDEN = 20, 1735
SAILOR_MOON_SUPERS = 1239  # Bishoujo Senshi Sailor Moon SuperS


@pytest.fixture(scope="module")
def real():
    from animerec.common import datasets
    from animerec.pipelines.data import world_from_csv
    ratings, anime = datasets.find("ratings"), datasets.find("anime")
    if ratings is None or anime is None:
        pytest.skip("the real MAL data (data/mal or ../shared/datasets) is not here")
    world = world_from_csv(ratings, anime)
    s = from_params({"similar_synopsis": False})
    ctx = anime_anime.Context(world, user_anime.make_splits(world, s), s)
    return world, ctx


def test_franchise_detection_on_the_real_catalogue(real):
    world, ctx = real
    anime = world.anime.set_index("anime_id").reindex(ctx.index.anime_ids)
    m = franchise.franchise_matrix(anime["title"].fillna("").tolist(), ctx.genres)
    for anchor, related in FRANCHISE_CASES.items():
        a = ctx.index.items([anchor])[0]
        linked = set(ctx.index.anime_ids[m.indices[m.indptr[a]:m.indptr[a + 1]]])
        assert related & linked, f"{anchor} not linked to {related}"
    a = ctx.index.items([NARUTO])[0]
    naruto = set(ctx.index.anime_ids[m.indices[m.indptr[a]:m.indptr[a + 1]]])
    assert SHIPPUUDEN in naruto and SAILOR_MOON_SUPERS not in naruto


def test_blend_lists_pass_the_sanity_cases(real):
    world, ctx = real
    side = anime_anime.build_side(world, ctx.index, ctx.s)
    anchors = ctx.index.items([*FRANCHISE_CASES, NARUTO])
    assert (anchors >= 0).all()
    lists = anime_anime.publish_lists(ctx, side, "blend", TUNED_PARAMS, TUNED_WEIGHTS, 10, anchors=anchors)
    top = {a: list(g.sort_values("rank")["similar_id"]) for a, g in lists.groupby("anime_id")}
    for anchor, related in FRANCHISE_CASES.items():
        assert len(top[anchor]) == 10
        assert related & set(top[anchor]), f"{anchor}: none of {related} in the top 10 {top[anchor]}"
    # The served pairwise model opened Naruto's list with Sailor Moon SuperS.
    assert SAILOR_MOON_SUPERS not in top[NARUTO]
