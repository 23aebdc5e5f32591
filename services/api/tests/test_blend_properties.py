"""Property tests of the cold-start blend: any similarity range (the anime-anime model's scores run from -3 to
+3), any overlap between seeds' lists, any exclusions; it must never raise and must rank by summed score."""

from hypothesis import given, settings
from hypothesis import strategies as st

from animerec.api import coldstart

ids = st.integers(min_value=1, max_value=40)
scores = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)
seeds = st.lists(st.tuples(ids, st.floats(min_value=0.0, max_value=1.0, allow_nan=False)), max_size=8,
                 unique_by=lambda s: s[0])
similar = st.dictionaries(ids, st.lists(st.tuples(ids, scores), max_size=15, unique_by=lambda p: p[0]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(seeds, similar, st.sets(ids, max_size=10))
def test_blend_ranks_every_candidate_by_its_summed_score(seed_list, sims, exclude):
    out = coldstart.blend(seed_list, sims, exclude)
    expected: dict[int, float] = {}
    pulled: dict[int, set[int]] = {}
    for seed, weight in seed_list:
        for anime_id, sim in sims.get(seed, []):
            if anime_id not in exclude:
                expected[anime_id] = expected.get(anime_id, 0.0) + sim * weight
                pulled.setdefault(anime_id, set()).add(seed)
    assert {a for a, _, _ in out} == set(expected)
    assert not {a for a, _, _ in out} & exclude
    totals = [s for _, s, _ in out]
    assert totals == sorted(totals, reverse=True)
    for anime_id, score, seed in out:
        assert abs(score - expected[anime_id]) < 1e-9
        assert seed in pulled[anime_id]  # the reason names a seed that really pulled the anime in
        best = max(sim * w for s, w in seed_list for a, sim in sims.get(s, []) if a == anime_id and s == seed)
        assert best == max(sim * w for s, w in seed_list for a, sim in sims.get(s, []) if a == anime_id)


def test_negative_similarities_do_not_raise():
    # The reported crash: every similarity below -1 left the "best seed" unset (KeyError).
    out = coldstart.blend([(1, 0.9)], {1: [(2, -3.0), (3, -2.5)]}, set())
    assert out == [(3, -2.25, 1), (2, -2.7, 1)]
