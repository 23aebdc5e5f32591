-- Staging and processed areas: the same five tables in two schemas. The ETL rebuilds staging,
-- validates it, then promotes it to processed in one transaction (readers never see half a run).
-- Column names follow the processed-area design; the pair tables use snake_case
-- (anime_a/anime_b, user_a/user_b) for the design's animeA/animeB and userA/userB.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS processed;

CREATE TABLE IF NOT EXISTS staging.anime (
    anime_id            integer PRIMARY KEY,
    anime_url           text NOT NULL,
    title               text NOT NULL,
    synopsis            text,
    main_pic            text,
    type                text,
    source_type         text,
    num_episodes        integer CHECK (num_episodes >= 0),
    status              text,
    start_date          date,
    end_date            date,
    season              text,
    studios             text[] NOT NULL DEFAULT '{}',
    genres              text[] NOT NULL DEFAULT '{}',
    score               numeric(4, 2),
    score_count         integer,
    score_rank          integer,
    popularity_rank     integer,
    members_count       integer,
    favorites_count     integer,
    watching_count      integer,
    completed_count     integer,
    on_hold_count       integer,
    dropped_count       integer,
    plan_to_watch_count integer,
    total_count         integer,
    score_10_count      integer,
    score_09_count      integer,
    score_08_count      integer,
    score_07_count      integer,
    score_06_count      integer,
    score_05_count      integer,
    score_04_count      integer,
    score_03_count      integer,
    score_02_count      integer,
    score_01_count      integer,
    clubs               integer[] NOT NULL DEFAULT '{}',
    pics                text[] NOT NULL DEFAULT '{}',
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Stable surrogate ids for MAL user names (MAL pages rarely show the numeric id).
CREATE TABLE IF NOT EXISTS staging.user_ids (
    user_name   text PRIMARY KEY,
    user_id     bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);

CREATE TABLE IF NOT EXISTS staging."user" (
    user_id             bigint PRIMARY KEY,
    user_name           text NOT NULL UNIQUE,
    user_url            text NOT NULL,
    last_online_date    timestamptz,
    num_watching        integer,
    num_completed       integer,
    num_on_hold         integer,
    num_dropped         integer,
    num_plan_to_watch   integer,
    num_days            numeric,
    mean_score          numeric(4, 2),
    clubs               integer[] NOT NULL DEFAULT '{}',
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS staging.user_anime (
    user_id                 bigint NOT NULL,
    anime_id                integer NOT NULL,
    favorite                boolean NOT NULL DEFAULT false,
    review_id               bigint,
    review_date             date,
    review_num_useful       integer,
    review_score            smallint,
    review_story_score      smallint,
    review_animation_score  smallint,
    review_sound_score      smallint,
    review_character_score  smallint,
    review_enjoyment_score  smallint,
    score                   smallint CHECK (score BETWEEN 1 AND 10),
    status                  text CHECK (status IN ('watching', 'completed', 'on_hold', 'dropped', 'plan_to_watch')),
    progress                integer CHECK (progress >= 0),
    last_interaction_date   timestamptz,
    PRIMARY KEY (user_id, anime_id)
);

CREATE TABLE IF NOT EXISTS staging.anime_anime (
    anime_a             integer NOT NULL,
    anime_b             integer NOT NULL,
    recommendation      boolean NOT NULL DEFAULT false,
    recommendation_url  text,
    num_recommenders    integer,
    related             boolean NOT NULL DEFAULT false,
    relation_type       text,
    PRIMARY KEY (anime_a, anime_b),
    CHECK (anime_a <> anime_b)
);

CREATE TABLE IF NOT EXISTS staging.user_user (
    user_a              bigint NOT NULL,
    user_b              bigint NOT NULL,
    friends             boolean NOT NULL DEFAULT true,
    friendship_date     timestamptz,
    PRIMARY KEY (user_a, user_b),
    CHECK (user_a <> user_b)
);

CREATE TABLE IF NOT EXISTS processed.anime (LIKE staging.anime INCLUDING ALL);
CREATE TABLE IF NOT EXISTS processed."user" (LIKE staging."user" INCLUDING ALL);
CREATE TABLE IF NOT EXISTS processed.user_anime (LIKE staging.user_anime INCLUDING ALL);
CREATE TABLE IF NOT EXISTS processed.anime_anime (LIKE staging.anime_anime INCLUDING ALL);
CREATE TABLE IF NOT EXISTS processed.user_user (LIKE staging.user_user INCLUDING ALL);
CREATE INDEX IF NOT EXISTS processed_user_anime_anime_idx ON processed.user_anime (anime_id);
CREATE INDEX IF NOT EXISTS staging_user_anime_anime_idx ON staging.user_anime (anime_id);
