"""`helm test`: the API is ready, a version is published, and a known user gets model recommendations.

Run by the chart's test hook Pod in the API image. The known user is ANIMEREC_TEST_USER, or else a user of the
latest promoted user -> anime run in PostgreSQL (ANIMEREC_POSTGRES_URL, from the release's Secret).
Exit 0: all good; 1: a check failed (the message says which).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

KNOWN_USER_SQL = """SELECT u.user_name FROM models.user_recommendations r
                    JOIN models.runs m USING (run_id) JOIN processed."user" u USING (user_id)
                    WHERE m.pipeline = 'user_anime' AND m.promoted ORDER BY m.created_at DESC, r.rank LIMIT 1"""


class CheckFailed(RuntimeError):
    pass


def get(base: str, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(base.rstrip("/") + path, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body or b"null")
        except ValueError:
            return exc.code, body.decode(errors="replace")


def known_user() -> str:
    if os.environ.get("ANIMEREC_TEST_USER"):
        return os.environ["ANIMEREC_TEST_USER"]
    import psycopg

    with psycopg.connect(os.environ["ANIMEREC_POSTGRES_URL"], connect_timeout=10) as conn:
        row = conn.execute(KNOWN_USER_SQL).fetchone()
    if row is None:
        raise CheckFailed("no promoted user -> anime run in models.runs: train and publish first "
                          "(or set tests.user)")
    return str(row[0])


def check(base: str, user: str, *, wait_seconds: float = 60.0) -> list[str]:
    """Every check in order; returns what passed, raises CheckFailed on the first failure."""
    passed = []
    deadline = time.monotonic() + wait_seconds
    while True:  # a rollout may still be finishing when the test starts
        status, ready = get(base, "/readyz")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(2)
    if status != 200:
        raise CheckFailed(f"/readyz answered {status}: {ready}")
    passed.append("API ready")
    if not (isinstance(ready, dict) and ready.get("version")):
        raise CheckFailed(f"no version published (/readyz: {ready}): run the pipelines' publish step")
    passed.append(f"version {ready['version']} published")
    status, recs = get(base, f"/v1/users/{urllib.parse.quote(user, safe='')}/recommendations?n=5")
    if status != 200:
        raise CheckFailed(f"recommendations for {user!r}: HTTP {status}: {recs}")
    if recs.get("source") != "model" or not recs.get("items"):
        raise CheckFailed(f"{user!r} got no model recommendations (source {recs.get('source')!r}, "
                          f"{len(recs.get('items') or [])} items)")
    passed.append(f"{len(recs['items'])} model recommendations for {user!r}")
    return passed


def main() -> int:
    base = os.environ.get("ANIMEREC_TEST_API_URL", "http://127.0.0.1:8000")
    try:
        for line in check(base, known_user()):
            print(f"ok   {line}", flush=True)
    except CheckFailed as exc:
        print(f"FAIL {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
