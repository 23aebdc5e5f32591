"""Steps 1 and 2 of the ETL as set-based SQL. Each entry builds one table; the runner logs its row count.

Step 1 (landing -> etl.*): the latest crawl wins per key, user names are normalised, recommendations
and friendships are made symmetric, related anime are expanded along relation chains (bounded depth).
Step 2 (etl.* -> staging.*): the five staging tables, with the cleaning rules applied to user_anime.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    table: str      # what it builds, for the row-count log
    sql: str
    count: str = ""  # a query counting the rows it produced (default: count(*) of `table`)


# The key of a MAL user: MAL treats names case-insensitively, and crawls may carry stray whitespace.
USER_KEY = "lower(btrim({col}))"

# Relation types as the ETL stores them (snake case) and the inverse a relation implies.
RELATION_INVERSES = {
    "sequel": "prequel", "prequel": "sequel",
    "side_story": "parent_story", "parent_story": "side_story",
    "spin_off": "parent_story",
    "summary": "full_story", "full_story": "summary",
    "alternative_version": "alternative_version", "alternative_setting": "alternative_setting",
    "character": "character", "other": "other", "adaptation": "adaptation",
}
# Pairs reached through more than one hop: a chain of sequels is a sequel, anything mixed a franchise.
DERIVED_RELATIONS = ("franchise",)
RELATION_TYPES = tuple(sorted(set(RELATION_INVERSES) | set(RELATION_INVERSES.values()) | set(DERIVED_RELATIONS)))


def _norm_relation(col: str) -> str:
    return f"trim(both '_' from lower(regexp_replace(btrim({col}), '[^A-Za-z0-9]+', '_', 'g')))"


def _latest(name: str, source: str, key: str, columns: str = "*", where: str = "") -> Statement:
    return Statement(f"etl.{name}", f"""
        DROP TABLE IF EXISTS etl.{name};
        CREATE UNLOGGED TABLE etl.{name} AS
        SELECT DISTINCT ON ({key}) {columns}
        FROM landing.{source} {where}
        ORDER BY {key}, crawled_at DESC, id DESC;""")


def step1(relation_depth: int) -> list[Statement]:
    uk = USER_KEY.format(col="user_name")
    inverses = ", ".join(f"('{a}', '{b}')" for a, b in RELATION_INVERSES.items())
    return [
        _latest("anime_info", "anime_info", "anime_id"),
        _latest("anime_stats", "anime_stats", "anime_id"),
        Statement("etl.anime_pics", """
            DROP TABLE IF EXISTS etl.anime_pics;
            CREATE UNLOGGED TABLE etl.anime_pics AS
            SELECT anime_id, array_agg(DISTINCT picture_url ORDER BY picture_url) AS pics
            FROM landing.anime_picture GROUP BY anime_id;"""),
        Statement("etl.anime_clubs", """
            DROP TABLE IF EXISTS etl.anime_clubs;
            CREATE UNLOGGED TABLE etl.anime_clubs AS
            SELECT anime_id, array_agg(DISTINCT club_id ORDER BY club_id) AS clubs
            FROM landing.anime_club GROUP BY anime_id;"""),
        _latest("profile", "profile", uk, f"{uk} AS user_key, *"),
        _latest("animelist", "animelist_entry", f"{uk}, anime_id", f"{uk} AS user_key, *"),
        _latest("favorite", "favorite", f"{uk}, anime_id", f"{uk} AS user_key, anime_id"),
        Statement("etl.activity", f"""
            DROP TABLE IF EXISTS etl.activity;
            CREATE UNLOGGED TABLE etl.activity AS
            SELECT {uk} AS user_key, anime_id, max(episode) AS episode, max(activity_date) AS activity_date
            FROM landing.activity GROUP BY 1, 2;"""),
        # Latest crawl per review, then the newest review per (user, anime).
        Statement("etl.review", f"""
            DROP TABLE IF EXISTS etl.review;
            CREATE UNLOGGED TABLE etl.review AS
            SELECT DISTINCT ON (user_key, anime_id) *
            FROM (SELECT DISTINCT ON (review_id) {uk} AS user_key, *
                  FROM landing.anime_review ORDER BY review_id, crawled_at DESC, id DESC) r
            ORDER BY user_key, anime_id, review_date DESC NULLS LAST, crawled_at DESC, review_id DESC;"""),
        # A friendship seen from either side is one friendship in both directions; the latest crawl wins.
        Statement("etl.friends", f"""
            DROP TABLE IF EXISTS etl.friends;
            CREATE UNLOGGED TABLE etl.friends AS
            SELECT DISTINCT ON (user_a, user_b) user_a, user_b, friendship_date
            FROM (SELECT {uk} AS user_a, {USER_KEY.format(col="friend_name")} AS user_b, friendship_date,
                         crawled_at, id FROM landing.friend
                  UNION ALL
                  SELECT {USER_KEY.format(col="friend_name")}, {uk}, friendship_date, crawled_at, id
                  FROM landing.friend) f
            WHERE user_a <> user_b
            ORDER BY user_a, user_b, crawled_at DESC, id DESC;"""),
        # "A recommends B" is also "B recommends A".
        Statement("etl.recommendations", """
            DROP TABLE IF EXISTS etl.recommendations;
            CREATE UNLOGGED TABLE etl.recommendations AS
            SELECT DISTINCT ON (anime_a, anime_b) anime_a, anime_b, recommendation_url, num_recommenders
            FROM (SELECT anime_id AS anime_a, recommended_anime_id AS anime_b, recommendation_url,
                         num_recommenders, crawled_at, id FROM landing.anime_recommendation
                  UNION ALL
                  SELECT recommended_anime_id, anime_id, recommendation_url, num_recommenders, crawled_at, id
                  FROM landing.anime_recommendation) r
            WHERE anime_a <> anime_b
            ORDER BY anime_a, anime_b, crawled_at DESC, id DESC;"""),
        # Direct relations, latest crawl per pair, plus the inverse each implies (a stated one wins).
        Statement("etl.relation_edges", f"""
            DROP TABLE IF EXISTS etl.relation_edges;
            CREATE UNLOGGED TABLE etl.relation_edges AS
            WITH direct AS (
                SELECT DISTINCT ON (anime_id, related_anime_id)
                       anime_id AS anime_a, related_anime_id AS anime_b, {_norm_relation("relation_type")} AS kind
                FROM landing.anime_related WHERE anime_id <> related_anime_id
                ORDER BY anime_id, related_anime_id, crawled_at DESC, id DESC),
            inverse(kind, inverse) AS (VALUES {inverses})
            SELECT DISTINCT ON (anime_a, anime_b) anime_a, anime_b, kind
            FROM (SELECT anime_a, anime_b, kind, 0 AS implied FROM direct
                  UNION ALL
                  SELECT d.anime_b, d.anime_a, coalesce(i.inverse, d.kind), 1
                  FROM direct d LEFT JOIN inverse i ON i.kind = d.kind) e
            ORDER BY anime_a, anime_b, implied;"""),
        # Walk the relation graph up to `relation_depth` hops: a sequel of a sequel is a sequel, a prequel
        # of a prequel a prequel, any other path makes the two anime one franchise. Shortest path wins.
        Statement("etl.related", f"""
            DROP TABLE IF EXISTS etl.related;
            CREATE UNLOGGED TABLE etl.related AS
            WITH RECURSIVE walk(anime_a, anime_b, kind, depth, path) AS (
                SELECT anime_a, anime_b, kind, 1, ARRAY[anime_a, anime_b] FROM etl.relation_edges
                UNION ALL
                SELECT w.anime_a, e.anime_b,
                       CASE WHEN w.kind = e.kind AND e.kind IN ('sequel', 'prequel') THEN e.kind ELSE 'franchise' END,
                       w.depth + 1, w.path || e.anime_b
                FROM walk w JOIN etl.relation_edges e ON e.anime_a = w.anime_b
                WHERE w.depth < {int(relation_depth)} AND e.anime_b <> ALL (w.path))
            SELECT DISTINCT ON (anime_a, anime_b) anime_a, anime_b, kind AS relation_type, depth
            FROM walk
            ORDER BY anime_a, anime_b, depth, kind = 'franchise';"""),
    ]


AIRING = """CASE lower(btrim({col}))
        WHEN 'finished airing' THEN 'finished' WHEN 'currently airing' THEN 'airing'
        WHEN 'not yet aired' THEN 'not_yet_aired' ELSE 'unknown' END"""

# Every (user, anime) anything says something about, with the raw facts and each cleaning rule's verdict.
CANDIDATES = f"""
DROP TABLE IF EXISTS etl.user_anime_candidates;
CREATE UNLOGGED TABLE etl.user_anime_candidates AS
WITH keys AS (
    SELECT user_key, anime_id FROM etl.animelist
    UNION SELECT user_key, anime_id FROM etl.favorite
    UNION SELECT user_key, anime_id FROM etl.review
    UNION SELECT user_key, anime_id FROM etl.activity),
facts AS (
    SELECT k.user_key, k.anime_id, u.user_id, a.anime_id IS NOT NULL AS anime_known,
           a.num_episodes, {AIRING.format(col="a.status")} AS airing,
           f.user_key IS NOT NULL AS favorite,
           l.status AS raw_status, l.score::smallint AS score,
           coalesce(l.progress, act.episode) AS raw_progress,
           greatest(l.last_interaction_date, act.activity_date) AS last_interaction_date,
           r.review_id, r.review_date, r.review_num_useful, r.review_score, r.review_story_score,
           r.review_animation_score, r.review_sound_score, r.review_character_score, r.review_enjoyment_score
    FROM keys k
    LEFT JOIN staging."user" u ON u.user_name = k.user_key
    LEFT JOIN staging.anime a ON a.anime_id = k.anime_id
    LEFT JOIN etl.animelist l ON l.user_key = k.user_key AND l.anime_id = k.anime_id
    LEFT JOIN etl.favorite f ON f.user_key = k.user_key AND f.anime_id = k.anime_id
    LEFT JOIN etl.review r ON r.user_key = k.user_key AND r.anime_id = k.anime_id
    LEFT JOIN etl.activity act ON act.user_key = k.user_key AND act.anime_id = k.anime_id),
progress AS (
    -- Rule: progress above the anime's episode count is dropped (the value, not the row).
    SELECT *, num_episodes > 0 AND raw_progress > num_episodes AS progress_dropped,
           CASE WHEN num_episodes > 0 AND raw_progress > num_episodes THEN NULL ELSE raw_progress END AS progress
    FROM facts),
implied AS (
    -- The status progress implies: all episodes of a finished anime seen -> completed; some -> watching.
    SELECT *, CASE WHEN progress > 0 AND num_episodes > 0 AND progress >= num_episodes AND airing <> 'airing'
                   THEN 'completed'
                   WHEN progress > 0 THEN 'watching' END AS progress_status
    FROM progress),
inferred AS (
    -- Rule: a missing status is inferred from progress (nothing to go on: plan_to_watch).
    SELECT *, raw_status IS NULL AS status_inferred,
           coalesce(raw_status, progress_status, 'plan_to_watch') AS status_1
    FROM implied),
corrected AS (
    -- Rule: plan_to_watch with progress, a score or a favorite is corrected to the status that implies
    -- (scored or favorited without progress: completed, or watching while the anime still airs).
    -- Not for anime that have not aired: nothing can have been watched yet.
    SELECT *, status_1 = 'plan_to_watch' AND airing <> 'not_yet_aired'
              AND (progress > 0 OR score IS NOT NULL OR favorite) AS ptw_corrected
    FROM inferred)
SELECT *,
       CASE WHEN ptw_corrected
            THEN coalesce(progress_status, CASE WHEN airing = 'airing' THEN 'watching' ELSE 'completed' END)
            ELSE status_1 END AS status
FROM corrected;
"""

# Row verdicts, in the order the report lists them.
RULES = {
    "unknown_anime": "NOT anime_known",
    "unknown_user": "anime_known AND user_id IS NULL",
    "completed_while_airing": "anime_known AND user_id IS NOT NULL AND airing = 'airing' AND status = 'completed'",
    "not_yet_aired_not_planned": "anime_known AND user_id IS NOT NULL AND airing = 'not_yet_aired' "
                                 "AND status <> 'plan_to_watch'",
    "progress_dropped": "progress_dropped",
    "status_inferred": "status_inferred",
    "ptw_corrected": "ptw_corrected",
}
KEEP = ("anime_known AND user_id IS NOT NULL AND NOT (airing = 'airing' AND status = 'completed') "
        "AND NOT (airing = 'not_yet_aired' AND status <> 'plan_to_watch')")

USER_ANIME_COLUMNS = ("user_id, anime_id, favorite, review_id, review_date, review_num_useful, review_score, "
                      "review_story_score, review_animation_score, review_sound_score, review_character_score, "
                      "review_enjoyment_score, score, status, progress, last_interaction_date")


def step2() -> list[Statement]:
    uk_profile = "p.user_key"
    return [
        Statement("staging.truncate", """
            TRUNCATE staging.anime, staging."user", staging.user_anime, staging.anime_anime, staging.user_user;""",
                  count="SELECT 0"),
        Statement("staging.anime", """
            INSERT INTO staging.anime (
                anime_id, anime_url, title, synopsis, main_pic, type, source_type, num_episodes, status, start_date,
                end_date, season, studios, genres, score, score_count, score_rank, popularity_rank, members_count,
                favorites_count, watching_count, completed_count, on_hold_count, dropped_count, plan_to_watch_count,
                total_count, score_10_count, score_09_count, score_08_count, score_07_count, score_06_count,
                score_05_count, score_04_count, score_03_count, score_02_count, score_01_count, clubs, pics)
            SELECT i.anime_id, coalesce(i.anime_url, i.source_url), etl.html_unescape(i.title),
                   etl.html_unescape(i.synopsis), i.main_pic, i.type,
                   i.source_type, i.num_episodes, i.status, i.start_date, i.end_date, i.season,
                   coalesce(i.studios, '{}'), coalesce(i.genres, '{}'), round(i.score, 2), i.score_count,
                   i.score_rank, i.popularity_rank, i.members_count, i.favorites_count,
                   s.watching_count, s.completed_count, s.on_hold_count, s.dropped_count, s.plan_to_watch_count,
                   s.total_count, s.score_10_count, s.score_09_count, s.score_08_count, s.score_07_count,
                   s.score_06_count, s.score_05_count, s.score_04_count, s.score_03_count, s.score_02_count,
                   s.score_01_count, coalesce(c.clubs, '{}'), coalesce(p.pics, '{}')
            FROM etl.anime_info i
            LEFT JOIN etl.anime_stats s USING (anime_id)
            LEFT JOIN etl.anime_clubs c USING (anime_id)
            LEFT JOIN etl.anime_pics p USING (anime_id);
            ANALYZE staging.anime;"""),
        # Stable ids: a name keeps its id across runs; only names never seen before get new ones.
        Statement("staging.user_ids", f"""
            INSERT INTO staging.user_ids (user_name)
            SELECT {uk_profile} FROM etl.profile p
            WHERE NOT EXISTS (SELECT 1 FROM staging.user_ids i WHERE i.user_name = {uk_profile})
            ORDER BY {uk_profile};""", count="SELECT count(*) FROM staging.user_ids"),
        Statement("staging.user", """
            INSERT INTO staging."user" (user_id, user_name, user_url, last_online_date, num_watching, num_completed,
                                        num_on_hold, num_dropped, num_plan_to_watch, num_days, mean_score, clubs)
            SELECT i.user_id, p.user_key, coalesce(p.user_url, 'https://myanimelist.net/profile/' || p.user_name),
                   p.last_online_date, p.num_watching, p.num_completed, p.num_on_hold, p.num_dropped,
                   p.num_plan_to_watch, p.num_days, round(p.mean_score, 2), coalesce(p.clubs, '{}')
            FROM etl.profile p JOIN staging.user_ids i ON i.user_name = p.user_key;
            ANALYZE staging."user";"""),
        Statement("etl.user_anime_candidates", CANDIDATES),
        Statement("staging.user_anime", f"""
            INSERT INTO staging.user_anime ({USER_ANIME_COLUMNS})
            SELECT user_id, anime_id, favorite, review_id, review_date, review_num_useful, review_score,
                   review_story_score, review_animation_score, review_sound_score, review_character_score,
                   review_enjoyment_score,
                   CASE WHEN airing = 'not_yet_aired' THEN NULL ELSE score END,
                   status,
                   CASE WHEN airing = 'not_yet_aired' THEN NULL ELSE progress END,
                   last_interaction_date
            FROM etl.user_anime_candidates WHERE {KEEP}
            ORDER BY user_id, anime_id;
            ANALYZE staging.user_anime;"""),
        # Recommendations and relations of known anime, one row per ordered pair.
        Statement("staging.anime_anime", """
            INSERT INTO staging.anime_anime (anime_a, anime_b, recommendation, recommendation_url, num_recommenders,
                                             related, relation_type)
            SELECT coalesce(r.anime_a, x.anime_a), coalesce(r.anime_b, x.anime_b), r.anime_a IS NOT NULL,
                   r.recommendation_url, r.num_recommenders, x.anime_a IS NOT NULL, x.relation_type
            FROM etl.recommendations r
            FULL JOIN etl.related x ON x.anime_a = r.anime_a AND x.anime_b = r.anime_b
            WHERE EXISTS (SELECT 1 FROM staging.anime a WHERE a.anime_id = coalesce(r.anime_a, x.anime_a))
              AND EXISTS (SELECT 1 FROM staging.anime b WHERE b.anime_id = coalesce(r.anime_b, x.anime_b));
            ANALYZE staging.anime_anime;"""),
        Statement("staging.user_user", """
            INSERT INTO staging.user_user (user_a, user_b, friends, friendship_date)
            SELECT a.user_id, b.user_id, true, f.friendship_date
            FROM etl.friends f
            JOIN staging."user" a ON a.user_name = f.user_a
            JOIN staging."user" b ON b.user_name = f.user_b;
            ANALYZE staging.user_user;"""),
    ]


def rule_counts_sql() -> str:
    parts = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {name}" for name, cond in RULES.items())
    return f"SELECT count(*) AS candidates, {parts} FROM etl.user_anime_candidates"
