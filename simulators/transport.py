"""A paho-mqtt client that fails clearly, survives a broker going away, and says how it is doing.

`MqttClient` wraps paho's threaded client (``CallbackAPIVersion.VERSION2``):

- `connect` either connects or raises BrokerError within `connect_timeout_s` ("cannot reach
  mqtt://127.0.0.1:1: connection refused"), never hangs; a broker refusing the login is named as such
  ("not authorised"), and a missing or unreadable CA file, client certificate or key is one line too;
- once connected, a lost connection is logged and retried by paho's network thread with exponential
  backoff (`reconnect_min_s` doubling up to `reconnect_max_s`); `status` reads ``"connected"``,
  ``"reconnecting"``, ``"refused"`` (the broker turned a reconnection away: not authorised any more; the
  client stops retrying, since a password does not change back by itself) or ``"closed"``, and `stats`
  counts the reconnections;
- a connection dropped again and again right after it is made is what another client using the same
  client id causes (the broker keeps the newest): the log says so;
- on every reconnection the client subscribes again and re-publishes the last retained message of each
  topic it retains, since a restarted broker without persistence has forgotten them, then calls
  `on_reconnect` (a Sparkplug edge node then publishes its births; `before_reconnect`, called when the
  connection is lost, lets it change its will first);
- while disconnected, QoS 0 messages (sensor readings) are **dropped and counted** in `stats.dropped`:
  a stale reading replayed late is worse than a gap a learner can see. QoS 1 messages (events, states,
  replies) are **buffered** by paho and sent on reconnection, up to `max_queued` messages; beyond that
  bound they are dropped and counted too;
- while connected, at most `max_pending` messages wait to be written (or acknowledged): `publish` waits for
  room, so a publisher faster than the network or the broker is slowed down to their pace instead of piling
  messages up in memory. If no room comes within `congestion_timeout_s` the link is congested: QoS 0
  messages are dropped and counted until it drains, so a stalled broker never blocks the publisher for long;
- an exception in a subscriber's callback is logged and counted, and does not kill the network thread.
"""

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho

from simulators.broker import BrokerAddress, parse_broker_url, with_credentials
from simulators.errors import BrokerError

logger = logging.getLogger(__name__)

MessageCallback = Callable[[paho.MQTTMessage], None]


NOT_AUTHORISED = (0x86, 0x87, 0x8A, 0x8C)  # bad user name or password, not authorized, banned, bad auth method
TAKEOVER_WINDOW_S = 5.0  # a connection lost this soon after it was made counts as a quick drop
TAKEOVER_DROPS = 3  # quick drops in a row before the log blames a shared client id


def describe_refusal(reason_code) -> str:
    """A CONNACK refusal in words, naming an authorisation failure as such."""
    if getattr(reason_code, "value", None) in NOT_AUTHORISED:
        return f"not authorised ({reason_code}): check the user name, password or client certificate"
    return str(reason_code)


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


def tls_context(address: BrokerAddress) -> ssl.SSLContext:
    """The TLS context for `address`: its CA (or the system's), its client certificate; BrokerError if unusable."""
    for what, path in (("CA file", address.ca_path), ("client certificate", address.cert_path),
                       ("client key", address.key_path)):
        if path is not None and not Path(path).is_file():
            raise BrokerError(f"broker {address.url}: {what} {path}: no such file")
    try:
        context = ssl.create_default_context(cafile=address.ca_path)
        if address.cert_path is not None:
            context.load_cert_chain(address.cert_path, address.key_path)
    except (ssl.SSLError, OSError) as exc:
        raise BrokerError(f"broker {address.url}: cannot use its CA file or client certificate "
                          f"({getattr(exc, 'reason', None) or exc})") from None
    if address.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class MqttClient:
    """One connection to a broker, from a URL string or a `BrokerAddress`; use as a context manager.

    A login missing from the URL is read from `password_file` or the environment (`broker.with_credentials`).
    """

    def __init__(
        self,
        broker: BrokerAddress | str,
        *,
        client_id: str = "",
        will: tuple[str, bytes] | tuple[str, bytes, int, bool] | None = None,
        connect_timeout_s: float = 5.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        max_queued: int = 10_000,
        max_pending: int = 2_000,
        congestion_timeout_s: float = 2.0,
        keepalive_s: int = 30,
        on_reconnect: Callable[[], None] | None = None,
        before_reconnect: Callable[[], None] | None = None,
        password_file: Path | str | None = None,
    ) -> None:
        address = parse_broker_url(broker) if isinstance(broker, str) else broker
        self.address = with_credentials(address, password_file=password_file)
        self.client_id = client_id
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.max_pending = max_pending
        self.congestion_timeout_s = congestion_timeout_s
        self.on_reconnect = on_reconnect
        self.before_reconnect = before_reconnect
        self.stats = ClientStats()
        self.status = "new"
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified when a message is delivered
        self._congested = False
        self._connected_at = 0.0
        self._quick_drops = 0
        self._network_thread: int | None = None  # paho's, where waiting for room would wait for itself
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
            client.tls_set_context(tls_context(self.address))
            client.tls_insecure_set(self.address.insecure)
        if will is not None:  # (topic, payload), QoS 1 and retained, or (topic, payload, qos, retain)
            topic, payload, *options = will
            qos, retain = options or (1, True)
            client.will_set(topic, payload, qos=qos, retain=retain)
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
        with self._lock:
            self.status = "closed"
            self._room.notify_all()
        self._client.disconnect()
        self._client.loop_stop()

    def set_will(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = True) -> None:
        """The message the broker publishes if this client vanishes, from the next (re)connection on."""
        self._client.will_set(topic, payload, qos=qos, retain=retain)

    @property
    def pending(self) -> int:
        """Messages accepted but not yet delivered (written, or acknowledged at QoS 1)."""
        return self.stats.published - self.stats.delivered

    def __enter__(self) -> "MqttClient":
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the client is connected (again), at most `timeout_s` seconds."""
        return self._connected.wait(timeout_s) and self.status == "connected"

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> bool:
        """Send `payload`; False if it was dropped (see the module docstring for when).

        May wait, at most `congestion_timeout_s`, for room among the `max_pending` messages in flight.
        """
        with self._lock:
            if retain:
                self._retained[topic] = (payload, qos)
            if not self._wait_for_room() and qos == 0:
                self.stats.dropped += 1
                return False
            # Counted before paho sends it: its network thread may report the delivery before publish() returns.
            self.stats.published += 1
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        accepted = info.rc == paho.MQTT_ERR_SUCCESS or (qos > 0 and info.rc == paho.MQTT_ERR_NO_CONN)
        if not accepted:
            with self._lock:
                self.stats.published -= 1
                self.stats.dropped += 1
        return accepted

    def _wait_for_room(self) -> bool:
        """With the lock held: False if the link is congested (no room within `congestion_timeout_s`)."""
        def room() -> bool:
            return self.pending < self.max_pending or self.status != "connected"

        if room() or threading.get_ident() == self._network_thread:
            self._congested = False
            return True
        if self._congested:
            return False
        if self._room.wait_for(room, self.congestion_timeout_s):
            return True
        self._congested = True
        logger.warning("%s: %d messages still unsent after %g s; dropping readings until the link drains",
                       self.url, self.pending, self.congestion_timeout_s)
        return False

    def flush(self, *, timeout_s: float) -> bool:
        """Wait until every accepted message is delivered; False if `timeout_s` ran out first."""
        with self._lock:
            return self._room.wait_for(lambda: self.stats.delivered >= self.stats.published, timeout_s)

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

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving `topic_filter` (and stop renewing it on reconnection)."""
        self._subscriptions.pop(topic_filter, None)
        self._client.message_callback_remove(topic_filter)
        if self.status == "connected":
            self._client.unsubscribe(topic_filter)

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
        self._network_thread = threading.get_ident()
        if reason_code.is_failure:
            self._connack = describe_refusal(reason_code)
            with self._lock:
                self.stats.last_error = f"refused: {self._connack}"
            if self.status != "connecting":  # a reconnection turned away: retrying would be refused forever
                logger.error("%s refused the reconnection: %s; giving up", self.url, self._connack)
                self.status = "refused"
                client.disconnect()
            self._connected.set()
            return
        self._connack = None
        self._connected_at = time.monotonic()
        if self.status != "connecting":
            with self._lock:
                self.stats.reconnects += 1
                retained = list(self._retained.items())
            logger.info("reconnected to %s; re-publishing %d retained topics", self.url, len(retained))
            for topic, (payload, qos) in retained:
                self._client.publish(topic, payload, qos=qos, retain=True)
                with self._lock:
                    self.stats.published += 1
            if self.on_reconnect is not None:
                self.on_reconnect()
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
        if self.status in ("closed", "refused"):
            return
        self._connected.clear()
        with self._lock:
            self.stats.disconnects += 1
            self.stats.last_error = f"connection lost: {reason_code}"
            self._room.notify_all()
        if self.status == "connected":
            quick = time.monotonic() - self._connected_at < TAKEOVER_WINDOW_S
            self._quick_drops = self._quick_drops + 1 if quick else 0
            if self._quick_drops >= TAKEOVER_DROPS:
                logger.error("%s keeps dropping this client right after it connects: another client is probably "
                             "using the same client id %r; give each one its own", self.url, self.client_id)
            else:
                logger.warning("lost connection to %s (%s); reconnecting with backoff", self.url, reason_code)
        self.status = "reconnecting"
        if self.before_reconnect is not None:
            self.before_reconnect()

    def _on_publish(self, _client, _userdata, _mid, _reason_code, _properties) -> None:
        with self._lock:
            self.stats.delivered += 1
            self._room.notify_all()

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
