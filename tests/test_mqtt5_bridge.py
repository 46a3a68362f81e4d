"""MQTT 5 and 3.1 clients on the embedded broker (amqtt speaks 3.1.1): Debian's mosquitto clients and paho."""

import json
import logging
import socket
import subprocess

import paho.mqtt.client as paho
import pytest
from mqtt_fixtures import WAIT_S, Inbox, wait_until
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from simulators.live import LivePlant
from simulators.mqtt5_bridge import packet, varint
from simulators.transport import MqttClient


@pytest.fixture
def plant():
    """A live plant on the default (embedded) broker, as `factorylab plant run` starts it."""
    live = LivePlant(seed=4, speed=120.0).start()
    yield live
    live.stop()


def _mosquitto(clients, tool: str, version: str, port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(clients / tool), "-V", version, "-h", "127.0.0.1", "-p", str(port), *args],
                          capture_output=True, text=True, timeout=WAIT_S + 5)


@pytest.mark.parametrize("version", ["mqttv5", "mqttv31", "mqttv311"])
def test_mosquitto_clients_of_every_version_read_the_plant_and_command_it(plant, mosquitto_clients, version):
    port = int(plant.broker_url.rsplit(":", 1)[1])
    status = _mosquitto(mosquitto_clients, "mosquitto_sub", version, port, "-t", f"{plant.prefix}/_status",
                        "-C", "1", "-W", str(int(WAIT_S)))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "running"  # the retained status, delivered to this version
    with MqttClient(plant.broker_url) as watcher:
        replies = Inbox(watcher, f"{plant.prefix}/_reply")
        command = {"id": f"from-{version}", "command": "set_speed", "station": "cnc", "value": 1.2}
        sent = _mosquitto(mosquitto_clients, "mosquitto_pub", version, port, "-t", f"{plant.prefix}/_cmd",
                          "-q", "1", "-m", json.dumps(command))
        assert sent.returncode == 0, sent.stderr
        reply = json.loads(replies.wait_for(lambda m: json.loads(m.payload)["id"] == command["id"]).payload)
    assert reply["ok"] is True


def test_an_mqtt5_client_gets_an_assigned_id_reason_codes_and_its_messages(embedded_broker):
    received, unsubscribed, connected = [], [], []
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="", protocol=paho.MQTTv5)
    client.on_connect = lambda _c, _u, _f, reason, properties: connected.append((reason, properties))
    client.on_message = lambda _c, _u, message: received.append(message)
    client.on_unsubscribe = lambda _c, _u, _mid, reasons, _p: unsubscribed.append(reasons)
    client.connect("127.0.0.1", embedded_broker.port)
    client.loop_start()
    try:
        wait_until(lambda: connected, what="CONNACK")
        reason, properties = connected[0]
        assert not reason.is_failure and properties.AssignedClientIdentifier.startswith("mqtt5-")
        client.subscribe("sandbox/v5/#", qos=1)
        with MqttClient(embedded_broker.url) as classic:
            wait_until(lambda: classic.publish("sandbox/v5/x", b"from 3.1.1", qos=1) and received,
                       what="a message from an MQTT 3.1.1 client")
        client.publish("sandbox/v5/y", b"from 5", qos=1).wait_for_publish(WAIT_S)
        wait_until(lambda: any(m.payload == b"from 5" for m in received), what="its own message back")
        client.unsubscribe(["sandbox/v5/#", "sandbox/other"])
        wait_until(lambda: unsubscribed, what="UNSUBACK")
        assert [code.value for code in unsubscribed[0]] == [0, 0]  # one reason code per filter, as MQTT 5 wants
    finally:
        client.disconnect()
        client.loop_stop()


def test_an_mqtt5_client_refused_is_told_not_authorized():
    from simulators.broker import Account, EmbeddedBroker

    with EmbeddedBroker(accounts=(Account("ada", "ada-pw", "learner"),)) as broker:
        answers = []
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        client.username_pw_set("ada", "wrong")
        client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(reason)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        try:
            wait_until(lambda: answers, what="CONNACK")
        finally:
            client.loop_stop()
        assert answers[0].is_failure and answers[0].value in (0x86, 0x87)


def test_an_mqtt5_disconnect_with_will_publishes_the_will(embedded_broker):
    with MqttClient(embedded_broker.url) as watcher:
        wills = Inbox(watcher, "sandbox/will")
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        client.will_set("sandbox/will", b"gone", qos=1)
        client.connect("127.0.0.1", embedded_broker.port)
        client.loop_start()
        try:
            wait_until(client.is_connected, what="connected")
            client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
        finally:
            client.loop_stop()
        assert wills.wait_for().payload == b"gone"


def test_an_unknown_protocol_level_gets_its_connack_and_one_log_line(embedded_broker, caplog):
    body = b"\x00\x04MQTT" + bytes([6, 0x02]) + b"\x00\x3c" + b"\x00\x01x"
    with caplog.at_level(logging.WARNING), socket.create_connection(("127.0.0.1", embedded_broker.port)) as raw:
        raw.sendall(packet(0x10, body))
        raw.settimeout(WAIT_S)
        assert raw.recv(4) == b"\x20\x02\x00\x01"  # CONNACK: unacceptable protocol version
        assert raw.recv(1) == b""  # and the connection closed
    [record] = [r for r in caplog.records if "protocol level 6" in r.getMessage()]
    assert record.exc_info is None and "Traceback" not in caplog.text


def test_remaining_lengths_are_encoded_as_mqtt_variable_integers():
    assert [varint(n) for n in (0, 127, 128, 16_383, 16_384)] == [
        b"\x00", b"\x7f", b"\x80\x01", b"\xff\x7f", b"\x80\x80\x01"]
