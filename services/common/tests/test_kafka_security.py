"""Kafka security and topic durability settings (ANIMEREC_KAFKA_*): every client gets them, the topic creator
replicates each topic as configured (issue 14 item 7)."""

from __future__ import annotations

import pytest

from animerec.common import config, kafka, kafka_security
from animerec.common.config import ConfigError

SASL = {"ANIMEREC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "ANIMEREC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "ANIMEREC_KAFKA_SASL_USERNAME": "animerec", "ANIMEREC_KAFKA_SASL_PASSWORD": "s3cret",
        "ANIMEREC_KAFKA_SSL_CAFILE": "/etc/animerec/kafka-ca/ca.crt"}


def test_plaintext_adds_nothing():
    assert kafka_security.client_kwargs(kafka_security.load({})) == {}


def test_sasl_ssl_kwargs():
    assert kafka_security.client_kwargs(kafka_security.load(SASL)) == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256", "sasl_plain_username": "animerec",
        "sasl_plain_password": "s3cret", "ssl_check_hostname": True, "ssl_cafile": "/etc/animerec/kafka-ca/ca.crt"}
    ssl = kafka_security.load({"ANIMEREC_KAFKA_SECURITY_PROTOCOL": "SSL"})
    assert kafka_security.client_kwargs(ssl) == {"security_protocol": "SSL", "ssl_check_hostname": True}


def test_librdkafka_config_carries_the_same_security():
    assert kafka_security.librdkafka_config(kafka_security.load({})) == {}
    assert kafka_security.librdkafka_config(kafka_security.load(SASL)) == {
        "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "animerec",
        "sasl.password": "s3cret", "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": "/etc/animerec/kafka-ca/ca.crt"}
    ssl = kafka_security.load({"ANIMEREC_KAFKA_SECURITY_PROTOCOL": "SSL", "ANIMEREC_KAFKA_SSL_CHECK_HOSTNAME": "false"})
    assert kafka_security.librdkafka_config(ssl) == {
        "security.protocol": "ssl", "ssl.endpoint.identification.algorithm": "none", "ssl.ca.location": "probe"}


@pytest.mark.parametrize(("env", "message"), [
    ({"ANIMEREC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "ANIMEREC_KAFKA_SASL_USERNAME"),
    ({"ANIMEREC_KAFKA_SECURITY_PROTOCOL": "TLS"}, "ANIMEREC_KAFKA_SECURITY_PROTOCOL"),
    ({"ANIMEREC_KAFKA_REPLICATION_FACTOR": "2", "ANIMEREC_KAFKA_MIN_INSYNC_REPLICAS": "3"}, "exceeds"),
    ({"ANIMEREC_KAFKA_TOPIC_OVERRIDES": "ingest=3"}, "ANIMEREC_KAFKA_TOPIC_OVERRIDES"),
    ({"ANIMEREC_KAFKA_TOPIC_OVERRIDES": "ingest=1:2"}, "topic ingest"),
])
def test_bad_settings_are_refused_by_name(env, message):
    with pytest.raises(ConfigError, match=message):
        kafka_security.load(env)


def test_every_client_gets_the_security_settings(monkeypatch):
    for name, value in SASL.items():
        monkeypatch.setenv(name, value)
    kafka_security._from_process.cache_clear()
    try:
        options = kafka.client_options(config.core({}), "test")
        librdkafka = kafka.librdkafka_options(config.core({}), "test")
    finally:
        kafka_security._from_process.cache_clear()
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_plain_password"] == "s3cret"
    assert librdkafka["security.protocol"] == "sasl_ssl" and librdkafka["sasl.password"] == "s3cret"
    assert options["ssl_cafile"] == "/etc/animerec/kafka-ca/ca.crt"


class RecordingAdmin:
    def __init__(self):
        self.created = []

    def list_topics(self):
        return []

    def create_topics(self, topics):
        self.created.extend(topics)

    def close(self):
        pass


def test_topics_are_created_with_the_configured_replication(monkeypatch):
    monkeypatch.setenv("ANIMEREC_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("ANIMEREC_KAFKA_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("ANIMEREC_KAFKA_TOPIC_OVERRIDES", "deadletter=5:3")
    admin = RecordingAdmin()
    monkeypatch.setattr(kafka, "_admin", lambda settings: admin)
    kafka_security._from_process.cache_clear()
    try:
        kafka.ensure_topics(config.core({}))
    finally:
        kafka_security._from_process.cache_clear()
    by_name = {t.name: t for t in admin.created}
    assert len(by_name) >= 5
    deadletter = by_name["animerec.deadletter"]
    assert (deadletter.replication_factor, deadletter.topic_configs["min.insync.replicas"]) == (5, "3")
    for name, topic in by_name.items():
        if name != "animerec.deadletter":
            assert (topic.replication_factor, topic.topic_configs["min.insync.replicas"]) == (3, "2"), name
        assert "retention.ms" in topic.topic_configs
