"""`animerec api` as a real process: serves, answers from Redis, stops cleanly on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

ANIMEREC = str(Path(sys.executable).parent / "animerec")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_settings_are_listed():
    out = subprocess.run([ANIMEREC, "api", "--print-settings"], capture_output=True, text=True, check=True).stdout
    assert "ANIMEREC_API_CRAWLER_URL" in out and "ANIMEREC_API_PORT" in out


def test_bad_setting_is_a_clear_error():
    env = {**os.environ, "ANIMEREC_API_MAX_N": "lots"}
    proc = subprocess.run([ANIMEREC, "api"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0 and "ANIMEREC_API_MAX_N: expected an integer" in proc.stderr


def test_serves_and_stops_on_sigterm(redis_url, published):
    port = free_port()
    env = {**os.environ, "ANIMEREC_REDIS_URL": redis_url, "ANIMEREC_KAFKA_BOOTSTRAP": "127.0.0.1:9",
           "ANIMEREC_API_HOST": "127.0.0.1", "ANIMEREC_API_PORT": str(port), "ANIMEREC_LOG_FORMAT": "text"}
    proc = subprocess.Popen([ANIMEREC, "api"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.1)
        body = httpx.get(f"{base}/v1/users/Xinil/recommendations", params={"n": 3}).json()
        assert body["source"] == "model" and len(body["items"]) == 3
        assert "server" not in httpx.get(f"{base}/healthz").headers  # no server banner
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    # uvicorn finishes the shutdown, then re-raises the signal it caught: exit by SIGTERM is the clean path
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
