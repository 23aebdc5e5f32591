"""Recommendation API under load: latency (p50/p99) at a fixed offered rate and the most requests per second,
of GET /v1/users/{name}/recommendations?n=20&sample=5 served by `animerec api` (one uvicorn worker), next
to raw Redis reads of the same keys (HGET of the same users' published lists) measured the same way in the
same run.

The load comes from a second process (this file run with --load): an open-loop generator that schedules
requests at the offered rate over persistent connections and measures each latency from its scheduled
start, so a slow server cannot hide queueing (no coordinated omission). Both clients speak the wire
protocol directly (HTTP/1.1, RESP), so the generator's own cost is small and the same for both.

Target (issue 7): p99 under 10 ms at 1,000 requests/s on the 2-core development machine.
Redis: ANIMEREC_BENCH_REDIS_URL (default the local server, database 0), keys under a private prefix removed after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from animerec.devkit.processes import stop

HERE = Path(__file__).resolve().parent
REDIS_URL = os.environ.get("ANIMEREC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = int(os.environ.get("ANIMEREC_BENCH_API_WORKERS", "1"))
PATH = "/v1/users/{}/recommendations?n=20&sample=5"


# --- load generator (runs in its own process) ------------------------------------------------------------------

async def _http_call(reader, writer, user: str) -> int:
    writer.write(f"GET {PATH.format(user)} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return int(head[9:12])


def _resp(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for p in parts:
        b = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


async def _redis_call(reader, writer, key: str, user: str) -> int:
    writer.write(_resp("HGET", key, user))
    line = await reader.readline()
    if line[:1] == b"$":
        size = int(line[1:])
        if size >= 0:
            await reader.readexactly(size + 2)
            return 200
        return 404
    raise RuntimeError(f"unexpected Redis reply {line[:80]!r}")


async def _load(target: str, host: str, port: int, key: str, users: list[str], rate: float | None,
                duration: float, conns: int) -> dict:
    """rate None: closed loop (each connection sends as fast as it gets answers)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue = asyncio.Queue()
    rng = random.Random(1)
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                if rate is None:
                    if time.perf_counter() >= deadline:
                        return
                    scheduled, user = time.perf_counter(), rng.choice(users)
                else:
                    item = await queue.get()
                    if item is None:
                        return
                    scheduled, user = item
                if target == "api":
                    status = await _http_call(reader, writer, user)
                else:
                    status = await _redis_call(reader, writer, key, user)
                latencies.append(time.perf_counter() - scheduled)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(conns)]
    await asyncio.sleep(0.2)  # connections open before the clock starts
    started = time.perf_counter()
    deadline = started + duration
    if rate is not None:
        total = int(rate * duration)
        for i in range(total):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((scheduled, rng.choice(users)))
        for _ in workers:
            queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"count": len(latencies), "elapsed": elapsed, "rate": len(latencies) / elapsed, "p50_ms": pct(0.50),
            "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
            "statuses": statuses}


def load_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--load", choices=("api", "redis"), required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", default="")
    p.add_argument("--users", required=True, help="file with one user name a line")
    p.add_argument("--rate", type=float, default=0, help="offered requests/s (0: closed loop)")
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--conns", type=int, default=32)
    a = p.parse_args(argv)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    users = Path(a.users).read_text().split()
    result = asyncio.run(_load(a.load, a.host, a.port, a.key, users, a.rate or None, a.duration, a.conns))
    print(json.dumps(result))


# --- orchestration (runs inside `make bench`) ------------------------------------------------------------------

def _world(n_users: int, n_anime: int, per_user: int, seen_per_user: int, seed: int = 7):
    rng = random.Random(seed)
    anime = list(range(1, n_anime + 1))
    genres = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Slice of Life", "Fantasy", "Mystery"]
    cards = {a: {"title": f"Anime {a}", "main_pic": f"https://cdn.myanimelist.net/images/anime/{a}.jpg",
                 "score": round(rng.uniform(5, 9.3), 2), "genres": rng.sample(genres, 3),
                 "url": f"https://myanimelist.net/anime/{a}", "type": "TV"} for a in anime}
    users, seen, recs = [], {}, {}
    for u in range(n_users):
        name = f"user_{u}"
        users.append(name)
        picked = rng.sample(anime, per_user + seen_per_user)
        seen[name] = set(picked[:seen_per_user])
        recs[name] = [(a, 1.0 - k / per_user, f"because you completed Anime {picked[0]}" if k % 3 == 0 else None)
                      for k, a in enumerate(picked[seen_per_user:])]
    similar = {a: [(b, 0.5) for b in rng.sample(anime, 20)] for a in anime[:1000]}
    return users, recs, similar, cards, anime[:200], anime[200:400], seen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its direct children (uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == root_pid or ppid == root_pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _redis_cpu(redis) -> float:
    info = redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _run_load(args: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wait_http(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"animerec api exited: {proc.stdout.read()[-2000:] if proc.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError("animerec api did not come up")


def run(quick: bool) -> list:
    from urllib.parse import urlsplit

    from run import Row

    from animerec.common import cache
    from animerec.common.recstore import RecStore

    load_before = os.getloadavg()[0]  # other work on the machine skews latency: say how busy it was
    n_users = 2_000 if quick else 50_000
    duration = 3.0 if quick else 10.0
    rate = 1000.0
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    redis = cache.client(REDIS_URL, socket_timeout=30)
    store = RecStore(redis, prefix)
    users, recs, similar, cards, popular, trending, seen = _world(n_users, 10_000, 100, 50)
    t0 = time.perf_counter()
    version = store.publish(recs, similar, cards, popular, trending, seen)
    publish_s = time.perf_counter() - t0
    users_file = HERE / "results" / f".bench_api_users_{os.getpid()}.txt"
    users_file.parent.mkdir(parents=True, exist_ok=True)
    users_file.write_text("\n".join(users))

    port = _free_port()
    env = {**os.environ, "ANIMEREC_REDIS_URL": REDIS_URL, "ANIMEREC_REDIS_PREFIX": prefix,
           "ANIMEREC_KAFKA_BOOTSTRAP": "127.0.0.1:9", "ANIMEREC_LOG_LEVEL": "WARNING",
           "ANIMEREC_API_HOST": "127.0.0.1", "ANIMEREC_API_PORT": str(port), "ANIMEREC_API_WORKERS": str(WORKERS)}
    server = subprocess.Popen([str(Path(sys.executable).parent / "animerec"), "api"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    redis_host = urlsplit(REDIS_URL)
    rkey = store.version_key(version, "users")
    common = ["--users", str(users_file), "--duration", str(duration)]
    api_args = ["--load", "api", "--port", str(port), *common]
    redis_args = ["--load", "redis", "--host", redis_host.hostname or "127.0.0.1",
                  "--port", str(redis_host.port or 6379), "--key", rkey, *common]
    if (redis_host.path or "/0") not in ("", "/", "/0"):
        raise RuntimeError("the raw Redis client speaks to database 0 only; point ANIMEREC_BENCH_REDIS_URL at /0")
    try:
        _wait_http(port, server)
        _run_load([*api_args, "--rate", "200", "--duration", "1"], 60)  # warm-up: connections, card cache
        timeout = duration * 6 + 60
        api_fixed = _run_load([*api_args, "--rate", str(rate)], timeout)
        redis_fixed = _run_load([*redis_args, "--rate", str(rate)], timeout)
        # half the target rate too: where latency stands when the server is not saturated
        api_half = _run_load([*api_args, "--rate", str(rate / 2)], timeout)
        redis_half = _run_load([*redis_args, "--rate", str(rate / 2)], timeout)
        cpu0 = _cpu_seconds(server.pid)
        api_max = _run_load([*api_args, "--conns", "16"], timeout)
        api_cpu_ms = (_cpu_seconds(server.pid) - cpu0) / api_max["count"] * 1000
        cpu0 = _redis_cpu(redis)
        redis_max = _run_load([*redis_args, "--conns", "16"], timeout)
        redis_cpu_ms = (_redis_cpu(redis) - cpu0) / redis_max["count"] * 1000
    finally:
        stop(server, 20)
        users_file.unlink(missing_ok=True)
        keys = list(redis.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 500):
            redis.delete(*keys[i:i + 500])
        redis.close()

    bad = {s: c for s, c in api_fixed["statuses"].items() if int(s) != 200}
    met = "met" if api_fixed["p99_ms"] < 10 and api_fixed["rate"] >= 0.97 * rate and not bad else "NOT met"
    world = (f"{n_users} users x 100 recs, 10k cards (published in {publish_s:.1f}s), {WORKERS} uvicorn worker(s), "
             f"{duration:.0f}s per figure; load average at start {load_before:.1f} on {os.cpu_count()} cores")
    return [
        Row(f"recommendations p50 @ {rate:.0f} req/s offered", api_fixed["p50_ms"], "ms",
            "raw Redis HGET of the same lists p50", redis_fixed["p50_ms"], note=world),
        Row(f"recommendations p99 @ {rate:.0f} req/s offered", api_fixed["p99_ms"], "ms",
            "raw Redis HGET of the same lists p99", redis_fixed["p99_ms"],
            note=f"target p99 < 10 ms at {rate:.0f} req/s: {met}; achieved {api_fixed['rate']:.0f} req/s, "
                 f"max {api_fixed['max_ms']:.1f} ms, non-200: {bad or 'none'}"),
        Row(f"recommendations p99 @ {rate / 2:.0f} req/s offered", api_half["p99_ms"], "ms",
            "raw Redis HGET of the same lists p99", redis_half["p99_ms"],
            note=f"p50 {api_half['p50_ms']:.2f} ms (Redis {redis_half['p50_ms']:.2f} ms); achieved "
                 f"{api_half['rate']:.0f} req/s"),
        Row("recommendations max throughput (closed loop, 16 connections)", api_max["rate"], "req/s",
            "raw Redis HGET, same clients", redis_max["rate"], higher_is_better=True,
            note=f"p99 {api_max['p99_ms']:.1f} ms under saturation"),
        Row("API server CPU per request (closed loop)", api_cpu_ms, "ms", "redis-server CPU per HGET, same run",
            redis_cpu_ms, note=f"one core's worth of API CPU serves about {1000 / api_cpu_ms:.0f} req/s"),
    ]


if __name__ == "__main__":
    if "--load" in sys.argv:
        load_main(sys.argv[1:])
    else:
        sys.path.insert(0, str(HERE))
        for row in run("--quick" in sys.argv):
            print(row)
