"""Kafka connection security and topic durability (ANIMEREC_KAFKA_*), read once: what every client and the topic
creator need on a production cluster (SASL over TLS, replicated topics), none of it needed by the local broker.

`client_kwargs()` is merged into every kafka-python client `animerec.common.kafka` builds, `librdkafka_config()`
into the librdkafka (confluent-kafka) ones: the landing writer's partition reader. The SASL username and
password come from a Secret (the chart's `kafka.security.existingSecret`), the CA bundle from a mounted file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import config
from .config import ConfigError, setting

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _overrides(text: str) -> dict[str, tuple[int, int]]:
    """`key=replicas:min_insync,...` (keys of schemas/topics.yaml) -> {key: (replicas, min_insync)}."""
    found: dict[str, tuple[int, int]] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        replicas, _, min_insync = value.partition(":")
        if not sep or not key.strip() or not replicas.strip().isdigit() or not min_insync.strip().isdigit():
            raise ValueError(f"bad topic override {item!r}: use key=replicas:min_insync, e.g. ingest=3:2")
        found[key.strip()] = (int(replicas), int(min_insync))
    return found


@dataclass(frozen=True)
class KafkaSecuritySettings:
    env_prefix = "ANIMEREC_KAFKA_"

    security_protocol: str = setting("PLAINTEXT", choices=PROTOCOLS, help="Security protocol of every Kafka client")
    sasl_mechanism: str = setting("SCRAM-SHA-512", choices=MECHANISMS,
                                  help="SASL mechanism when the protocol is SASL_PLAINTEXT or SASL_SSL")
    sasl_username: str = setting("", help="SASL username (from a Secret)")
    sasl_password: str = setting("", help="SASL password (from a Secret)", secret=True)
    ssl_cafile: str = setting("", help="PEM bundle of the CAs that signed the brokers' certificates (empty: the "
                                       "system's)")
    ssl_check_hostname: bool = setting(True, help="Check the brokers' certificate host names")
    replication_factor: int = setting(1, minimum=1, maximum=32, help="Replicas of every topic `topics create` makes")
    min_insync_replicas: int = setting(1, minimum=1, maximum=32,
                                       help="min.insync.replicas of every topic (producers write with acks=all)")
    topic_overrides: str = setting("", check=_overrides,
                                   help="Per-topic replicas, e.g. ingest=3:2,deadletter=3:2 (schemas/topics.yaml keys)")

    def __post_init__(self) -> None:
        if self.security_protocol.startswith("SASL_") and not (self.sasl_username and self.sasl_password):
            raise ConfigError(f"ANIMEREC_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                              "ANIMEREC_KAFKA_SASL_USERNAME and ANIMEREC_KAFKA_SASL_PASSWORD")
        for key, (replicas, min_insync) in {None: (self.replication_factor, self.min_insync_replicas),
                                            **_overrides(self.topic_overrides)}.items():
            if min_insync > replicas:
                where = f"topic {key}" if key else "ANIMEREC_KAFKA_MIN_INSYNC_REPLICAS"
                raise ConfigError(f"{where}: min.insync.replicas {min_insync} exceeds its {replicas} replicas")


def load(environ: Mapping[str, str] | None = None) -> KafkaSecuritySettings:
    return config.load(KafkaSecuritySettings, environ)


@functools.cache
def _from_process() -> KafkaSecuritySettings:
    return load()


def client_kwargs(settings: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments for the configured security (none for PLAINTEXT)."""
    s = settings or _from_process()
    if s.security_protocol == "PLAINTEXT":
        return {}
    kwargs: dict[str, Any] = {"security_protocol": s.security_protocol}
    if s.security_protocol.startswith("SASL_"):
        kwargs.update(sasl_mechanism=s.sasl_mechanism, sasl_plain_username=s.sasl_username,
                      sasl_plain_password=s.sasl_password)
    if s.security_protocol.endswith("SSL"):
        kwargs["ssl_check_hostname"] = s.ssl_check_hostname
        if s.ssl_cafile:
            kwargs["ssl_cafile"] = s.ssl_cafile
    return kwargs


def librdkafka_config(settings: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """The same security as `client_kwargs`, as librdkafka properties (none for PLAINTEXT)."""
    s = settings or _from_process()
    if s.security_protocol == "PLAINTEXT":
        return {}
    config: dict[str, Any] = {"security.protocol": s.security_protocol.lower()}
    if s.security_protocol.startswith("SASL_"):
        config.update({"sasl.mechanism": s.sasl_mechanism, "sasl.username": s.sasl_username,
                       "sasl.password": s.sasl_password})
    if s.security_protocol.endswith("SSL"):
        config["ssl.endpoint.identification.algorithm"] = "https" if s.ssl_check_hostname else "none"
        # The wheel's librdkafka carries its own OpenSSL, which knows no system CA paths unless told to probe.
        config["ssl.ca.location"] = s.ssl_cafile or "probe"
    return config


def topic_durability(key: str, settings: KafkaSecuritySettings | None = None) -> tuple[int, dict[str, str]]:
    """(replication factor, topic configs) of the topic with this schemas/topics.yaml key."""
    s = settings or _from_process()
    replicas, min_insync = _overrides(s.topic_overrides).get(key, (s.replication_factor, s.min_insync_replicas))
    return replicas, {"min.insync.replicas": str(min_insync)}
