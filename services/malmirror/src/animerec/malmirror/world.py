"""A world of anime and users for the offline MyAnimeList mirror, held in memory as numpy arrays.

Two ways to build one:
- `from_datasets(dir=None)`: the real 2021 catalogue (synopsis, studios, dates; the 2016 one for
  the ids it lacks) and the complete lists of 5,000 real users, from the repo's data/ folder by
  default (see animerec.common.datasets); user <id> becomes `user<id>`. What the data lacks
  (friendships, reviews, recommendations, relations, list dates) is generated from the seed.
- `generate(users, anime, seed)`: any size. Popularity follows a power law, users prefer a few
  genre clusters (so there is a signal to learn), list sizes are log-normal, friendships form
  a preferential-attachment graph, sequels chain within a cluster.

User activity times are stored as seconds *before now* and turned into dates when a page is
served, so "Now", "5 minutes ago" and "Yesterday, ..." appear on profiles as on the real site.
Everything a page needs is precomputed or derived from these arrays: no disk access per request.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from animerec.common import datasets

STATUS_CODES = {1: "watching", 2: "completed", 3: "on_hold", 4: "dropped", 6: "plan_to_watch"}
STATUS_ORDER = (1, 2, 3, 4, 6)
GENRES = ("Action", "Adventure", "Comedy", "Drama", "Fantasy", "Romance", "Sci-Fi", "Slice of Life", "Sports",
          "Supernatural", "Mystery", "Horror", "Psychological", "Suspense", "Ecchi", "Award Winning")
THEMES = ("School", "Mecha", "Music", "Military", "Historical", "Isekai", "Space", "Super Power", "Martial Arts",
          "Samurai", "Parody", "Idols (Female)", "Video Game", "Time Travel")
DEMOGRAPHICS = ("Shounen", "Seinen", "Shoujo", "Josei", "Kids")
TYPES = ("TV", "TV", "TV", "Movie", "OVA", "ONA", "Special", "Music")
SOURCES = ("Manga", "Original", "Light novel", "Visual novel", "Novel", "Web manga", "Game", "4-koma manga")
STUDIOS = ("Sunrise", "Bones", "Madhouse", "Production I.G", "Kyoto Animation", "MAPPA", "Toei Animation",
           "Studio Pierrot", "A-1 Pictures", "Shaft", "Wit Studio", "J.C.Staff", "Studio Deen", "OLM",
           "TMS Entertainment")
SYLLABLES = ("ka", "shi", "to", "na", "mi", "ra", "ko", "yu", "ki", "ha", "no", "se", "ri", "ta", "mo", "su", "hi",
             "sa", "ne", "ro", "tsu", "ya", "ku", "chi", "ma", "re", "gin", "ten", "kai", "sora")
EP_MINUTES = 24
DAY = 86400


@dataclass
class Anime:
    anime_id: int
    title: str
    type: str | None
    episodes: int | None
    status: str
    start: dt.date | None
    end: dt.date | None
    genres: tuple[str, ...]
    themes: tuple[str, ...]
    demographics: tuple[str, ...]
    studios: tuple[str, ...]
    source: str | None
    synopsis: str
    pic: str
    cluster: int


@dataclass
class World:
    """All anime and users. Index arrays by position (anime index, user index), not MAL id."""

    seed: int
    anime: list[Anime]
    user_names: list[str]
    user_ids: np.ndarray              # MAL user id (int64) per user
    joined_ago: np.ndarray            # seconds before now (int64)
    last_online_ago: np.ndarray       # seconds before now (int64)
    private: np.ndarray               # bool: list restricted by the owner
    # animelist entries, CSR by user
    u_off: np.ndarray                 # int64 [users + 1]
    e_anime: np.ndarray               # int32 anime index
    e_status: np.ndarray              # int8 MAL status code
    e_score: np.ndarray               # int8 0 = not scored
    e_progress: np.ndarray            # int16 episodes watched
    e_updated_ago: np.ndarray         # int64 seconds before now
    # friendships, CSR by user (both directions stored)
    f_off: np.ndarray
    f_user: np.ndarray
    f_since_ago: np.ndarray
    # relations between anime (index -> [(relation, index)]), both directions
    related: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    # derived in finish()
    index_of: dict[int, int] = field(default_factory=dict)
    user_index: dict[str, int] = field(default_factory=dict)
    a_off: np.ndarray | None = None   # entries CSR by anime
    a_entry: np.ndarray | None = None
    status_counts: np.ndarray | None = None   # [anime, 5] in STATUS_ORDER
    score_hist: np.ndarray | None = None      # [anime, 10] votes for 1..10
    score: np.ndarray | None = None           # float mean score, nan if unscored
    score_rank: np.ndarray | None = None      # 1-based, 0 = unranked
    popularity_rank: np.ndarray | None = None
    favorites: np.ndarray | None = None
    ranking: np.ndarray | None = None         # anime indices, best score first (ranked only)
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def n_users(self) -> int:
        return len(self.user_names)

    @property
    def n_anime(self) -> int:
        return len(self.anime)

    def finish(self) -> World:
        """Indexes and per-anime aggregates (members, stats, score, ranks) from the entries."""
        n = self.n_anime
        self.index_of = {a.anime_id: i for i, a in enumerate(self.anime)}
        self.user_index = {name: i for i, name in enumerate(self.user_names)}
        order = np.argsort(self.e_anime, kind="stable")
        self.a_entry = order.astype(np.int64)
        self.a_off = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.e_anime, minlength=n), out=self.a_off[1:])
        status_col = {code: i for i, code in enumerate(STATUS_ORDER)}
        col = np.array([status_col.get(int(s), 1) for s in range(7)], dtype=np.int64)[self.e_status]
        self.status_counts = np.bincount(self.e_anime.astype(np.int64) * 5 + col, minlength=n * 5).reshape(n, 5)
        scored = self.e_score > 0
        self.score_hist = np.bincount(self.e_anime[scored].astype(np.int64) * 10 + self.e_score[scored] - 1,
                                      minlength=n * 10).reshape(n, 10)
        votes = self.score_hist.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.score = np.where(votes > 0, (self.score_hist * np.arange(1, 11)).sum(axis=1) / np.maximum(votes, 1),
                                  np.nan)
        members = self.status_counts.sum(axis=1)
        ranked = np.flatnonzero(votes >= 3)
        self.ranking = ranked[np.lexsort((ranked, -np.nan_to_num(self.score[ranked])))]
        self.score_rank = np.zeros(n, dtype=np.int64)
        self.score_rank[self.ranking] = np.arange(1, len(self.ranking) + 1)
        self.popularity_rank = np.empty(n, dtype=np.int64)
        self.popularity_rank[np.lexsort((np.arange(n), -members))] = np.arange(1, n + 1)
        # users favourite a few of their 10-scored anime
        tens = np.bincount(self.e_anime[self.e_score == 10], minlength=n)
        self.favorites = tens // 4
        return self

    # ---- accessors used by the pages
    def members(self, ai: int) -> int:
        return int(self.status_counts[ai].sum())

    def entries(self, ui: int) -> range:
        return range(int(self.u_off[ui]), int(self.u_off[ui + 1]))

    def anime_users(self, ai: int) -> np.ndarray:
        """Entry indices of everyone who has anime `ai` on their list."""
        return self.a_entry[self.a_off[ai]:self.a_off[ai + 1]]

    def entry_user(self, entries: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.u_off, entries, side="right") - 1

    def friends(self, ui: int) -> range:
        return range(int(self.f_off[ui]), int(self.f_off[ui + 1]))

    def favorite_anime(self, ui: int) -> list[int]:
        """Up to 5 anime the user scored 10, most recent first."""
        span = self.entries(ui)
        tens = [i for i in span if self.e_score[i] == 10]
        tens.sort(key=lambda i: self.e_updated_ago[i])
        return [int(self.e_anime[i]) for i in tens[:5]]

    def memo(self, key: tuple, make):
        """Lazily derived content (reviews, recommendations) cached per anime, bounded in size."""
        try:
            return self._memo[key]
        except KeyError:
            if len(self._memo) > 20000:
                self._memo.clear()
            value = self._memo[key] = make()
            return value

    def rng(self, *key: int | str) -> np.random.Generator:
        """A generator fixed by the world seed and a key (per anime, per user): lazily derived
        content (reviews, recommendations, pictures, clubs) is identical on every request."""
        words = [self.seed] + [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in key]
        return np.random.default_rng(words)

    def user_clubs(self, ui: int) -> list[int]:
        rng = self.rng("clubs", ui)
        return sorted({int(c) for c in rng.integers(1, 5000, size=int(rng.integers(0, 4)))})


# ---------------------------------------------------------------------------------------- generate
def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))).capitalize() for _ in range(n))


def _catalogue(seed: int, n: int, n_clusters: int) -> list[Anime]:
    rng = random.Random(seed)  # per-title scalar draws: the stdlib generator is ~10x faster than numpy's here
    out = []
    today = dt.date(2025, 1, 1)
    for i in range(n):
        cluster = i % n_clusters
        a_type = rng.choice(TYPES)
        episodes = 1 if a_type in ("Movie", "Music") else rng.choice((1, 2, 6, 12, 13, 24, 26, 50, 64))
        start = today - dt.timedelta(days=rng.randint(30, 40 * 365))
        airing = rng.random() < 0.04
        end = None if airing or episodes == 1 else start + dt.timedelta(days=7 * episodes)
        genre = GENRES[cluster % len(GENRES)]
        extra = tuple(g for g in rng.sample(GENRES, rng.randint(0, 2)) if g != genre)
        title = _words(rng, rng.randint(1, 3))
        out.append(Anime(
            anime_id=i + 1, title=title, type=a_type, episodes=None if airing and rng.random() < 0.5 else episodes,
            status="Currently Airing" if airing else "Finished Airing", start=start, end=end,
            genres=(genre, *extra), themes=tuple(rng.sample(THEMES, rng.randint(0, 2))),
            demographics=(DEMOGRAPHICS[cluster % len(DEMOGRAPHICS)],) if rng.random() < 0.7 else (),
            studios=(rng.choice(STUDIOS),), source=rng.choice(SOURCES),
            synopsis=f"{title} follows {_words(rng, 2)} through a story of {genre.lower()}.",
            pic=f"https://cdn.myanimelist.net/images/anime/{1 + i % 1500}/{10000 + i}.jpg", cluster=cluster))
    return out


def _entries(rng, n_users: int, n_anime: int, clusters: np.ndarray, quality: np.ndarray, pop: np.ndarray,
             sizes: np.ndarray):
    """Sample every user's list at once. Candidates come from the user's two preferred clusters
    (60% for small lists, less for big ones: heavy users roam wider) or by global popularity;
    extra candidates are drawn, duplicates dropped and a random `size` of them kept."""
    n_clusters = int(clusters.max()) + 1
    prefs = rng.integers(0, n_clusters, size=(n_users, 2))
    p_pref = 0.6 * np.clip((60.0 / sizes) ** 0.3, 0.3, 1.0)
    # heavy users need more candidates: their picks collide more often
    draws = np.ceil(sizes * (1.3 + 1.7 * np.minimum(1.0, sizes / 300.0))).astype(np.int64)
    owner = np.repeat(np.arange(n_users, dtype=np.int64), draws)
    total = len(owner)
    picked = np.empty(total, dtype=np.int64)
    from_pref = rng.random(total) < p_pref[owner]
    cluster = prefs[owner, rng.integers(0, 2, size=total)]
    global_cum = np.cumsum(pop) / pop.sum()
    glob = ~from_pref
    picked[glob] = np.minimum(np.searchsorted(global_cum, rng.random(int(glob.sum()))), n_anime - 1)
    for c in range(n_clusters):
        members = np.flatnonzero(clusters == c)
        sel = np.flatnonzero(from_pref & (cluster == c))
        if len(sel) == 0 or len(members) == 0:
            continue
        cum = np.cumsum(pop[members]) / pop[members].sum()
        picked[sel] = members[np.minimum(np.searchsorted(cum, rng.random(len(sel))), len(members) - 1)]
    # one entry per (user, anime); sort + compare beats np.unique's hashing on millions of keys
    key = np.sort(owner * n_anime + picked)
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    owner, picked = key // n_anime, key % n_anime
    # keep a random `sizes[u]` of each user's distinct candidates
    order = np.argsort((owner << 21) | rng.integers(0, 1 << 21, size=len(key)))
    starts = np.searchsorted(owner[order], np.arange(n_users))
    rank = np.arange(len(order)) - starts[owner[order]]
    kept = np.sort(order[rank < sizes[owner[order]]])
    owner, picked = owner[kept], picked[kept]
    match = (clusters[picked] == prefs[owner, 0]) | (clusters[picked] == prefs[owner, 1])
    return owner, picked, match


def generate(users: int, anime: int | None = None, seed: int = 7) -> World:
    """A synthetic world of `users` users and `anime` anime (default: users // 5, at least 50)."""
    rng = np.random.default_rng(seed)
    n_anime = int(anime or max(50, users // 5))
    n_clusters = min(16, max(2, n_anime // 10))
    catalogue = _catalogue(seed, n_anime, n_clusters)
    clusters = np.array([a.cluster for a in catalogue], dtype=np.int64)
    quality = np.clip(rng.normal(7.0, 0.9, size=n_anime), 2.0, 9.6)
    # power-law popularity by a random rank, nudged up for good shows
    pop = (1.0 / (1.0 + rng.permutation(n_anime)) ** 1.1) * np.exp(0.4 * (quality - 7))
    sizes = np.clip(rng.lognormal(np.log(35), 1.0, size=users), 1, min(2000, n_anime)).astype(np.int64)
    owner, picked, match = _entries(rng, users, n_anime, clusters, quality, pop, sizes)
    total = len(owner)
    bias = rng.normal(0, 0.8, size=users)
    raw = quality[picked] + bias[owner] + np.where(match, 0.6, -0.4) + rng.normal(0, 0.9, size=total)
    status = rng.choice(np.array([2, 6, 1, 4, 3], dtype=np.int8), p=[0.62, 0.18, 0.08, 0.07, 0.05], size=total)
    status = np.where((raw < 5.0) & (rng.random(total) < 0.5), np.int8(4), status).astype(np.int8)
    score = np.clip(np.rint(raw), 1, 10).astype(np.int8)
    score[(status == 6) | (rng.random(total) < 0.2)] = 0
    episodes = np.array([a.episodes or 12 for a in catalogue], dtype=np.int64)[picked]
    progress = np.where(status == 2, episodes, np.where(status == 6, 0, rng.integers(0, episodes + 1)))
    joined_ago = rng.integers(30 * DAY, 12 * 365 * DAY, size=users)
    last_online_ago = _last_online(rng, users)
    updated_ago = last_online_ago[owner] + (rng.random(total) * (joined_ago[owner] - last_online_ago[owner])
                                            .clip(min=0) * rng.random(total)).astype(np.int64)
    u_off = np.zeros(users + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=users), out=u_off[1:])
    f_off, f_user, f_since = _friendships(rng, users, joined_ago)
    world = World(
        seed=seed, anime=catalogue, user_names=[f"user{i + 1}" for i in range(users)],
        user_ids=np.arange(1, users + 1, dtype=np.int64), joined_ago=joined_ago, last_online_ago=last_online_ago,
        private=rng.random(users) < 0.03, u_off=u_off, e_anime=picked.astype(np.int32), e_status=status,
        e_score=score, e_progress=progress.astype(np.int16), e_updated_ago=updated_ago,
        f_off=f_off, f_user=f_user, f_since_ago=f_since, related=_chains(rng, catalogue))
    return world.finish()


def _last_online(rng, users: int) -> np.ndarray:
    """A mix of every 'last online' form MAL prints: now, minutes, hours, yesterday, this year, older."""
    kind = rng.choice(6, p=[0.05, 0.15, 0.2, 0.15, 0.3, 0.15], size=users)
    spans = np.array([[0, 30], [60, 3000], [3600, 20 * 3600], [DAY, 2 * DAY], [2 * DAY, 200 * DAY],
                      [200 * DAY, 1500 * DAY]])
    low, high = spans[kind, 0], spans[kind, 1]
    return (low + rng.random(users) * (high - low)).astype(np.int64)


def _friendships(rng, users: int, joined_ago: np.ndarray):
    """Preferential attachment: each user befriends ~2 earlier users, popular ones more often."""
    if users < 2:
        return np.zeros(users + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    k = rng.poisson(2.0, size=users)
    src = np.repeat(np.arange(users), k)
    # picking a uniform earlier position of a growing edge list approximates degree-proportional choice
    dst = (rng.random(len(src)) ** 2 * np.maximum(src, 1)).astype(np.int64)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    pairs = np.unique(np.minimum(src, dst) * users + np.maximum(src, dst))
    a, b = pairs // users, pairs % users
    since = (np.minimum(joined_ago[a], joined_ago[b]) * rng.random(len(a))).astype(np.int64)
    both_src = np.concatenate([a, b])
    both_dst = np.concatenate([b, a])
    both_since = np.concatenate([since, since])
    order = np.lexsort((both_since, both_src))
    f_off = np.zeros(users + 1, dtype=np.int64)
    np.cumsum(np.bincount(both_src, minlength=users), out=f_off[1:])
    return f_off, both_dst[order].astype(np.int32), both_since[order]


def _chains(rng: np.random.Generator, catalogue: list[Anime]) -> dict[int, list[tuple[str, int]]]:
    """Sequel/prequel chains inside a cluster, plus side stories."""
    related: dict[int, list[tuple[str, int]]] = {}
    last_in_cluster: dict[int, int] = {}
    for i, a in enumerate(catalogue):
        prev = last_in_cluster.get(a.cluster)
        if prev is not None and rng.random() < 0.25:
            kind = ("Sequel", "Prequel") if rng.random() < 0.8 else ("Side story", "Parent story")
            related.setdefault(prev, []).append((kind[0], i))
            related.setdefault(i, []).append((kind[1], prev))
        last_in_cluster[a.cluster] = i
    return related


# ---------------------------------------------------------------------------------------- datasets
_SPLIT = re.compile(r"\s*,\s*")


def _parse_aired(text: str) -> tuple[dt.date | None, dt.date | None]:
    def one(part: str) -> dt.date | None:
        for fmt in ("%b %d, %Y", "%b %Y", "%Y"):
            try:
                return dt.datetime.strptime(part.strip(), fmt).date()
            except ValueError:
                continue
        return None
    start, _, end = (text or "").partition(" to ")
    return one(start), (one(end) if end else None)


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def _tags(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """MAL's one genre column split the way its pages show it: (genres, themes, demographics)."""
    tags = tuple(t for t in _SPLIT.split(text or "") if t)
    return (tuple(t for t in tags if t not in THEMES and t not in DEMOGRAPHICS),
            tuple(t for t in tags if t in THEMES), tuple(t for t in tags if t in DEMOGRAPHICS))


def _real_catalogue(root: Path | None) -> list[Anime]:
    """The 2021 catalogue (synopsis, studios, source, dates), then the 2016 rows it lacks."""
    catalogue: list[Anime] = []
    clusters: dict[str, int] = {}
    with datasets.open_csv(datasets.path("anime", root)) as fh:
        for row in csv.DictReader(fh):
            anime_id = _int(row.get("anime_id"))
            if anime_id is None:
                continue
            genres, themes, demographics = _tags(row.get("genre"))
            start, end = _parse_aired(row.get("aired") or "")
            studios = tuple(t for t in _SPLIT.split(row.get("studios") or "") if t and t != "None found")
            catalogue.append(Anime(
                anime_id=anime_id, title=row["name"], type=row.get("type") or None, episodes=_int(row.get("episodes")),
                status=row.get("status") or "Finished Airing", start=start, end=end, genres=genres, themes=themes,
                demographics=demographics, studios=studios,
                source=None if row.get("source") in (None, "", "Unknown") else row["source"],
                synopsis=row.get("synopsis") or "", pic=row.get("image_url") or "",
                cluster=clusters.setdefault(genres[0] if genres else "?", len(clusters))))
    old = datasets.find("anime_2016", root)
    if old is None:
        return catalogue
    known = {a.anime_id for a in catalogue}
    with datasets.open_csv(old) as fh:
        for row in csv.DictReader(fh):
            anime_id = _int(row.get("anime_id"))
            if anime_id is None or anime_id in known:
                continue
            genres, themes, demographics = _tags(row.get("genre"))
            start, end = _parse_aired(row.get("aired") or "")
            episodes = _int(row.get("episodes"))
            catalogue.append(Anime(
                anime_id=anime_id, title=row["name"], type=row.get("type") or None, episodes=episodes,
                status="Currently Airing" if start and not end and episodes is None else "Finished Airing",
                start=start, end=end, genres=genres, themes=themes, demographics=demographics, studios=(),
                source=None, synopsis=f"{row['name']} ({row.get('japanese_title') or ''}).".replace(" ().", "."),
                pic=row.get("image_url") or "", cluster=clusters.setdefault(genres[0] if genres else "?",
                                                                            len(clusters))))
    return catalogue


def from_datasets(root: str | Path | None = None, seed: int = 7) -> World:
    """The real catalogue and the complete lists of the 5,000 real users; the files are found by
    `animerec.common.datasets` (the repo's data/ by default), under `root` only when given."""
    root = Path(root) if root is not None else None
    rng = np.random.default_rng(seed)
    catalogue = _real_catalogue(root)
    index_of = {a.anime_id: i for i, a in enumerate(catalogue)}
    lists: dict[int, dict[int, tuple[int, int, int]]] = {}   # user id -> anime index -> (status, score, progress)
    with datasets.open_csv(datasets.path("ratings", root)) as fh:
        reader = csv.reader(fh)
        header = next(reader)
        user_col, anime_col, rating_col = (header.index(c) for c in ("user_id", "anime_id", "rating"))
        for row in reader:
            ai = index_of.get(int(row[anime_col]))
            if ai is None:
                continue
            rating = int(row[rating_col])  # -1: watched without a score (the 2016 dataset's convention)
            eps = catalogue[ai].episodes or 0
            lists.setdefault(int(row[user_col]), {})[ai] = (2, rating if 1 <= rating <= 10 else 0, eps)
    user_ids = sorted(lists)
    users = len(user_ids)
    sizes = np.array([len(lists[u]) for u in user_ids], dtype=np.int64)
    u_off = np.zeros(users + 1, dtype=np.int64)
    np.cumsum(sizes, out=u_off[1:])
    flat = [(ai, *v) for u in user_ids for ai, v in sorted(lists[u].items())]
    arr = np.array(flat, dtype=np.int64).reshape(-1, 4)
    joined_ago = rng.integers(30 * DAY, 12 * 365 * DAY, size=users)
    last_online_ago = _last_online(rng, users)
    owner = np.repeat(np.arange(users), sizes)
    updated_ago = last_online_ago[owner] + (rng.random(len(owner)) * 365 * DAY).astype(np.int64)
    f_off, f_user, f_since = _friendships(rng, users, joined_ago)
    world = World(
        seed=seed, anime=catalogue, user_names=[f"user{u}" for u in user_ids],
        user_ids=np.array([max(u, 1) for u in user_ids], dtype=np.int64), joined_ago=joined_ago,
        last_online_ago=last_online_ago, private=rng.random(users) < 0.03, u_off=u_off,
        e_anime=arr[:, 0].astype(np.int32), e_status=arr[:, 1].astype(np.int8), e_score=arr[:, 2].astype(np.int8),
        e_progress=np.clip(arr[:, 3], 0, 32000).astype(np.int16), e_updated_ago=updated_ago,
        f_off=f_off, f_user=f_user, f_since_ago=f_since, related=_franchises(catalogue))
    return world.finish()


def _franchises(catalogue: list[Anime]) -> dict[int, list[tuple[str, int]]]:
    """Real titles sharing the part before ':' form a franchise: chained by MAL id as sequels."""
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(catalogue):
        head = a.title.split(":")[0].strip().lower()
        if len(head) >= 4:
            groups.setdefault(head, []).append(i)
    related: dict[int, list[tuple[str, int]]] = {}
    for members in groups.values():
        members.sort(key=lambda i: catalogue[i].anime_id)
        for prev, nxt in itertools.pairwise(members):
            related.setdefault(prev, []).append(("Sequel", nxt))
            related.setdefault(nxt, []).append(("Prequel", prev))
    return related
