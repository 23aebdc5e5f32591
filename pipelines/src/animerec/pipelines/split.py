"""Per-user hold-out: a user's most recent interactions when every one of them has a date,
otherwise a seeded random share of them. Users with a single interaction stay in training."""

from __future__ import annotations

import numpy as np
import pandas as pd

NOT_POSITIVE_STATUSES = ("dropped", "plan_to_watch", "on_hold")


def positive_mask(inter: pd.DataFrame, min_score: int) -> np.ndarray:
    """Completed or watching (or status unknown) and, when scored, scored at least `min_score`."""
    status_ok = ~inter["status"].isin(NOT_POSITIVE_STATUSES).to_numpy()
    score = inter["score"].to_numpy(dtype="float64")
    score_ok = np.isnan(score) | (score >= min_score)
    return status_ok & score_ok


def split_per_user(inter: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test); test holds max(1, round(fraction * n)) of each user's n >= 2 interactions."""
    if inter.empty:
        return inter.copy(), inter.copy()
    rng = np.random.default_rng(seed)
    df = inter.reset_index(drop=True).assign(_r=rng.random(len(inter)))
    dated = df["ts"].notna().groupby(df["user_id"]).transform("all")
    # Most recent first for fully dated users; random order for the others.
    ts = pd.to_datetime(df["ts"], utc=True).to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
    df["_key"] = np.where(dated.to_numpy(), -ts, df["_r"].to_numpy())
    df = df.sort_values(["user_id", "_key", "_r"], kind="stable")
    rank = df.groupby("user_id").cumcount().to_numpy()
    n = df.groupby("user_id")["anime_id"].transform("size").to_numpy()
    hold = np.where(n >= 2, np.clip(np.rint(fraction * n), 1, n - 1), 0)
    test = rank < hold
    df = df.drop(columns=["_r", "_key"])
    return df[~test].sort_index().reset_index(drop=True), df[test].sort_index().reset_index(drop=True)
