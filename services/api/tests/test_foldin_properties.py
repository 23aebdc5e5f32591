"""Property tests of fold-in scoring against a plain-Python reference: random lists, weights (negative ones
included), overlaps between neighbour lists and exclusions."""

from hypothesis import given, settings
from hypothesis import strategies as st

from animerec.api import foldin

ids = st.integers(min_value=1, max_value=60)
sims = st.floats(min_value=-1, max_value=1, allow_nan=False, allow_infinity=False)
neighbours = st.dictionaries(ids, st.lists(st.tuples(ids, sims), max_size=12, unique_by=lambda p: p[0]), max_size=25)
weights = st.dictionaries(ids, st.floats(min_value=-1, max_value=2, allow_nan=False).filter(lambda w: w != 0),
                          max_size=15)


def reference(w, nb, exclude):
    totals, contribs = {}, {}
    for seed, weight in w.items():
        for anime_id, sim in nb.get(seed, []):
            if anime_id in exclude:
                continue
            totals[anime_id] = totals.get(anime_id, 0.0) + weight * sim
            contribs.setdefault(anime_id, []).append((weight * sim, seed))
    return {a: t for a, t in totals.items() if t > 1e-9}, contribs


@settings(max_examples=300, deadline=None)
@given(weights, neighbours, st.sets(ids, max_size=10), st.integers(min_value=1, max_value=30))
def test_fold_in_scores_match_the_reference(w, nb, exclude, n):
    as_lists = {a: ([x for x, _ in p], [y for _, y in p]) for a, p in nb.items()}
    out = foldin.score(w, as_lists, exclude, n)
    totals, contribs = reference(w, nb, exclude)
    best = sorted(totals.values(), reverse=True)[:n]
    got = [s for _, s, _ in out]
    assert len(got) == len(best) and all(abs(a - b) < 1e-9 for a, b in zip(got, best, strict=True))
    assert got == sorted(got, reverse=True) and len({a for a, _, _ in out}) == len(out)
    for anime_id, total, seed in out:
        assert anime_id not in exclude and abs(totals[anime_id] - total) < 1e-9
        top = max(c for c, _ in contribs[anime_id])
        assert any(s == seed and abs(c - top) < 1e-12 for c, s in contribs[anime_id])  # the reason pulled most


def test_seed_weights():
    entries = [[1, "completed", 10, None], [2, "completed", 1, None], [3, "dropped", None, None],
               [4, "plan_to_watch", None, None], [5, "completed", None, None], [6, "watching", True, None]]
    w = foldin.seed_weights(entries, liked=[2, 7])
    assert w[1] == 1.0 and w[3] < 0 < w[4] < w[5] and w[6] == 0.8
    assert w[2] == foldin.LIKE_WEIGHT and w[7] == foldin.LIKE_WEIGHT  # a like overrides a low score
