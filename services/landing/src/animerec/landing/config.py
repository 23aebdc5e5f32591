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
    runner: str = setting("DirectRunner", help="Apache Beam runner of the per-batch pipeline")
    batch_max_messages: int = setting(5000, minimum=1, maximum=1_000_000,
                                      help="Most messages one bounded read (one Beam pipeline run) takes")
    poll_timeout_ms: int = setting(500, minimum=10, maximum=60000, help="Timeout of one Kafka poll")
    read_timeout_s: float = setting(10.0, minimum=0.1, maximum=600,
                                    help="Longest a bounded read waits for the partitions' high watermarks")
    idle_sleep_s: float = setting(1.0, minimum=0, maximum=300,
                                  help="Pause between cycles when nothing was waiting (continuous mode)")
    write_chunk_rows: int = setting(10000, minimum=1, maximum=1_000_000,
                                    help="Rows per COPY + INSERT .. ON CONFLICT statement inside a bundle")
    batch_dir: str = setting("", help="Scratch folder for the batch file each pipeline reads (empty: system temp; "
                                      "a shared path for runners that run elsewhere)")
    dead_letter: bool = setting(True, help="Also send rejected messages to the dead-letter topic")


def settings(**overrides) -> LandingSettings:
    return load(LandingSettings, **overrides)
