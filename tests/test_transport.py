"""The resilient MQTT client: clear connection errors, reconnection with backoff, counted drops."""

import logging
import time

import pytest
from mqtt_fixtures import Inbox, wait_until

from simulators.broker import EmbeddedBroker, free_port
from simulators.errors import BrokerError
from simulators.transport import MqttClient


def test_unreachable_broker_raises_a_clear_error_quickly():
    started = time.monotonic()
    with pytest.raises(BrokerError, match=r"cannot reach mqtt://127\.0\.0\.1:1: connection refused"):
        MqttClient("mqtt://127.0.0.1:1").connect()
    assert time.monotonic() - started < 3


def test_unknown_host_raises_broker_error():
    with pytest.raises(BrokerError, match=r"cannot reach mqtt://no-such-host\.invalid:1883: unknown host"):
        MqttClient("mqtt://no-such-host.invalid", connect_timeout_s=2).connect()


def test_messages_flow_and_are_counted(embedded_broker):
    with MqttClient(embedded_broker.url) as publisher, MqttClient(embedded_broker.url) as subscriber:
        inbox = Inbox(subscriber, "sandbox/t/#")
        for n in range(5):
            assert publisher.publish(f"sandbox/t/{n}", str(n).encode(), qos=n % 2)
        assert publisher.flush(timeout_s=2)
        wait_until(lambda: len(inbox.drain(quiet_s=0.05)) == 5, what="5 messages")
        assert sorted(m.payload for m in inbox.messages) == [b"0", b"1", b"2", b"3", b"4"]
        assert (publisher.stats.published, publisher.stats.delivered, publisher.stats.dropped) == (5, 5, 0)


def test_a_failing_subscriber_callback_is_logged_and_does_not_stop_the_client(embedded_broker, caplog):
    def explode(message):
        raise RuntimeError("learner bug")

    with MqttClient(embedded_broker.url) as client:
        client.subscribe("sandbox/boom", explode)
        inbox = Inbox(client, "sandbox/ok")
        with caplog.at_level(logging.ERROR, logger="simulators.transport"):
            client.publish("sandbox/boom", b"1", qos=1)
            wait_until(lambda: client.stats.callback_errors == 1, what="callback error counted")
        client.publish("sandbox/ok", b"still alive", qos=1)
        assert inbox.wait_for().payload == b"still alive"
        assert "learner bug" in caplog.text


def test_client_reconnects_after_the_broker_restarts_and_drops_qos0_meanwhile(caplog):
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    try:
        # The subscriber comes back well before the publisher, so that it has renewed its subscription when the
        # publisher delivers what it buffered (a clean-session subscriber misses what is sent while it is away).
        publisher = MqttClient(broker.url, reconnect_min_s=2.0, reconnect_max_s=2.0).connect()
        subscriber = MqttClient(broker.url, reconnect_min_s=0.05, reconnect_max_s=0.2).connect()
        inbox = Inbox(subscriber, "sandbox/r/#")
        publisher.publish("sandbox/r/meta", b"retained", qos=1, retain=True)
        with caplog.at_level(logging.WARNING, logger="simulators.transport"):
            broker.stop()
            wait_until(lambda: publisher.status == "reconnecting", what="publisher notices the loss")
        assert "lost connection" in caplog.text
        assert not publisher.publish("sandbox/r/reading", b"lost", qos=0)
        assert publisher.stats.dropped == 1
        assert publisher.publish("sandbox/r/event", b"kept", qos=1)  # buffered until reconnection

        broker = EmbeddedBroker(port=port).start()
        assert subscriber.wait_connected(10) and publisher.wait_connected(10)

        def a_reading_gets_through() -> bool:
            # QoS 0 is best effort: until the subscriber's subscription is renewed, readings may be lost.
            publisher.publish("sandbox/r/reading", b"again", qos=0)
            try:
                inbox.wait_for(lambda m: m.payload == b"again", timeout_s=0.2)
            except AssertionError:
                return False
            return True

        wait_until(a_reading_gets_through, what="a reading after the reconnection")
        inbox.wait_for(lambda m: m.payload == b"kept")
        assert b"lost" not in [m.payload for m in inbox.messages]
        # the restarted broker forgot retained messages; the client re-published them
        with MqttClient(broker.url) as late:
            assert Inbox(late, "sandbox/r/meta").wait_for().payload == b"retained"
        assert publisher.stats.reconnects == 1 and subscriber.stats.reconnects == 1
        publisher.close()
        subscriber.close()
        assert publisher.status == "closed"
    finally:
        broker.stop()


def test_a_missing_ca_file_or_client_certificate_is_one_line(tmp_path):
    with pytest.raises(BrokerError, match=r"^broker mqtts://broker\.lab:8883: CA file .*nope\.pem: no such file$"):
        MqttClient(f"mqtts://broker.lab?ca={tmp_path / 'nope.pem'}")
    with pytest.raises(BrokerError, match=r"client certificate .*plant\.pem: no such file$"):
        MqttClient(f"mqtts://broker.lab?cert={tmp_path / 'plant.pem'}")
    (tmp_path / "garbage.pem").write_text("not a certificate")
    with pytest.raises(BrokerError, match="cannot use its CA file or client certificate"):
        MqttClient(f"mqtts://broker.lab?ca={tmp_path / 'garbage.pem'}")


def test_the_broker_password_is_taken_from_the_environment(embedded_broker, monkeypatch):
    monkeypatch.setenv("FACTORYLAB_BROKER_USERNAME", "ada")
    monkeypatch.setenv("FACTORYLAB_BROKER_PASSWORD", "s3cret")
    client = MqttClient(embedded_broker.url)
    assert (client.address.username, client.address.password) == ("ada", "s3cret")
    assert "s3cret" not in client.url and "s3cret" not in repr(client.address)
