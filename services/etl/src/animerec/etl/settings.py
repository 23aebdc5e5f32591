"""Settings of the ETL (ANIMEREC_ETL_*)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from animerec.common.config import load, setting


@dataclass(frozen=True)
class EtlSettings:
    env_prefix = "ANIMEREC_ETL_"

    relation_depth: int = setting(3, minimum=1, maximum=10,
                                  help="How many relation hops (sequel of a sequel, ...) related anime are expanded")
    results_dir: Path = setting(Path(".animerec/etl"),
                                help="Where each run's validation result JSON is written (also kept in etl.runs)")
    pushgateway_url: str = setting("", help="Prometheus Pushgateway to push the run's metrics to (empty: off)")
    statement_timeout_s: int = setting(0, minimum=0, help="PostgreSQL statement timeout of ETL steps (0: none)")


def settings(**overrides) -> EtlSettings:
    return load(EtlSettings, **overrides)
