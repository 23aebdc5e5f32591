"""The world the models learn from: anime, user-anime interactions and anime-anime pairs.

Three DataFrames with fixed columns, whichever the source (the processed tables, or a ratings CSV
plus an anime catalogue in the formats of the public MAL datasets):

- anime: anime_id, title, type, genres (list of str), score, members, main_pic, num_episodes,
  studios (list of str), synopsis (None: unknown), year (first aired; NaN: unknown)
- interactions: user_id, anime_id, score (NaN: unscored), status (None: unknown), ts (NaT: unknown)
- pairs: anime_a, anime_b, recommendation, num_recommenders, related
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

STATUSES = ("watching", "completed", "on_hold", "dropped", "plan_to_watch")
# The MAL 2020 dataset's watching_status codes (watching_status.csv).
MAL_STATUS_CODES = {1: "watching", 2: "completed", 3: "on_hold", 4: "dropped", 6: "plan_to_watch"}
ANIME_COLUMNS = ["anime_id", "title", "type", "genres", "score", "members", "main_pic", "num_episodes", "studios",
                 "synopsis", "year"]
INTERACTION_COLUMNS = ["user_id", "anime_id", "score", "status", "ts"]
PAIR_COLUMNS = ["anime_a", "anime_b", "recommendation", "num_recommenders", "related"]


class DatasetError(ValueError):
    """A dataset file cannot be read as the format it claims to be."""


@dataclass
class World:
    anime: pd.DataFrame
    interactions: pd.DataFrame
    pairs: pd.DataFrame = field(default_factory=lambda: empty_pairs())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.anime.to_parquet(folder / "anime.parquet", index=False)
        self.interactions.to_parquet(folder / "interactions.parquet", index=False)
        self.pairs.to_parquet(folder / "pairs.parquet", index=False)

    @classmethod
    def load(cls, folder: Path) -> World:
        return cls(anime=pd.read_parquet(folder / "anime.parquet"),
                   interactions=pd.read_parquet(folder / "interactions.parquet"),
                   pairs=pd.read_parquet(folder / "pairs.parquet"))


def empty_pairs() -> pd.DataFrame:
    return pd.DataFrame({"anime_a": pd.Series(dtype="int64"), "anime_b": pd.Series(dtype="int64"),
                         "recommendation": pd.Series(dtype=bool), "num_recommenders": pd.Series(dtype="float64"),
                         "related": pd.Series(dtype=bool)})


def normalise_interactions(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "user_id": df["user_id"].astype("int64"),
        "anime_id": df["anime_id"].astype("int64"),
        "score": pd.to_numeric(df.get("score"), errors="coerce").astype("float64")
        if "score" in df else np.nan,
        "status": df["status"].astype(object).where(df["status"].notna(), None) if "status" in df else None,
        "ts": pd.to_datetime(df["ts"], utc=True, errors="coerce") if "ts" in df
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]"),
    })
    out.loc[~out["score"].between(1, 10), "score"] = np.nan
    # One row per (user, anime): the latest one wins.
    return out.drop_duplicates(["user_id", "anime_id"], keep="last").reset_index(drop=True)


def normalise_anime(df: pd.DataFrame) -> pd.DataFrame:
    genres = df["genres"].map(_genre_list)
    return pd.DataFrame({
        "anime_id": df["anime_id"].astype("int64"),
        "title": df["title"].astype(str).map(html.unescape),
        "type": df["type"].astype(object).where(df["type"].notna(), None) if "type" in df else None,
        "genres": genres,
        "score": pd.to_numeric(df.get("score"), errors="coerce").astype("float64") if "score" in df else np.nan,
        "members": pd.to_numeric(df.get("members"), errors="coerce").astype("float64") if "members" in df else np.nan,
        "main_pic": df["main_pic"].astype(object).where(df["main_pic"].notna(), None) if "main_pic" in df else None,
        "num_episodes": pd.to_numeric(df.get("num_episodes"), errors="coerce").astype("float64")
        if "num_episodes" in df else np.nan,
        "studios": df["studios"].map(_genre_list) if "studios" in df else [[] for _ in range(len(df))],
        "synopsis": df["synopsis"].astype(object).where(df["synopsis"].notna(), None) if "synopsis" in df else None,
        "year": _year(df["year"]) if "year" in df else np.nan,
    }).drop_duplicates("anime_id", keep="last").reset_index(drop=True)


def _year(values: pd.Series) -> pd.Series:
    """A year from a number, a date or text such as "Apr 3, 1998 to Apr 24, 1999" / "Spring 1998"."""
    numeric = pd.to_numeric(values, errors="coerce")
    text = values.astype(str).str.extract(r"((?:19|20)\d\d)", expand=False)
    return numeric.where(numeric.between(1900, 2100), pd.to_numeric(text, errors="coerce")).astype("float64")


def _genre_list(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(g).strip() for g in value if str(g).strip()]
    return [g.strip() for g in str(value).split(",") if g.strip() and g.strip().lower() != "unknown"]


# --- CSV formats -----------------------------------------------------------------------------------

_ANIME_ALIASES = {
    "anime_id": ("anime_id", "mal_id"),
    "title": ("name", "title"),
    "genres": ("genre", "genres"),
    "type": ("type",),
    "num_episodes": ("episodes", "num_episodes"),
    "score": ("rating", "score"),
    "members": ("members", "members_count"),
    "main_pic": ("image_url", "main_pic"),
    "studios": ("studios", "studio"),
    "synopsis": ("synopsis",),
    "year": ("aired", "premiered", "start_date", "year"),
}


def read_anime_csv(path: Path) -> pd.DataFrame:
    """An anime catalogue: cooperunion anime.csv / anime_enriched.csv or MAL 2020 anime.csv."""
    raw = _read_csv(path)
    columns = {c.strip().lower().replace(" ", "_"): c for c in raw.columns}
    picked = {}
    for target, names in _ANIME_ALIASES.items():
        for name in names:
            if name in columns:
                picked[target] = raw[columns[name]]
                break
    missing = {"anime_id", "title"} - set(picked)
    if missing:
        raise DatasetError(f"{path}: not an anime catalogue (missing column(s) {', '.join(sorted(missing))}; "
                           f"has {', '.join(raw.columns)})")
    df = pd.DataFrame(picked)
    df["anime_id"] = pd.to_numeric(df["anime_id"], errors="coerce")
    bad = int(df["anime_id"].isna().sum())
    if bad:
        log.warning("anime rows without a numeric id skipped", extra={"rows": bad, "path": str(path)})
    df = df[df["anime_id"].notna()]
    for col in ("genres", "type"):
        if col not in df:
            df[col] = None
    return normalise_anime(df)


def read_ratings_csv(path: Path) -> pd.DataFrame:
    """User-anime ratings: cooperunion rating.csv (rating -1: watched, unscored), MAL 2020 animelist.csv
    (watching_status codes, rating 0: unscored) or rating_complete.csv; an optional timestamp column."""
    return _read_ratings(path, LoadReport())


def _read_ratings(path: Path, report: LoadReport) -> pd.DataFrame:
    raw = _read_csv(path)
    columns = {c.strip().lower(): c for c in raw.columns}
    missing = [c for c in ("user_id", "anime_id") if c not in columns]
    if missing:
        raise DatasetError(f"{path}: not a ratings file (missing column(s) {', '.join(missing)}; has "
                           f"{', '.join(map(str, raw.columns))}; expected user_id, anime_id and optionally "
                           "rating or score, watching_status or status, timestamp)")
    if raw.empty:
        raise DatasetError(f"{path}: no rating rows (only a header)")
    report.rows = len(raw)
    df = pd.DataFrame({"user_id": pd.to_numeric(raw[columns["user_id"]], errors="coerce"),
                       "anime_id": pd.to_numeric(raw[columns["anime_id"]], errors="coerce")})
    score_col = columns.get("rating") or columns.get("score")
    df["score"] = pd.to_numeric(raw[score_col], errors="coerce") if score_col else np.nan
    if "watching_status" in columns:
        codes = pd.to_numeric(raw[columns["watching_status"]], errors="coerce")
        df["status"] = codes.map(MAL_STATUS_CODES)
    elif "status" in columns:
        df["status"] = raw[columns["status"]].where(raw[columns["status"]].isin(STATUSES))
    for name in ("timestamp", "ts", "last_interaction_date", "date"):
        if name in columns:
            df["ts"] = raw[columns[name]]
            break
    bad = df["user_id"].isna() | df["anime_id"].isna()
    if bad.all():
        raise DatasetError(f"{path}: no row has numeric user_id and anime_id")
    report.bad_ids = int(bad.sum())
    if bad.any():
        log.warning("rating rows without numeric ids skipped", extra={"rows": report.bad_ids, "path": str(path)})
    df = df[~bad]
    report.duplicates = int(df.duplicated(["user_id", "anime_id"]).sum())
    return normalise_interactions(df)


@dataclass
class LoadReport:
    """What loading a ratings CSV against a catalogue dropped or merged, and what is left."""

    rows: int = 0                # data rows in the ratings file
    bad_ids: int = 0             # rows without a numeric user_id / anime_id: skipped
    duplicates: int = 0          # repeated (user_id, anime_id) rows: the last one kept
    unknown_anime: int = 0       # rows whose anime_id is not in the catalogue: dropped
    unknown_anime_ids: int = 0
    kept: int = 0
    users: int = 0
    anime: int = 0
    positives: int = 0

    def lines(self) -> list[str]:
        out = []
        if self.bad_ids:
            out.append(f"skipped {self.bad_ids} of {self.rows} rows without a numeric user_id and anime_id")
        if self.duplicates:
            out.append(f"merged {self.duplicates} duplicate (user_id, anime_id) rows (the last one kept)")
        if self.unknown_anime:
            out.append(f"dropped {self.unknown_anime} rows of {self.unknown_anime_ids} anime ids absent from the "
                       "catalogue")
        out.append(f"loaded {self.kept} interactions ({self.positives} positive) of {self.users} users "
                   f"on {self.anime} anime")
        return out


def load_csv_world(ratings: Path, anime: Path, min_score: int = 6) -> tuple[World, LoadReport]:
    """A ratings CSV + catalogue as a World, checked for what a recommender needs (clear errors, never
    a traceback): known anime, at least one positive (see split.positive_mask), at least two users
    with positives. Dropped and merged rows are counted in the report."""
    from .split import positive_mask

    report = LoadReport()
    catalogue = read_anime_csv(anime)
    inter = _read_ratings(ratings, report)
    known = inter["anime_id"].isin(catalogue["anime_id"])
    report.unknown_anime = int((~known).sum())
    report.unknown_anime_ids = int(inter.loc[~known, "anime_id"].nunique())
    if not known.any():
        raise DatasetError(f"{ratings}: none of its {inter['anime_id'].nunique()} anime ids is in the catalogue "
                           f"{anime} (is it the right catalogue?)")
    inter = inter[known].reset_index(drop=True)
    positive = positive_mask(inter, min_score)
    report.kept, report.positives = len(inter), int(positive.sum())
    report.users, report.anime = int(inter["user_id"].nunique()), int(inter["anime_id"].nunique())
    if not positive.any():
        raise DatasetError(f"{ratings}: no positive interaction (a positive is completed/watching or unknown "
                           f"status, scored >= {min_score} or unscored): nothing to learn from")
    with_positives = inter.loc[positive, "user_id"].nunique()
    if with_positives < 2:
        raise DatasetError(f"{ratings}: only {with_positives} user has positive interactions; collaborative "
                           "models need at least 2 users (and held-out items to evaluate)")
    return World(anime=catalogue, interactions=inter), report


def _read_csv(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        return pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"{path}: cannot be read as CSV: {exc}") from None


def world_from_csv(ratings: Path, anime: Path) -> World:
    catalogue = read_anime_csv(anime)
    interactions = read_ratings_csv(ratings)
    known = interactions["anime_id"].isin(catalogue["anime_id"])
    if not known.all():
        log.warning("ratings of anime missing from the catalogue dropped", extra={"rows": int((~known).sum())})
    return World(anime=catalogue, interactions=interactions[known].reset_index(drop=True))


# --- PostgreSQL (processed tables) -----------------------------------------------------------------

def world_from_postgres(url: str) -> World:
    from animerec.common import db
    from animerec.pipelines.feedback_data import apply_feedback, load_feedback

    with db.connect(url) as conn:
        anime = _frame(conn, """SELECT anime_id, title, type, genres, score::float8 AS score,
                                       members_count::float8 AS members, main_pic,
                                       num_episodes::float8 AS num_episodes, studios, synopsis,
                                       extract(year FROM start_date)::float8 AS year
                                FROM processed.anime ORDER BY anime_id""", ANIME_COLUMNS)
        inter = _frame(conn, """SELECT user_id, anime_id, score::float8 AS score, status,
                                       last_interaction_date AS ts
                                FROM processed.user_anime""", INTERACTION_COLUMNS)
        pairs = _frame(conn, """SELECT anime_a, anime_b, recommendation,
                                       num_recommenders::float8 AS num_recommenders, related
                                FROM processed.anime_anime""", PAIR_COLUMNS)
        feedback = load_feedback(conn)
    anime = normalise_anime(anime)
    # Verified feedback overrides the list: likes train as positives, "not for me" as negatives.
    inter = apply_feedback(normalise_interactions(inter), feedback)
    inter = inter[inter["anime_id"].isin(anime["anime_id"])].reset_index(drop=True)
    if len(pairs):
        pairs = pairs.astype({"anime_a": "int64", "anime_b": "int64", "recommendation": bool, "related": bool,
                              "num_recommenders": "float64"})
    else:
        pairs = empty_pairs()
    return World(anime=anime, interactions=inter, pairs=pairs)


def _frame(conn, sql: str, columns: list[str]) -> pd.DataFrame:
    cur = conn.execute(sql)
    return pd.DataFrame(cur.fetchall(), columns=columns)


@dataclass
class ImportReport:
    anime: int
    users: int
    interactions: int
    skipped_unknown_anime: int


def import_to_postgres(url: str, ratings: Path, anime: Path, *, replace: bool = False) -> ImportReport:
    """Load a ratings CSV and a catalogue into the processed tables (upserts; `replace` empties them first).

    Users are named `user<id>` and get their ids from staging.user_ids, like crawled profiles do.
    """
    catalogue = read_anime_csv(anime)
    inter = read_ratings_csv(ratings)
    known = inter["anime_id"].isin(catalogue["anime_id"])
    report = store_world(url, World(anime=catalogue, interactions=inter[known]), replace=replace)
    report.skipped_unknown_anime = int((~known).sum())
    return report


def store_world(url: str, world: World, *, replace: bool = False) -> ImportReport:
    """Write a world into the processed tables; its user ids become names `user<id>`."""
    from animerec.common import db

    catalogue, inter = world.anime, world.interactions
    names = sorted({f"user{u}" for u in inter["user_id"].unique()})
    with db.connect(url) as conn, conn.transaction():
        if replace:
            conn.execute("TRUNCATE processed.user_anime, processed.anime, processed.\"user\", "
                         "processed.anime_anime, processed.user_user")
        _copy(conn, "tmp_anime", "anime_id integer, title text, type text, genres text[], score numeric(4,2), "
              "members_count integer, main_pic text, num_episodes integer",
              [(int(r.anime_id), r.title, r.type, list(r.genres), _num(r.score, 2), _int(r.members),
                r.main_pic, _int(r.num_episodes)) for r in catalogue.itertuples()])
        conn.execute("""INSERT INTO processed.anime (anime_id, anime_url, title, type, genres, score, members_count,
                                                     main_pic, num_episodes)
                        SELECT anime_id, 'https://myanimelist.net/anime/' || anime_id, title, type, genres, score,
                               members_count, main_pic, num_episodes FROM tmp_anime
                        ON CONFLICT (anime_id) DO UPDATE SET title = EXCLUDED.title, type = EXCLUDED.type,
                            genres = EXCLUDED.genres, score = EXCLUDED.score, members_count = EXCLUDED.members_count,
                            main_pic = COALESCE(EXCLUDED.main_pic, processed.anime.main_pic),
                            num_episodes = EXCLUDED.num_episodes, updated_at = now()""")
        _copy(conn, "tmp_names", "user_name text", [(n,) for n in names])
        conn.execute("INSERT INTO staging.user_ids (user_name) SELECT user_name FROM tmp_names "
                     "ON CONFLICT (user_name) DO NOTHING")
        ids = dict(conn.execute("SELECT u.user_name, u.user_id FROM staging.user_ids u "
                                "JOIN tmp_names USING (user_name)").fetchall())
        conn.execute("""INSERT INTO processed."user" (user_id, user_name, user_url)
                        SELECT u.user_id, u.user_name, 'https://myanimelist.net/profile/' || u.user_name
                        FROM staging.user_ids u JOIN tmp_names USING (user_name)
                        ON CONFLICT (user_id) DO NOTHING""")
        user_map = {int(name.removeprefix("user")): uid for name, uid in ids.items()}
        rows = [(user_map[int(r.user_id)], int(r.anime_id), _int(r.score), r.status,
                 None if pd.isna(r.ts) else r.ts.to_pydatetime()) for r in inter.itertuples()]
        _copy(conn, "tmp_ua", "user_id bigint, anime_id integer, score smallint, status text, "
              "last_interaction_date timestamptz", rows)
        conn.execute("""INSERT INTO processed.user_anime (user_id, anime_id, score, status, last_interaction_date)
                        SELECT user_id, anime_id, score, status, last_interaction_date FROM tmp_ua
                        ON CONFLICT (user_id, anime_id) DO UPDATE SET score = EXCLUDED.score,
                            status = EXCLUDED.status, last_interaction_date = EXCLUDED.last_interaction_date""")
        pairs = world.pairs
        if len(pairs):
            _copy(conn, "tmp_pairs", "anime_a integer, anime_b integer, recommendation boolean, "
                  "num_recommenders integer, related boolean",
                  [(int(r.anime_a), int(r.anime_b), bool(r.recommendation), _int(r.num_recommenders), bool(r.related))
                   for r in pairs.itertuples()])
            conn.execute("""INSERT INTO processed.anime_anime (anime_a, anime_b, recommendation, num_recommenders,
                                                               related)
                            SELECT anime_a, anime_b, recommendation, num_recommenders, related FROM tmp_pairs
                            WHERE anime_a <> anime_b
                            ON CONFLICT (anime_a, anime_b) DO UPDATE SET recommendation = EXCLUDED.recommendation,
                                num_recommenders = EXCLUDED.num_recommenders, related = EXCLUDED.related""")
    return ImportReport(anime=len(catalogue), users=len(names), interactions=len(rows), skipped_unknown_anime=0)


def _copy(conn, table: str, columns: str, rows: list[tuple]) -> None:
    conn.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _num(value, digits: int) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)
