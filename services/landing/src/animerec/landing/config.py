"""Settings of the landing writer (ANIMEREC_LANDING_*)."""

from __future__ import annotations

from dataclasses import dataclass

from animerec.common.config import load, setting


@dataclass(frozen=True)
class LandingSettings:
    env_prefix = "ANIMEREC_LANDING_"

    group: str = setting("animerec-landing", help="Kafka consumer group shared by every writer replica")
    topics: list[str] = setting(["ingest", "feedback"],
                                help="Logical topics (keys of schemas/topics.yaml) to land, comma separated")
    runner: str = setting("DirectRunner", help="Apache Beam runner of the per-batch pipeline (PortableRunner: "
                                               "a Flink job server, see pipeline_args)")
    pipeline_args: list[str] = setting([], help="Extra Beam pipeline flags, comma separated (e.g. "
                                                "--job_endpoint=flink-jobserver:8099,--environment_type=LOOPBACK)")
    batch_max_messages: int = setting(50000, minimum=1, maximum=1_000_000,
                                      help="Most messages one bounded read (one Beam pipeline run) takes, "
                                           "shared out over the partitions with a backlog (each batch costs "
                                           "about half a second of pipeline start, connections and bounds)")
    split_messages: int = setting(50000, minimum=100, maximum=10_000_000,
                                  help="Largest offset range a runner reads as one piece (splits run in parallel)")
    poll_timeout_ms: int = setting(500, minimum=10, maximum=60000, help="Timeout of one Kafka poll")
    read_timeout_s: float = setting(30.0, minimum=0.1, maximum=600,
                                    help="Longest a read waits for the next record of its range, or for the "
                                         "partitions' high watermarks")
    session_timeout_ms: int = setting(6000, minimum=1000, maximum=300000,
                                      help="Consumer-group session: a replica silent this long loses its partitions")
    rebalance_timeout_ms: int = setting(30000, minimum=1000, maximum=3_600_000,
                                        help="Longest the group waits for replicas to rejoin in a rebalance (kafka-"
                                             "python's max_poll_interval_ms; also the longest one batch may take): "
                                             "its 5-minute default is what a group waits out for a member killed "
                                             "mid-join")
    max_message_bytes: int = setting(1_048_576, minimum=1024, maximum=100_000_000,
                                     help="Messages larger than this are rejected unread")
    dead_letter_max_bytes: int = setting(65536, minimum=256, maximum=1_000_000,
                                         help="Payload bytes kept in a dead letter and a landing.rejects row (the "
                                              "original size and SHA-256 are kept too)")
    max_failures: int = setting(10, minimum=1, maximum=1000,
                                help="Consecutive failed batches (broker or database away) before the writer exits")
    idle_sleep_s: float = setting(1.0, minimum=0, maximum=300,
                                  help="Pause between cycles when nothing was waiting (continuous mode)")
    write_chunk_rows: int = setting(10000, minimum=1, maximum=1_000_000,
                                    help="Rows per COPY + INSERT .. ON CONFLICT statement inside a bundle")
    dead_letter: bool = setting(True, help="Also send rejected messages to the dead-letter topic")


def settings(**overrides) -> LandingSettings:
    return load(LandingSettings, **overrides)
