"""The PyFlink job: Kafka (feedback + ingestion topics) -> parse -> event time -> trending windows to Redis,
live online metrics and event counts to PostgreSQL (JDBC upserts). While every partition is idle, a clock source's
watermark (the wall clock less the allowed lateness) closes the trending windows, so a burst reaches Redis with no
later event; bounded runs have no clock (their sources end with the final watermark).

Exactly once across a kill: the Kafka offsets and every aggregate live in Flink's checkpoints, and both sinks
are idempotent (a replayed window writes the same list; an upsert writes the same totals), so a restart from
the latest checkpoint (`latest_checkpoint`) counts every event once. Restarting without the checkpoint would
restart the sums from zero, which is why `animerec stream run` always resumes from it when one exists.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from animerec.common import kafka_security
from animerec.common.config import CoreSettings

from . import events
from .kafka_props import java_properties
from .settings import StreamSettings

log = logging.getLogger(__name__)

CONNECTOR_JARS = ("flink-connector-kafka.jar", "kafka-clients.jar", "flink-connector-jdbc-core.jar",
                  "flink-connector-jdbc-postgres.jar", "postgresql.jar")
METRICS_TABLE = "processed.stream_online_metrics"
COUNTS_TABLE = "processed.stream_event_counts"
TICK = "tick"  # the clock's rows: they carry a watermark and no event


def connector_jars(folder: Path | None) -> list[Path]:
    """The Kafka/JDBC connector jars, from the unpacked shigawire-apache-flink-libraries wheel."""
    candidates = [folder] if folder else []
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidates.append(parent / ".venv-stream" / "connectors" / "pyflink" / "lib")
    candidates.append(Path("/opt/flink-connectors"))
    for base in candidates:
        if base and all((base / j).is_file() for j in CONNECTOR_JARS):
            return [base / j for j in CONNECTOR_JARS]
    raise FileNotFoundError("Kafka/JDBC connector jars not found: `make setup` unpacks "
                            "shigawire-apache-flink-libraries into .venv-stream/connectors, "
                            "or set ANIMEREC_STREAM_CONNECTOR_JARS")


def jdbc(postgres_url: str) -> tuple[str, str, str]:
    """libpq URL or key=value string -> (JDBC URL, user, password)."""
    from psycopg.conninfo import conninfo_to_dict
    params = {k: str(v) for k, v in conninfo_to_dict(postgres_url).items()}
    host = params.pop("host", "127.0.0.1")
    port = params.pop("port", "5432")
    dbname = params.pop("dbname", "postgres")
    user = params.pop("user", "postgres")
    password = params.pop("password", "")
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k in ("sslmode", "sslrootcert", "options"))
    return f"jdbc:postgresql://{host}:{port}/{dbname}" + (f"?{query}" if query else ""), user, password


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (its _metadata written last) under the job's checkpoint folder."""
    found = sorted(folder.glob("*/chk-*/_metadata"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    return found[-1].parent if found else None


def _with(opts: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{_sql(v)}'" for k, v in opts.items())


def _sql(value: str) -> str:
    return value.replace("'", "''")


def end_offsets(core: CoreSettings, topic: str) -> dict[int, int]:
    """Each partition's current end, from fetch high watermarks (ListOffsets undercounts on some brokers)."""
    from kafka import KafkaConsumer, TopicPartition

    from animerec.common.kafka import client_options, high_watermarks
    consumer = KafkaConsumer(**client_options(core, "stream-bounds"), enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or set())
    finally:
        consumer.close(autocommit=False)
    if not partitions:
        raise RuntimeError(f"topic {topic} not found")
    high = high_watermarks(core, {TopicPartition(topic, p): 0 for p in partitions})
    return {tp.partition: offset for tp, offset in high.items()}


def _kafka_table(name: str, topic: str, core: CoreSettings, s: StreamSettings, bounded: bool) -> str:
    opts = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": core.kafka_bootstrap,
        "properties.group.id": s.group_id, "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest", "format": "raw",
        "scan.watermark.idle-timeout": f"{s.idle_seconds} s",
    }
    for key, value in java_properties(kafka_security.load()).items():
        opts[f"properties.{key}"] = value
    if bounded:  # stop at the ends seen now; the connector's own "latest-offset" trusts ListOffsets
        opts["scan.bounded.mode"] = "specific-offsets"
        opts["scan.bounded.specific-offsets"] = ";".join(
            f"partition:{p},offset:{o}" for p, o in sorted(end_offsets(core, topic).items()))
    # Event time is the record's Kafka timestamp (when the API took the feedback, when the crawler emitted the item),
    # so the source keeps one watermark per partition and a backlog read partition by partition loses nothing.
    return (f"CREATE TEMPORARY TABLE {name} (payload BYTES, kts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', "
            f"WATERMARK FOR kts AS kts - {_interval(s.allowed_lateness_seconds)}) WITH ({_with(opts)})")


def _tick_table(s: StreamSettings) -> str:
    """A row a second per subtask stamped with the wall clock, its watermark the clock less the allowed lateness.
    Once every partition has been quiet for the idle timeout, this is the watermark that closes the trending
    windows: event time follows the clock instead of waiting for a later event that a quiet system may never send."""
    # datagen splits rows-per-second between its subtasks (integer division): one each, or some would tick never.
    return (f"CREATE TEMPORARY TABLE ticks (tick INT, ts AS CAST(CURRENT_TIMESTAMP AS TIMESTAMP_LTZ(3)), "
            f"WATERMARK FOR ts AS ts - {_interval(s.allowed_lateness_seconds)}) WITH ('connector' = 'datagen', "
            f"'rows-per-second' = '{s.parallelism}', 'fields.tick.min' = '0', 'fields.tick.max' = '0')")


def _interval(seconds: int) -> str:
    """A SQL day-time interval literal (a plain SECOND interval holds two digits only)."""
    days, rest = divmod(int(seconds), 86400)
    return f"INTERVAL '{days} {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}' DAY TO SECOND"


def _jdbc_table(name: str, columns: str, table: str, core: CoreSettings) -> str:
    url, user, password = jdbc(core.postgres_url)
    opts = {"connector": "jdbc", "url": url, "table-name": table, "username": user, "password": password,
            "sink.buffer-flush.interval": "1s", "sink.buffer-flush.max-rows": "500", "sink.max-retries": "5"}
    return f"CREATE TEMPORARY TABLE {name} ({columns}) WITH ({_with(opts)})"


def build(core: CoreSettings, s: StreamSettings, *, bounded: bool = False, restore: Path | None = None) -> Any:
    """The job's StreamExecutionEnvironment, ready to execute."""
    from pyflink.common import Configuration, Row, Types
    from pyflink.datastream import MapFunction, RuntimeContext, StreamExecutionEnvironment
    from pyflink.table import DataTypes, StreamTableEnvironment
    from pyflink.table.udf import FunctionContext, TableFunction, udtf

    conf = Configuration()
    conf.set_string("pipeline.jars", ";".join(p.resolve().as_uri() for p in connector_jars(s.connector_jars)))
    conf.set_string("execution.checkpointing.interval", f"{s.checkpoint_interval_seconds}s")
    conf.set_string("execution.checkpointing.mode", "EXACTLY_ONCE")
    ck = str(s.checkpoint_dir)
    conf.set_string("execution.checkpointing.dir", ck if "://" in ck else Path(ck).resolve().as_uri())
    conf.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    conf.set_string("execution.checkpointing.num-retained", "3")
    conf.set_string("execution.checkpointing.checkpoints-after-tasks-finish", "true")
    conf.set_string("parallelism.default", str(s.parallelism))
    conf.set_string("table.local-time-zone", "UTC")
    conf.set_string("python.execution-mode", "process")
    # A failure restarts from the last checkpoint a bounded number of times, then the job fails (and its
    # Deployment or the Flink operator restarts it), instead of looping forever on a bug.
    conf.set_string("restart-strategy.type", "fixed-delay")
    conf.set_string("restart-strategy.fixed-delay.attempts", str(s.restart_attempts))
    conf.set_string("restart-strategy.fixed-delay.delay", "5 s")
    if restore is not None:
        conf.set_string("execution.state-recovery.path", restore.resolve().as_uri())
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    t_env = StreamTableEnvironment.create(env)

    settings = s
    prefix = core.redis_prefix
    redis_url = core.redis_url

    class Parse(TableFunction):
        """Message -> one record; unknown anime (not in the published catalogue) are poison too; a tick -> none."""

        def open(self, function_context: FunctionContext) -> None:
            import redis

            from .trending import TrendingWriter
            self.writer = TrendingWriter(redis.Redis.from_url(redis_url), prefix, settings.top_n, settings.genre_top_n)
            self.catalogue: dict[int, list[str]] | None = None
            self.loaded = -1e9
            self.poison = function_context.get_metric_group().counter("animerec_stream_poison_events")

        def _known(self, anime_id: int) -> bool:
            now = time.monotonic()
            if now - self.loaded > settings.catalogue_refresh_seconds:
                try:
                    self.catalogue = self.writer.live_catalogue()
                except Exception as exc:  # Redis down: keep the last catalogue, never stop the job
                    log.warning("catalogue not refreshed: %s", exc)
                self.loaded = now
            return self.catalogue is None or anime_id in self.catalogue

        def eval(self, topic: str, payload: bytes | None) -> Any:
            if topic == TICK:
                return
            now_ms = int(time.time() * 1000)
            if payload is None:
                rec: events.Record | None = events.poison("empty", now_ms)
            else:
                rec = events.parse(topic, bytes(payload), settings, now_ms)
            if rec is None:
                return
            if rec.kind != "poison" and not self._known(rec.anime_id):
                rec = events.poison("unknown_anime", now_ms)
            if rec.kind == "poison":
                self.poison.inc()
            yield Row(*rec.as_tuple())

    result_types = [DataTypes.STRING(), DataTypes.INT(), DataTypes.DOUBLE(), DataTypes.BIGINT(), DataTypes.STRING(),
                    DataTypes.STRING(), DataTypes.STRING(), DataTypes.STRING()]
    columns = ", ".join(events.FIELDS)
    parts = []
    for kind, topic in ((events.FEEDBACK, core.topic_prefix + "feedback.events"),
                        (events.INGEST, core.topic_prefix + "ingest.items")):
        t_env.execute_sql(_kafka_table(f"src_{kind}", topic, core, s, bounded))
        parts.append(f"SELECT CAST('{kind}' AS STRING) AS topic, payload, kts AS rowtime FROM src_{kind}")
    if not bounded:  # a bounded source ends with the final watermark, which closes every window anyway
        t_env.execute_sql(_tick_table(s))
        parts.append(f"SELECT CAST('{TICK}' AS STRING), CAST(NULL AS BYTES), ts FROM ticks")
    # The ticks go through the parse operator with the topics' rows: its one input combines the watermarks of the
    # Kafka sources and the clock, leaving out the idle ones, so what leaves it moves on while the topics are quiet.
    t_env.create_temporary_view("raw_events", t_env.sql_query(" UNION ALL ".join(parts)))
    t_env.create_temporary_function("parse", udtf(Parse(), result_types=result_types))
    t_env.create_temporary_view("events", t_env.sql_query(
        f"SELECT {columns}, rowtime FROM raw_events, LATERAL TABLE(parse(topic, payload)) AS T({columns})"))

    class WriteTrending(MapFunction):
        def open(self, runtime_context: RuntimeContext) -> None:
            import redis

            from .trending import TrendingWriter
            self.writer = TrendingWriter(redis.Redis.from_url(redis_url), prefix, settings.top_n, settings.genre_top_n)

        def map(self, value: Any) -> int:
            window_end = value[0]
            end_ms = int(window_end.timestamp() * 1000) if isinstance(window_end, datetime) else int(window_end)
            scores: dict[int, float] = {}
            for part in (value[1] or "").split(","):
                if ":" in part:
                    anime, score = part.split(":", 1)
                    scores[int(anime)] = float(score)
            genres = self.writer.live_catalogue()
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return int(self.writer.write(end_ms, scores, stamp, genres))

    slide = max(1, round(s.slide_minutes * 60))
    size = max(slide, round(s.window_hours * 3600))
    t_env.create_temporary_view("trend_scores", t_env.sql_query(f"""
        SELECT window_start, window_end, anime_id, SUM(weight) AS score
        FROM TABLE(HOP(TABLE events, DESCRIPTOR(rowtime), INTERVAL '{slide}' SECOND(9), INTERVAL '{size}' SECOND(9)))
        WHERE kind <> 'poison' AND weight > 0
        GROUP BY window_start, window_end, anime_id"""))
    windows = t_env.sql_query("""
        SELECT window_end, LISTAGG(CAST(anime_id AS STRING) || ':' || CAST(score AS STRING), ',') AS scores
        FROM trend_scores GROUP BY window_start, window_end""")
    (t_env.to_data_stream(windows).map(WriteTrending(), output_type=Types.INT()).name("trending to redis")
     .filter(lambda written: False).print())

    t_env.execute_sql(_jdbc_table(
        "live_metrics", "minute_utc TIMESTAMP(3), model_version STRING, source STRING, clicks BIGINT, likes BIGINT, "
        "dislikes BIGINT, PRIMARY KEY (minute_utc, model_version, source) NOT ENFORCED", METRICS_TABLE, core))
    t_env.execute_sql(_jdbc_table(
        "event_counts", "minute_utc TIMESTAMP(3), kind STRING, reason STRING, events BIGINT, "
        "PRIMARY KEY (minute_utc, kind, reason) NOT ENFORCED", COUNTS_TABLE, core))
    statements = t_env.create_statement_set()
    statements.add_insert_sql("""
        INSERT INTO live_metrics
        SELECT CAST(FLOOR(rowtime TO MINUTE) AS TIMESTAMP(3)), version, source,
               SUM(CASE WHEN action = 'click' THEN 1 ELSE 0 END), SUM(CASE WHEN action = 'like' THEN 1 ELSE 0 END),
               SUM(CASE WHEN action = 'dislike' THEN 1 ELSE 0 END)
        FROM events WHERE kind = 'feedback'
        GROUP BY CAST(FLOOR(rowtime TO MINUTE) AS TIMESTAMP(3)), version, source""")
    statements.add_insert_sql("""
        INSERT INTO event_counts
        SELECT CAST(FLOOR(rowtime TO MINUTE) AS TIMESTAMP(3)), kind, reason, COUNT(*)
        FROM events GROUP BY CAST(FLOOR(rowtime TO MINUTE) AS TIMESTAMP(3)), kind, reason""")
    statements.attach_as_datastream()
    return env
