"""MQTT 5 and 3.1 clients on the embedded broker, which speaks MQTT 3.1.1 only.

amqtt (the embedded broker) implements MQTT 3.1.1; MQTTX, the HiveMQ CLI and ``mosquitto_sub -V mqttv5``
speak MQTT 5 by default, and old devices MQTT 3.1. Rather than swap the broker (no maintained pure-Python
broker speaks both 3.1.1 and 5 with authentication and ACLs; rumqttd, through ``iotcore``, serves 5 on a port
of its own), each connection is translated packet by packet at the socket, before amqtt reads it:

- **3.1.1**: passed through untouched;
- **3.1** (``MQIsdp``, level 3): its CONNECT is rewritten as 3.1.1; every other packet is identical;
- **5**: every packet is rewritten both ways. From the client, properties are dropped (amqtt has no use for
  them), subscription options are reduced to their QoS, an empty client id gets one assigned (returned in
  CONNACK as MQTT 5 requires), and a DISCONNECT asking for the will ends the connection as a failure would.
  To the client, CONNACK return codes become MQTT 5 reason codes (``Not authorized`` stays named, 0x87), and
  PUBLISH, SUBACK and UNSUBACK gain the property and reason fields MQTT 5 adds.

So a v5 client can connect, publish, subscribe and receive; what is MQTT 5 only (message expiry, user
properties, topic aliases, shared subscriptions, enhanced authentication) is not offered: CONNACK grants no
topic alias, and an AUTH packet closes the connection. Any other protocol level gets the CONNACK MQTT defines
for it ("unacceptable protocol version") and one line in the log, never a traceback.
"""

import asyncio
import logging
import secrets

from amqtt.adapters import ReaderAdapter, WriterAdapter

logger = logging.getLogger(__name__)

FIRST_PACKET_TIMEOUT_S = 10.0
MQTT_311, MQTT_31, MQTT_5 = 4, 3, 5
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 11, 12, 13, 14, 15
DISCONNECT_WITH_WILL = 0x04
ASSIGNED_CLIENT_ID = 0x12  # MQTT 5 CONNACK property
# MQTT 3.1.1 CONNACK return code -> MQTT 5 reason code
CONNACK_REASONS = {0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87}


class ProtocolError(Exception):
    """The client sent something this bridge cannot carry; the connection is closed."""


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(4):
        if pos >= len(data):
            raise ProtocolError("truncated variable-length integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ProtocolError("variable-length integer longer than 4 bytes")


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    """A length-prefixed field (UTF-8 string or binary data), raw, and the position after it."""
    if pos + 2 > len(data):
        raise ProtocolError("truncated string")
    end = pos + 2 + int.from_bytes(data[pos:pos + 2], "big")
    if end > len(data):
        raise ProtocolError("truncated string")
    return data[pos + 2:end], end


def _field(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def _skip_properties(data: bytes, pos: int) -> int:
    length, pos = _read_varint(data, pos)
    if pos + length > len(data):
        raise ProtocolError("truncated properties")
    return pos + length


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + varint(len(body)) + body


def split_packet(buffer: bytes | bytearray) -> tuple[int, bytes, int] | None:
    """The first complete packet in `buffer` as (first byte, body, its total length), None if incomplete."""
    if len(buffer) < 2:
        return None
    length = shift = 0
    for pos in range(1, 5):
        if pos >= len(buffer):
            return None
        byte = buffer[pos]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            end = pos + 1 + length
            return (buffer[0], bytes(buffer[pos + 1:end]), end) if len(buffer) >= end else None
        shift += 7
    raise ProtocolError("remaining length longer than 4 bytes")


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One whole packet from the socket; IncompleteReadError at the end of the stream."""
    first = (await reader.readexactly(1))[0]
    length = shift = 0
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return first, await reader.readexactly(length)
        shift += 7
    raise ProtocolError("remaining length longer than 4 bytes")


def connect_level(body: bytes) -> tuple[bytes, int]:
    """The protocol name and level a CONNECT body announces."""
    name, pos = _string(body, 0)
    if pos >= len(body):
        raise ProtocolError("truncated CONNECT")
    return name, body[pos]


class Mqtt5Session:
    """What one MQTT 5 connection needs remembered between packets: its assigned id, pending UNSUBSCRIBEs."""

    def __init__(self) -> None:
        self.assigned_client_id: bytes | None = None
        self.unsubscribe_counts: dict[bytes, int] = {}

    # client (MQTT 5) -> broker (MQTT 3.1.1)

    def connect_to_311(self, body: bytes) -> bytes:
        _name, pos = _string(body, 0)
        flags, keepalive = body[pos + 1], body[pos + 2:pos + 4]
        pos = _skip_properties(body, pos + 4)
        client_id, pos = _string(body, pos)
        if not client_id:
            client_id = self.assigned_client_id = f"mqtt5-{secrets.token_hex(6)}".encode()
        payload = _field(client_id)
        if flags & 0x04:  # will: its properties go, its topic and message stay
            pos = _skip_properties(body, pos)
            will_topic, pos = _string(body, pos)
            will_message, pos = _string(body, pos)
            payload += _field(will_topic) + _field(will_message)
        if flags & 0x80:
            username, pos = _string(body, pos)
            payload += _field(username)
        if flags & 0x40:
            password, pos = _string(body, pos)
            if not flags & 0x80:  # MQTT 5 allows a password alone, 3.1.1 does not
                flags |= 0x80
                payload += _field(b"")
            payload += _field(password)
        return packet(CONNECT << 4, _field(b"MQTT") + bytes([MQTT_311, flags]) + keepalive + payload)

    def to_broker(self, first: int, body: bytes) -> bytes | None:
        """The 3.1.1 form of a client's MQTT 5 packet; None to end the connection as if it had dropped."""
        kind = first >> 4
        if kind == PUBLISH:
            topic, pos = _string(body, 0)
            if not topic:
                raise ProtocolError("PUBLISH with a topic alias, which this broker never grants")
            packet_id = b""
            if first & 0x06:
                packet_id, pos = body[pos:pos + 2], pos + 2
            pos = _skip_properties(body, pos)
            return packet(first, _field(topic) + packet_id + body[pos:])
        if kind in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            return packet(first, body[:2])
        if kind == SUBSCRIBE:
            pos = _skip_properties(body, 2)
            filters = b""
            while pos < len(body):
                topic_filter, pos = _string(body, pos)
                filters += _field(topic_filter) + bytes([body[pos] & 0x03])
                pos += 1
            return packet(first, body[:2] + filters)
        if kind == UNSUBSCRIBE:
            pos = start = _skip_properties(body, 2)
            count = 0
            while pos < len(body):
                _topic_filter, pos = _string(body, pos)
                count += 1
            self.unsubscribe_counts[body[:2]] = count
            return packet(first, body[:2] + body[start:])
        if kind == PINGREQ:
            return packet(first, b"")
        if kind == DISCONNECT:
            return None if body[:1] == bytes([DISCONNECT_WITH_WILL]) else packet(DISCONNECT << 4, b"")
        if kind == AUTH:
            raise ProtocolError("enhanced authentication (AUTH) is not supported")
        raise ProtocolError(f"unexpected packet type {kind} from a client")

    # broker (MQTT 3.1.1) -> client (MQTT 5)

    def to_client(self, first: int, body: bytes) -> bytes:
        kind = first >> 4
        if kind == CONNACK:
            properties = b""
            if self.assigned_client_id is not None:
                properties = bytes([ASSIGNED_CLIENT_ID]) + _field(self.assigned_client_id)
            reason = CONNACK_REASONS.get(body[1], 0x80)
            return packet(first, bytes([body[0], reason]) + varint(len(properties)) + properties)
        if kind == PUBLISH:
            _topic, pos = _string(body, 0)
            if first & 0x06:
                pos += 2
            return packet(first, body[:pos] + b"\x00" + body[pos:])
        if kind == SUBACK:
            return packet(first, body[:2] + b"\x00" + body[2:])
        if kind == UNSUBACK:
            count = self.unsubscribe_counts.pop(body[:2], 1)
            return packet(first, body[:2] + b"\x00" + bytes(count))
        return packet(first, body)  # PUBACK, PUBREC, PUBREL, PUBCOMP, PINGRESP: same bytes in MQTT 5


class BridgeReader(ReaderAdapter):
    """What amqtt reads: the (rewritten) CONNECT first, then the client's packets, translated if MQTT 5."""

    def __init__(self, reader: asyncio.StreamReader, connect: bytes, session: Mqtt5Session | None) -> None:
        self._reader = reader
        self._buffer = bytearray(connect)
        self._session = session

    async def read(self, n: int = -1) -> bytes:
        if self._session is None and not self._buffer:
            return await (self._reader.read(n) if n == -1 else self._reader.readexactly(n))
        while (n == -1 and not self._buffer) or len(self._buffer) < n:
            if self._session is None:
                self._buffer += await self._reader.readexactly(n - len(self._buffer))
                break
            first, body = await read_packet(self._reader)
            try:
                translated = self._session.to_broker(first, body)
            except (ProtocolError, IndexError) as exc:
                logger.warning("MQTT 5 client: %s; connection closed", exc or "truncated packet")
                translated = None
            if translated is None:  # the client asked for its will (or broke the protocol): end as a drop would
                raise asyncio.IncompleteReadError(bytes(self._buffer), n if n != -1 else None)
            self._buffer += translated
        size = len(self._buffer) if n == -1 else n
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class BridgeWriter(WriterAdapter):
    """What amqtt writes, translated to MQTT 5 for an MQTT 5 client (packets may arrive in pieces)."""

    def __init__(self, writer: asyncio.StreamWriter, session: Mqtt5Session | None) -> None:
        self._writer = writer
        self._session = session
        self._pending = bytearray()
        self.is_closed = False

    def write(self, data: bytes) -> None:
        if self.is_closed:
            return
        if self._session is None:
            self._writer.write(data)
            return
        self._pending += data
        while (found := split_packet(self._pending)) is not None:
            first, body, size = found
            del self._pending[:size]
            self._writer.write(self._session.to_client(first, body))

    async def drain(self) -> None:
        if not self.is_closed:
            await self._writer.drain()

    def get_peer_info(self) -> tuple[str, int] | None:
        peer = self._writer.get_extra_info("peername")
        return (peer[0], peer[1]) if peer and len(peer) >= 2 else None

    def get_ssl_info(self):
        return self._writer.get_extra_info("ssl_object")

    async def close(self) -> None:
        if self.is_closed:
            return
        self.is_closed = True
        try:
            await self._writer.drain()
            self._writer.close()
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def open_bridge(reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> tuple[BridgeReader, BridgeWriter] | None:
    """Read the client's CONNECT and return the adapters amqtt should use; None if the client was turned away."""
    peer = writer.get_extra_info("peername")
    try:
        first, body = await asyncio.wait_for(read_packet(reader), FIRST_PACKET_TIMEOUT_S)
        if first >> 4 != CONNECT:
            raise ProtocolError(f"first packet is of type {first >> 4}, not CONNECT")
        name, level = connect_level(body)
        session = None
        if level == MQTT_311 and name == b"MQTT":
            connect = packet(first, body)
        elif level == MQTT_31 and name == b"MQIsdp":
            rest = body[len(_field(name)) + 1:]
            connect = packet(first, _field(b"MQTT") + bytes([MQTT_311]) + rest)
        elif level == MQTT_5 and name == b"MQTT":
            session = Mqtt5Session()
            connect = session.connect_to_311(body)
        else:
            logger.warning("client %s speaks MQTT protocol level %d (%r): refused, the broker speaks 3.1, 3.1.1 "
                           "and 5", peer, level, name.decode("utf-8", "replace"))
            writer.write(packet(CONNACK << 4, b"\x00\x01"))  # unacceptable protocol version
            await _close(writer)
            return None
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        await _close(writer)
        return None
    except (ProtocolError, IndexError) as exc:
        logger.warning("client %s: malformed CONNECT (%s); connection closed", peer, exc or "truncated")
        await _close(writer)
        return None
    return BridgeReader(reader, connect, session), BridgeWriter(writer, session)


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
