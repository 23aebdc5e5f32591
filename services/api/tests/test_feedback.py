"""POST /v1/feedback against the real (Tansu) broker: what is accepted lands on the feedback topic."""

import time

import pytest

from animerec.common import contracts
from animerec.common.kafka import EventConsumer, topic_name

pytestmark = pytest.mark.integration


@pytest.fixture()
def kafka_client(redis_url, published, make_client, kafka_bootstrap):
    with make_client(redis_url, kafka=kafka_bootstrap) as c:
        yield c


def test_feedback_is_produced_to_the_feedback_topic(kafka_client, core_settings, unique):
    sent = {}
    for action, position in (("like", 0), ("dislike", 3), ("click", 1)):
        r = kafka_client.post("/v1/feedback", json={"user": "Xinil", "anime_id": 5114, "action": action,
                                                    "context": {"surface": "api", "position": position,
                                                                "model_version": "v1", "request_id": "r-1"}})
        assert r.status_code == 202, r.text
        sent[r.json()["event_id"]] = (action, position)

    got = {}
    with EventConsumer(core_settings, f"test-feedback-{unique}", [topic_name(core_settings, "feedback")]) as consumer:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not set(sent) <= set(got):
            for event in consumer.poll(500):
                assert event.error is None, event.error
                got[event.value["event_id"]] = event
    assert set(sent) <= set(got)
    for event_id, (action, position) in sent.items():
        event = got[event_id]
        contracts.validate("feedback", event.value)
        assert event.key == "Xinil" and event.schema == "feedback"
        assert event.value["action"] == action and event.value["context"]["position"] == position
        assert event.value["anime_id"] == 5114
    metrics = kafka_client.get("/metrics").text
    assert 'animerec_api_feedback_events_total{action="like"} 1.0' in metrics


@pytest.mark.parametrize("headers, body, status", [
    ({"content-type": "text/plain"}, b'{"user": "Xinil", "anime_id": 1, "action": "like"}', 415),
    ({"content-type": "application/json"}, b"{" + b" " * 5000 + b"}", 413),
    ({"content-type": "application/json"}, b"nope", 400),
    ({"content-type": "application/json"}, b'{"user": "Xinil", "anime_id": 0, "action": "like"}', 422),
    ({"content-type": "application/json; charset=utf-8"},
     b'{"user": "Xinil", "anime_id": 1, "action": "like", "context": {"model_version": "' + b"x" * 65 + b'"}}', 422),
])
def test_bad_feedback_is_4xx_and_produces_nothing(kafka_client, headers, body, status):
    r = kafka_client.post("/v1/feedback", content=body, headers=headers)
    assert r.status_code == status and r.json()["error"]["message"]
    assert "animerec_api_feedback_events_total{" not in kafka_client.get("/metrics").text


def test_kafka_down_is_503_with_retry_after(client):
    r = client.post("/v1/feedback", json={"user": "Xinil", "anime_id": 1, "action": "like"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["error"]["code"] == "feedback_unavailable"
