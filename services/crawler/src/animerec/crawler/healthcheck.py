"""Container health check: `crawl serve` answers /healthz; a worker only has its metrics endpoint,
which is up while the process runs. Exit 0 when either answers 200."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("ANIMEREC_CRAWLER_PORT", "8081")
    metrics = os.environ.get("ANIMEREC_METRICS_PORT", "9100")
    for url in (f"http://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{metrics}/metrics"):
        try:
            with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 (fixed local URLs)
                if response.status == 200:
                    return 0
        except OSError:
            continue
    return 1


if __name__ == "__main__":
    sys.exit(main())
