-- Landing area: one table per crawled item type, exactly the fields of schemas/events/<type>.v1.json,
-- plus crawl metadata and Kafka provenance. A message lands at most once: UNIQUE (topic, partition, offset).
-- Rows written by the crawler's direct PostgreSQL sink have no provenance (NULLs never collide).
CREATE SCHEMA IF NOT EXISTS landing;

CREATE TABLE IF NOT EXISTS landing.anime_info (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anime_id                 integer NOT NULL,
    anime_url                text,
    title                    text NOT NULL,
    synopsis                 text,
    main_pic                 text,
    type                     text,
    source_type              text,
    num_episodes             integer,
    status                   text,
    start_date               date,
    end_date                 date,
    season                   text,
    studios                  text[],
    genres                   text[],
    score                    numeric,
    score_count              integer,
    score_rank               integer,
    popularity_rank          integer,
    members_count            integer,
    favorites_count          integer,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_info_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.anime_stats (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anime_id                 integer NOT NULL,
    watching_count           integer,
    completed_count          integer,
    on_hold_count            integer,
    dropped_count            integer,
    plan_to_watch_count      integer,
    total_count              integer,
    score_10_count           integer,
    score_09_count           integer,
    score_08_count           integer,
    score_07_count           integer,
    score_06_count           integer,
    score_05_count           integer,
    score_04_count           integer,
    score_03_count           integer,
    score_02_count           integer,
    score_01_count           integer,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_stats_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.anime_review (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    review_id                bigint NOT NULL,
    anime_id                 integer NOT NULL,
    user_name                text NOT NULL,
    review_date              date,
    review_num_useful        integer,
    review_score             integer,
    review_story_score       integer,
    review_animation_score   integer,
    review_sound_score       integer,
    review_character_score   integer,
    review_enjoyment_score   integer,
    text                     text,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_review_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.anime_recommendation (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anime_id                 integer NOT NULL,
    recommended_anime_id     integer NOT NULL,
    recommendation_url       text,
    num_recommenders         integer,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_recommendation_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.anime_related (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anime_id                 integer NOT NULL,
    related_anime_id         integer NOT NULL,
    relation_type            text NOT NULL,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_related_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.anime_picture (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anime_id                 integer NOT NULL,
    picture_url              text NOT NULL,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_picture_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.anime_club (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anime_id                 integer NOT NULL,
    club_id                  integer NOT NULL,
    club_name                text,
    members_count            integer,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT anime_club_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.profile (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name                text NOT NULL,
    user_id                  integer,
    user_url                 text,
    private                  boolean NOT NULL,
    last_online_date         timestamptz,
    joined_date              date,
    num_watching             integer,
    num_completed            integer,
    num_on_hold              integer,
    num_dropped              integer,
    num_plan_to_watch        integer,
    num_days                 numeric,
    mean_score               numeric,
    clubs                    integer[],
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT profile_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.animelist_entry (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name                text NOT NULL,
    anime_id                 integer NOT NULL,
    anime_title              text,
    status                   text NOT NULL CHECK (status IN ('watching','completed','on_hold','dropped','plan_to_watch')),
    score                    smallint,
    progress                 integer,
    last_interaction_date    timestamptz,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT animelist_entry_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.favorite (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name                text NOT NULL,
    anime_id                 integer NOT NULL,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT favorite_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.friend (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name                text NOT NULL,
    friend_name              text NOT NULL,
    friendship_date          timestamptz,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT friend_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TABLE IF NOT EXISTS landing.activity (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name                text NOT NULL,
    anime_id                 integer NOT NULL,
    episode                  integer,
    activity_date            timestamptz,
    crawled_at               timestamptz NOT NULL,
    source                   text NOT NULL CHECK (source IN ('mal', 'jikan')),
    source_url               text NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT activity_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

-- Feedback from the API (likes, dislikes, clicks).
CREATE TABLE IF NOT EXISTS landing.feedback (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id                 text NOT NULL UNIQUE,
    user_name                text NOT NULL,
    anime_id                 integer NOT NULL,
    action                   text NOT NULL CHECK (action IN ('like', 'dislike', 'click')),
    context                  jsonb NOT NULL DEFAULT '{}',
    created_at               timestamptz NOT NULL,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    landed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

-- Messages that failed their schema: kept with the error so nothing is lost.
CREATE TABLE IF NOT EXISTS landing.rejects (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stage                    text NOT NULL,
    error                    text NOT NULL,
    payload                  text NOT NULL,
    message_key              text,
    kafka_topic              text,
    kafka_partition          integer,
    kafka_offset             bigint,
    failed_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rejects_provenance_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

-- "Latest crawl wins per key" reads these.
CREATE INDEX IF NOT EXISTS anime_info_key_idx ON landing.anime_info (anime_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS anime_stats_key_idx ON landing.anime_stats (anime_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS anime_review_key_idx ON landing.anime_review (review_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS anime_recommendation_key_idx ON landing.anime_recommendation (anime_id, recommended_anime_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS anime_related_key_idx ON landing.anime_related (anime_id, related_anime_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS anime_picture_key_idx ON landing.anime_picture (anime_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS anime_club_key_idx ON landing.anime_club (anime_id, club_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS profile_key_idx ON landing.profile (user_name, crawled_at DESC);
CREATE INDEX IF NOT EXISTS animelist_entry_key_idx ON landing.animelist_entry (user_name, anime_id, crawled_at DESC);
CREATE INDEX IF NOT EXISTS favorite_key_idx ON landing.favorite (user_name, crawled_at DESC);
CREATE INDEX IF NOT EXISTS friend_key_idx ON landing.friend (user_name, friend_name, crawled_at DESC);
CREATE INDEX IF NOT EXISTS activity_key_idx ON landing.activity (user_name, anime_id, crawled_at DESC);
