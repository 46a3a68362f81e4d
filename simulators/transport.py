"""A paho-mqtt client that fails clearly, survives a broker going away, and says how it is doing.

`MqttClient` wraps paho's threaded client (``CallbackAPIVersion.VERSION2``):

- `connect` either connects or raises BrokerError within `connect_timeout_s` ("cannot reach
  mqtt://127.0.0.1:1: connection refused"), never hangs;
- once connected, a lost connection is logged and retried by paho's network thread with exponential
  backoff (`reconnect_min_s` doubling up to `reconnect_max_s`); `status` reads ``"connected"``,
  ``"reconnecting"`` or ``"closed"`` and `stats` counts the reconnections;
- on every reconnection the client subscribes again and re-publishes the last retained message of each
  topic it retains, since a restarted broker without persistence has forgotten them;
- while disconnected, QoS 0 messages (sensor readings) are **dropped and counted** in `stats.dropped`:
  a stale reading replayed late is worse than a gap a learner can see. QoS 1 messages (events, states,
  replies) are **buffered** by paho and sent on reconnection, up to `max_queued` messages; beyond that
  bound they are dropped and counted too;
- an exception in a subscriber's callback is logged and counted, and does not kill the network thread.
"""

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho

from simulators.broker import BrokerAddress, parse_broker_url
from simulators.errors import BrokerError

logger = logging.getLogger(__name__)

MessageCallback = Callable[[paho.MQTTMessage], None]


@dataclass
class ClientStats:
    """Counters since the client was created; read them to report on a live stream."""

    published: int = 0  # accepted: sent, or queued for sending on reconnection (QoS 1)
    delivered: int = 0  # written to the broker (QoS 0) or acknowledged by it (QoS 1)
    dropped: int = 0  # not sent: disconnected (QoS 0) or buffer full (QoS 1)
    received: int = 0
    callback_errors: int = 0
    disconnects: int = 0
    reconnects: int = 0
    last_error: str | None = None


def _describe(exc: OSError, timeout_s: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    return exc.strerror or str(exc)


class MqttClient:
    """One connection to a broker, from a URL string or a `BrokerAddress`; use as a context manager."""

    def __init__(
        self,
        broker: BrokerAddress | str,
        *,
        client_id: str = "",
        will: tuple[str, bytes] | None = None,
        connect_timeout_s: float = 5.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        max_queued: int = 10_000,
        keepalive_s: int = 30,
    ) -> None:
        self.address = parse_broker_url(broker) if isinstance(broker, str) else broker
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.stats = ClientStats()
        self.status = "new"
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._connack: str | None = None  # refusal reason of the last CONNACK, None if accepted
        self._subscriptions: dict[str, tuple[MessageCallback, int]] = {}
        self._retained: dict[str, tuple[bytes, int]] = {}
        self._subacks: dict[int, list] = {}  # SUBACK reason codes by message id, until read
        self._subacks_changed = threading.Condition()
        self._renewing: set[int] = set()  # message ids of subscriptions renewed on connection

        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        client.connect_timeout = connect_timeout_s
        client.reconnect_delay_set(min_delay=reconnect_min_s, max_delay=reconnect_max_s)
        client.max_queued_messages_set(max_queued)
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            context = ssl.create_default_context(cafile=self.address.ca_path)
            if self.address.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
            client.tls_insecure_set(self.address.insecure)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_unmatched_message
        self._client = client

    @property
    def url(self) -> str:
        return self.address.url

    def connect(self) -> "MqttClient":
        """Connect and start the network thread; BrokerError if the broker cannot be reached or refuses."""
        self.status = "connecting"
        try:
            self._client.connect(self.address.host, self.address.port, keepalive=self.keepalive_s)
        except OSError as exc:
            self.status = "closed"
            raise BrokerError(f"cannot reach {self.url}: {_describe(exc, self.connect_timeout_s)}") from exc
        self._client.loop_start()
        answered = self._connected.wait(self.connect_timeout_s)
        if not answered or self._connack is not None:
            self.close()
            if not answered:
                raise BrokerError(f"cannot reach {self.url}: no MQTT answer within {self.connect_timeout_s:g} s")
            raise BrokerError(f"{self.url} refused the connection: {self._connack}")
        return self

    def close(self, *, flush_timeout_s: float = 2.0) -> None:
        """Send what is pending (bounded wait), disconnect and stop the network thread."""
        if self.status == "closed":
            return
        if self.status == "connected":
            self.flush(timeout_s=flush_timeout_s)
        self.status = "closed"
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> "MqttClient":
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the client is connected (again), at most `timeout_s` seconds."""
        return self._connected.wait(timeout_s) and self.status == "connected"

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> bool:
        """Send `payload`; False if it was dropped (see the module docstring for when)."""
        if retain:
            with self._lock:
                self._retained[topic] = (payload, qos)
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        accepted = info.rc == paho.MQTT_ERR_SUCCESS or (qos > 0 and info.rc == paho.MQTT_ERR_NO_CONN)
        with self._lock:
            if accepted:
                self.stats.published += 1
            else:
                self.stats.dropped += 1
        return accepted

    def flush(self, *, timeout_s: float) -> bool:
        """Wait until every accepted message is delivered; False if `timeout_s` ran out first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.stats.delivered >= self.stats.published:
                    return True
            time.sleep(0.005)
        return False

    def subscribe(self, topic_filter: str, callback: MessageCallback, *, qos: int = 1) -> None:
        """Call `callback(message)` for each message matching `topic_filter`, on paho's network thread.

        When connected, returns once the broker has acknowledged the subscription (BrokerError if it
        refuses it); the subscription is renewed on every reconnection. Keep callbacks short: hand the message to
        your own thread (a queue) for anything slow.
        """

        def guarded(_client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
            with self._lock:
                self.stats.received += 1
            try:
                callback(message)
            except Exception:
                with self._lock:
                    self.stats.callback_errors += 1
                logger.exception("subscriber of %s failed on a message from %s", topic_filter, message.topic)

        self._subscriptions[topic_filter] = (callback, qos)
        self._client.message_callback_add(topic_filter, guarded)
        if self.status == "connected":
            self._subscribe_and_wait(topic_filter, qos)

    def _subscribe_and_wait(self, topic_filter: str, qos: int) -> None:
        """Subscribe and wait for the broker's SUBACK, so messages published after this call arrive."""
        _rc, mid = self._client.subscribe(topic_filter, qos=qos)
        with self._subacks_changed:
            answered = self._subacks_changed.wait_for(lambda: mid in self._subacks, self.connect_timeout_s)
            codes = self._subacks.pop(mid, None)
        if not answered:
            raise BrokerError(f"{self.url}: no answer to the subscription to {topic_filter!r}")
        if any(code.is_failure for code in codes):
            raise BrokerError(f"{self.url}: subscription to {topic_filter!r} refused (not allowed for this account)")

    # paho's callbacks, on its network thread

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self._connack = str(reason_code)
            with self._lock:
                self.stats.last_error = f"refused: {reason_code}"
            self._connected.set()
            return
        self._connack = None
        if self.status != "connecting":
            with self._lock:
                self.stats.reconnects += 1
                retained = list(self._retained.items())
            logger.info("reconnected to %s; re-publishing %d retained topics", self.url, len(retained))
            for topic, (payload, qos) in retained:
                self.publish(topic, payload, qos=qos, retain=True)
        # "connected" once the broker has acknowledged every renewed subscription (in _on_subscribe):
        # until then a message published by another client could still miss this one.
        with self._subacks_changed:
            self._renewing = {client.subscribe(f, qos=qos)[1] for f, (_cb, qos) in self._subscriptions.items()}
        if not self._renewing:
            self._mark_connected()

    def _mark_connected(self) -> None:
        self.status = "connected"
        self._connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if self.status == "closed":
            return
        self._connected.clear()
        with self._lock:
            self.stats.disconnects += 1
            self.stats.last_error = f"connection lost: {reason_code}"
        if self.status == "connected":
            logger.warning("lost connection to %s (%s); reconnecting with backoff", self.url, reason_code)
        self.status = "reconnecting"

    def _on_publish(self, _client, _userdata, _mid, _reason_code, _properties) -> None:
        with self._lock:
            self.stats.delivered += 1

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _properties) -> None:
        with self._subacks_changed:
            if mid in self._renewing:
                self._renewing.discard(mid)
                if any(code.is_failure for code in reason_codes):
                    logger.error("%s refused a renewed subscription: %s", self.url, reason_codes)
                if not self._renewing:
                    self._mark_connected()
                return
            self._subacks[mid] = reason_codes
            self._subacks_changed.notify_all()

    def _on_unmatched_message(self, _client, _userdata, message: paho.MQTTMessage) -> None:
        logger.debug("message on %s matches no subscription callback", message.topic)
