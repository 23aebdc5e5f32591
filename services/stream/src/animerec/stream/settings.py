"""Streaming job settings, from ANIMEREC_STREAM_* variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from animerec.common.config import setting


@dataclass(frozen=True)
class StreamSettings:
    env_prefix = "ANIMEREC_STREAM_"

    group_id: str = setting("animerec-stream", help="Kafka consumer group of the job (offsets live in its checkpoints)")
    window_hours: float = setting(24.0, minimum=0.01, help="Length of the trending window (hopping)")
    slide_minutes: float = setting(5.0, minimum=0.1, help="How often the trending window moves")
    allowed_lateness_seconds: int = setting(
        120, minimum=0, maximum=86400,
        help="Out-of-orderness the watermark waits for (and how far it stays behind the clock while the topics are "
             "quiet); later events are counted as late and left out of windows")
    idle_seconds: int = setting(30, minimum=1, help="A Kafka partition without events this long stops holding back the "
                                                    "watermark; once all are, it follows the wall clock")
    item_max_age_hours: float = setting(
        48.0, minimum=0,
        help="A crawled list entry or activity counts only if its own date is this recent at crawl time (old history "
             "seen for the first time is not a trend)")
    top_n: int = setting(100, minimum=1, maximum=10000, help="Length of the trending list written to Redis")
    genre_top_n: int = setting(20, minimum=1, maximum=1000, help="Length of each per-genre trending list")
    weight_completed: float = setting(3.0, minimum=0, help="Trending weight of a completion")
    weight_started: float = setting(2.0, minimum=0, help="Trending weight of a start (list status watching)")
    weight_episode: float = setting(1.0, minimum=0, help="Trending weight of an episode watched (activity item)")
    weight_like: float = setting(3.0, minimum=0, help="Trending weight of a like on our page")
    weight_click: float = setting(1.0, minimum=0, help="Trending weight of a click on our page")
    catalogue_refresh_seconds: int = setting(
        60, minimum=1, help="How often the job re-reads the published catalogue (events for unknown anime are poison)")
    checkpoint_dir: Path = setting(Path(".animerec/stream-checkpoints"),
                                   help="Checkpoint storage (a path or a file:// / s3:// URI)")
    checkpoint_interval_seconds: int = setting(10, minimum=1, help="How often the job checkpoints its state")
    restart_attempts: int = setting(10, minimum=0, maximum=1000,
                                    help="Restarts from the last checkpoint after a failure before the job fails")
    parallelism: int = setting(1, minimum=1, maximum=256, help="Parallelism of the job")
    connector_jars: Path | None = setting(
        None, help="Folder holding the Kafka/JDBC connector jars (default: the shigawire-apache-flink-libraries wheel "
                   "unpacked under .venv-stream/connectors)")
