"""Against a real Mosquitto: reconnection after a broker restart, and ACLs guarding the command topic."""

import json

import pytest
from mqtt_fixtures import Inbox, wait_until

from simulators.broker import Account
from simulators.errors import BrokerError
from simulators.live import LivePlant
from simulators.topics import parse_sensor_topic
from simulators.transport import MqttClient

pytestmark = pytest.mark.mosquitto

ACCOUNTS = (Account("plant", "plant-pw", "plant"), Account("ada", "ada-pw", "learner"),
            Account("olga", "olga-pw", "operator"))


def _client(url: str) -> MqttClient:
    return MqttClient(url, reconnect_min_s=0.05, reconnect_max_s=0.2).connect()


def test_clients_come_back_after_mosquitto_restarts_and_messages_flow_again(mosquitto):
    publisher, subscriber = _client(mosquitto.url), _client(mosquitto.url)
    try:
        inbox = Inbox(subscriber, "sandbox/#")
        publisher.publish("sandbox/meta", b"retained", qos=1, retain=True)
        publisher.publish("sandbox/x", b"before", qos=0)
        inbox.wait_for(lambda m: m.payload == b"before")

        mosquitto.stop()
        wait_until(lambda: publisher.status == subscriber.status == "reconnecting", what="both clients notice")
        assert not publisher.publish("sandbox/x", b"while-down", qos=0)
        assert publisher.stats.dropped == 1 and publisher.stats.last_error.startswith("connection lost")

        mosquitto.start()
        assert publisher.wait_connected(5) and subscriber.wait_connected(5)
        publisher.publish("sandbox/x", b"after", qos=0)
        inbox.wait_for(lambda m: m.payload == b"after")
        assert publisher.stats.reconnects == 1 and subscriber.stats.reconnects == 1
        with MqttClient(mosquitto.url) as late:  # Mosquitto ran without persistence: the retained copy is new
            assert Inbox(late, "sandbox/meta").wait_for().payload == b"retained"
    finally:
        publisher.close()
        subscriber.close()


def test_live_plant_keeps_streaming_across_a_mosquitto_restart(mosquitto):
    live = LivePlant(seed=6, broker_url=mosquitto.url, speed=300.0).start()
    try:
        mosquitto.stop()
        wait_until(lambda: live.client_status == "reconnecting", what="the plant notices the outage")
        mosquitto.start()
        wait_until(lambda: live.client_status == "connected", what="the plant reconnects")
        with MqttClient(mosquitto.url) as learner:
            readings = Inbox(learner, "factorylab/+/+/+/+/+")
            readings.wait_for(lambda m: parse_sensor_topic(m.topic) is not None)
            assert Inbox(learner, "factorylab/+/+/+/+/+/_meta").wait_for()  # re-published metadata
    finally:
        summary = live.stop()
    assert summary.reconnects == 1


def test_wrong_password_is_refused_clearly(mosquitto_factory):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    with pytest.raises(BrokerError, match="refused the connection: Not authorized"):
        MqttClient(f"mqtt://ada:nope@127.0.0.1:{broker.port}").connect()


def test_acl_lets_an_operator_but_not_a_learner_command_the_plant(mosquitto_factory):
    broker = mosquitto_factory(accounts=ACCOUNTS)
    live = LivePlant(seed=2, broker_url=broker.url_for("plant"), speed=600.0).start()
    try:
        with MqttClient(broker.url_for("ada")) as ada, MqttClient(broker.url_for("olga")) as olga:
            ada_replies, olga_replies = Inbox(ada, f"{live.prefix}/_reply"), Inbox(olga, f"{live.prefix}/_reply")
            command = {"command": "set_speed", "station": "cnc", "value": 1.2}
            ada.publish(f"{live.prefix}/_cmd", json.dumps({"id": "learner", **command}).encode(), qos=1)
            assert ada.flush(timeout_s=2)  # acknowledged by Mosquitto, and dropped by its ACL
            olga.publish(f"{live.prefix}/_cmd", json.dumps({"id": "operator", **command}).encode(), qos=1)
            reply = json.loads(olga_replies.wait_for().payload)
            assert reply["id"] == "operator" and reply["ok"] is True
            # the learner reads the plant (replies included) but its own command never reached it
            ada_replies.wait_for(lambda m: json.loads(m.payload)["id"] == "operator")
            assert [json.loads(m.payload)["id"] for m in olga_replies.drain()] == ["operator"]
    finally:
        summary = live.stop()
    assert summary.commands_ok == 1 and summary.commands_refused == 0
