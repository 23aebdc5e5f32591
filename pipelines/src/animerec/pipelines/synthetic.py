"""Generated worlds for tests and benchmarks (real datasets are too small for scale, too big for tests).

Anime belong to latent taste clusters that also decide their genres; each user prefers a few
clusters; interactions are drawn from the preferred clusters with a popularity skew, so a
personalised model has something to find beyond popularity. Sequels (related pairs) and MAL-style
recommendations link anime of the same cluster. Everything is vectorised: 500k users in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import World, normalise_anime, normalise_interactions

GENRES = ["Action", "Adventure", "Comedy", "Drama", "Fantasy", "Horror", "Mecha", "Music", "Mystery", "Psychological",
          "Romance", "School", "Sci-Fi", "Slice of Life", "Sports", "Supernatural", "Thriller", "Historical"]
TYPES = ["TV", "Movie", "OVA", "ONA", "Special", "Music"]


def world(n_users: int, n_anime: int, *, mean_interactions: float = 20.0, clusters: int = 12, dated: bool = True,
          seed: int = 0, first_anime_id: int = 1, first_user_id: int = 1) -> World:
    rng = np.random.default_rng(seed)
    anime_ids = np.arange(first_anime_id, first_anime_id + n_anime, dtype="int64")
    cluster = rng.integers(0, clusters, n_anime)
    popularity = rng.pareto(1.2, n_anime) + 1.0
    cluster_genres = [rng.choice(len(GENRES), size=3, replace=False) for _ in range(clusters)]
    genres = [[GENRES[g] for g in cluster_genres[c][: rng.integers(1, 4)]] +
              ([GENRES[rng.integers(len(GENRES))]] if rng.random() < 0.3 else []) for c in cluster]
    types = rng.choice(TYPES, n_anime, p=[0.5, 0.15, 0.12, 0.1, 0.08, 0.05])
    anime = normalise_anime(pd.DataFrame({
        "anime_id": anime_ids, "title": [f"Anime {i}" for i in anime_ids], "type": types,
        "genres": [sorted(set(g)) for g in genres], "score": np.round(rng.uniform(5.5, 9.2, n_anime), 2),
        "members": (popularity * 1000).astype("int64"), "main_pic": [f"https://cdn.example/{i}.jpg" for i in anime_ids],
        "num_episodes": rng.integers(1, 50, n_anime),
    }))

    # Users: a main cluster (80% of picks) and a second one.
    counts = np.maximum(1, rng.poisson(mean_interactions, n_users))
    total = int(counts.sum())
    user_pos = np.repeat(np.arange(n_users), counts)
    main, second = rng.integers(0, clusters, n_users), rng.integers(0, clusters, n_users)
    chosen_cluster = np.where(rng.random(total) < 0.8, main[user_pos], second[user_pos])
    order = np.argsort(cluster, kind="stable")
    sorted_clusters = cluster[order]
    starts = np.searchsorted(sorted_clusters, np.arange(clusters))
    ends = np.searchsorted(sorted_clusters, np.arange(clusters), side="right")
    # Popularity-weighted pick inside the cluster via per-cluster cumulative weights.
    weights = popularity[order]
    cum = np.cumsum(weights)
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    lo, hi = base[chosen_cluster], cum[np.maximum(ends[chosen_cluster] - 1, 0)]
    empty = ends[chosen_cluster] == starts[chosen_cluster]
    pick = np.searchsorted(cum, lo + rng.random(total) * (hi - lo), side="right")
    pick = np.clip(pick, starts[chosen_cluster], np.maximum(ends[chosen_cluster] - 1, 0))
    item_pos = np.where(empty, rng.integers(0, n_anime, total), order[pick])
    status = rng.choice(["completed", "watching", "plan_to_watch", "dropped", "on_hold"], total,
                        p=[0.7, 0.1, 0.1, 0.05, 0.05])
    affinity = (cluster[item_pos] == main[user_pos]).astype(float)
    score = np.clip(np.rint(rng.normal(6.5 + 1.5 * affinity, 1.2)), 1, 10)
    score = np.where((status == "plan_to_watch") | (rng.random(total) < 0.15), np.nan, score)
    ts = (pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, total), unit="s")
          if dated else pd.NaT)
    inter = normalise_interactions(pd.DataFrame({
        "user_id": user_pos.astype("int64") + first_user_id, "anime_id": anime_ids[item_pos], "score": score,
        "status": status, "ts": ts}))

    # Related (sequels) and recommendations: pairs inside a cluster.
    n_pairs = max(1, n_anime // 2)
    a = rng.integers(0, n_anime, n_pairs)
    size = ends[cluster[a]] - starts[cluster[a]]
    b = order[starts[cluster[a]] + (rng.random(n_pairs) * size).astype("int64")]
    keep = a != b
    pairs = pd.DataFrame({"anime_a": anime_ids[a[keep]], "anime_b": anime_ids[b[keep]],
                          "recommendation": rng.random(keep.sum()) < 0.7,
                          "num_recommenders": rng.integers(1, 30, keep.sum()).astype("float64"),
                          "related": rng.random(keep.sum()) < 0.3})
    pairs = pairs.drop_duplicates(["anime_a", "anime_b"]).reset_index(drop=True)
    return World(anime=anime, interactions=inter, pairs=pairs)
