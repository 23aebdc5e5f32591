"""The core's Kafka security settings (ANIMEREC_KAFKA_*) as Java client properties for Flink's Kafka connector."""

from __future__ import annotations

from animerec.common.kafka_security import KafkaSecuritySettings

_LOGIN = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
          "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
          "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def java_properties(s: KafkaSecuritySettings) -> dict[str, str]:
    if s.security_protocol == "PLAINTEXT":
        return {}
    props = {"security.protocol": s.security_protocol}
    if s.security_protocol.startswith("SASL_"):
        props["sasl.mechanism"] = s.sasl_mechanism
        props["sasl.jaas.config"] = (f"{_LOGIN[s.sasl_mechanism]} required username={_quoted(s.sasl_username)} "
                                     f"password={_quoted(s.sasl_password)};")
    if s.security_protocol.endswith("SSL"):
        if s.ssl_cafile:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = s.ssl_cafile
        if not s.ssl_check_hostname:
            props["ssl.endpoint.identification.algorithm"] = ""
    return props
