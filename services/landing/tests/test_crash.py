"""SIGKILL writers at random moments during a backlog; at the end every message landed exactly once.

Two writer processes share the consumer group all the time; after each sign of progress one of them,
chosen at random, is SIGKILLed at a random moment and a fresh one started, so kills land mid-read,
mid-pipeline, between the database commit and the offset commit, and mid-rebalance. The backlog size comes from
ANIMEREC_TEST_CRASH_MESSAGES (default 5000, sized to keep this test near a minute on 2 cores; the issue's
50k run is `ANIMEREC_TEST_CRASH_MESSAGES=50000`).
"""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from animerec.devkit import eventworld as world
from animerec.landing.writer import Writer

from .conftest import distinct_provenance, landed_counts, produce

MESSAGES = int(os.environ.get("ANIMEREC_TEST_CRASH_MESSAGES", "5000"))
KILLS = int(os.environ.get("ANIMEREC_TEST_CRASH_KILLS", "10"))
BATCH = os.environ.get("ANIMEREC_TEST_CRASH_BATCH", "100")  # small batches: many commit points, kills mid-backlog

# The 50k run needs more than the suite's default per-test timeout.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(max(600, MESSAGES // 20))]


def writer_env(core, group):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANIMEREC_")}
    env.update({
        "ANIMEREC_POSTGRES_URL": core.postgres_url, "ANIMEREC_KAFKA_BOOTSTRAP": core.kafka_bootstrap,
        "ANIMEREC_TOPIC_PREFIX": core.topic_prefix, "ANIMEREC_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "ANIMEREC_METRICS_PORT": "0", "ANIMEREC_LOG_FORMAT": "text", "ANIMEREC_LOG_LEVEL": "WARNING",
        "ANIMEREC_LANDING_GROUP": group, "ANIMEREC_LANDING_BATCH_MAX_MESSAGES": BATCH,
        "ANIMEREC_LANDING_IDLE_SLEEP_S": "0.2", "ANIMEREC_LANDING_SESSION_TIMEOUT_MS": "2000",
    })
    if os.environ.get("ANIMEREC_SCHEMAS_DIR"):
        env["ANIMEREC_SCHEMAS_DIR"] = os.environ["ANIMEREC_SCHEMAS_DIR"]
    return env


def total(core):
    return sum(landed_counts(core).values())


def test_sigkill_writers_during_backlog_lands_each_message_once(land_core, land_settings):
    items = world.messages(world.sized(MESSAGES))[:MESSAGES]
    produce(land_core, items)
    rng = random.Random()
    env = writer_env(land_core, land_settings.group)

    def start():
        return subprocess.Popen([sys.executable, "-m", "animerec.common.cli", "land"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    writers = [start(), start()]
    kills = []
    try:
        for _ in range(KILLS):
            # Wait for progress since the last kill, then kill at a random moment of the next batches.
            before, deadline = total(land_core), time.monotonic() + 60
            while total(land_core) == before and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 1.0))
            victim = writers.pop(rng.randrange(len(writers)))
            victim.send_signal(signal.SIGKILL)
            _, err = victim.communicate(timeout=30)
            assert victim.returncode == -signal.SIGKILL, err.decode()[-3000:]
            kills.append(total(land_core))
            writers.append(start())
    finally:
        for proc in writers:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
    print(f"backlog {MESSAGES}, rows landed at each kill: {kills}")
    # A fresh writer drains what is left.
    Writer(land_core, land_settings).run(once=True)
    counts = landed_counts(land_core)
    expected = {}
    for _, msg in items:
        expected[msg["item_type"]] = expected.get(msg["item_type"], 0) + 1
    for kind, n in expected.items():
        assert counts[kind] == n, f"{kind}: {counts[kind]} rows for {n} messages (kills at {kills})"
        assert distinct_provenance(land_core, kind) == n
    assert sum(counts.values()) == MESSAGES
    # The kills fell while there was still a backlog, not after it was drained.
    assert sum(1 for k in kills if k < MESSAGES) >= KILLS - 1, kills
