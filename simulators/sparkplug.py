"""The plant as a Sparkplug B edge node, so that SCADA (Ignition and others) sees it as a device.

Sparkplug B is a convention on top of MQTT: fixed topics ``spBv1.0/<group>/<verb>/<edge node>[/<device>]``,
protobuf payloads, and a session the host application can trust. The plant's line is one **edge node**
(group: the plant's site; edge node: ``<area>-<line>``, both configurable) and each machine is a **device**:

- ``NBIRTH`` announces the node: ``bdSeq``, ``Node Control/Rebirth`` and the line's counters (``Line/wip``,
  ``Line/completed``, ``Line/scrapped``, ``Line/conwip``); then one ``DBIRTH`` per machine lists its metrics:
  every sensor (Double, with the properties ``engUnit``, ``engLow``, ``engHigh``) and ``state`` (String);
- ``DDATA`` carries each step's readings and state changes by alias, each with its own timestamp; a bad
  reading has the property ``Quality`` = 0 (Sparkplug's "bad"), a missing value is ``is_null``; ``NDATA``
  carries the counters when they change;
- ``NDEATH`` is registered as the MQTT will (QoS 1) with the ``bdSeq`` of the session, and published by the
  node itself before an orderly disconnect (after one ``DDEATH`` per machine).

Every message but NDEATH carries ``seq``, 0 to 255 then 0 again, from 0 on NBIRTH; ``bdSeq`` counts the
MQTT sessions the same way. A reconnection starts a new session (new ``bdSeq``, new births), and so does a
host's ``NCMD`` with ``Node Control/Rebirth`` = true.

The payload schema is the one of Eclipse Tahu's ``sparkplug_b.proto`` (package ``org.eclipse.tahu.protobuf``),
written here as a protobuf descriptor for the messages the plant uses (Payload, Metric, PropertySet,
PropertyValue, with the official field numbers), so the ``protobuf`` runtime encodes it without a compiler
step; any decoder built from the official file reads it.
"""

import logging
import threading
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from simulators.broker import BrokerAddress
from simulators.imperfections import QUALITIES
from simulators.records import StateChange
from simulators.topics import SPARKPLUG_ROOT as NAMESPACE
from simulators.topics import Clock, check_level
from simulators.transport import MqttClient

logger = logging.getLogger(__name__)

PACKAGE = "org.eclipse.tahu.protobuf"
# Sparkplug B data types (the DataType enumeration of the specification)
INT64, UINT64, DOUBLE, BOOLEAN, STRING, INT32 = 4, 8, 10, 11, 12, 3
QUALITY_BAD = 0
REBIRTH = "Node Control/Rebirth"
LINE_COUNTERS = ("wip", "completed", "scrapped", "conwip")


def _payload_class():
    """The Sparkplug B ``Payload`` message class, from a descriptor with the official field numbers."""
    t = descriptor_pb2.FieldDescriptorProto
    optional, repeated = t.LABEL_OPTIONAL, t.LABEL_REPEATED

    def message(parent, name: str, fields: list[tuple], oneof: str | None = None, oneof_from: int = 0):
        proto = parent.add(name=name)
        if oneof:
            proto.oneof_decl.add(name=oneof)
        for number, field_name, kind, *rest in fields:
            field = proto.field.add(name=field_name, number=number, type=kind,
                                    label=repeated if rest and rest[0] == "repeated" else optional)
            if kind == t.TYPE_MESSAGE:
                field.type_name = rest[-1]
            if oneof and number >= oneof_from:
                field.oneof_index = 0
        return proto

    file = descriptor_pb2.FileDescriptorProto(name="factorylab_sparkplug_b.proto", package=PACKAGE, syntax="proto2")
    payload = message(file.message_type, "Payload", [
        (1, "timestamp", t.TYPE_UINT64), (2, "metrics", t.TYPE_MESSAGE, "repeated", f".{PACKAGE}.Payload.Metric"),
        (3, "seq", t.TYPE_UINT64), (4, "uuid", t.TYPE_STRING), (5, "body", t.TYPE_BYTES),
    ])
    message(payload.nested_type, "PropertyValue", [
        (1, "type", t.TYPE_UINT32), (2, "is_null", t.TYPE_BOOL), (3, "int_value", t.TYPE_UINT32),
        (4, "long_value", t.TYPE_UINT64), (5, "float_value", t.TYPE_FLOAT), (6, "double_value", t.TYPE_DOUBLE),
        (7, "boolean_value", t.TYPE_BOOL), (8, "string_value", t.TYPE_STRING),
    ], oneof="value", oneof_from=3)
    message(payload.nested_type, "PropertySet", [
        (1, "keys", t.TYPE_STRING, "repeated"),
        (2, "values", t.TYPE_MESSAGE, "repeated", f".{PACKAGE}.Payload.PropertyValue"),
    ])
    message(payload.nested_type, "Metric", [
        (1, "name", t.TYPE_STRING), (2, "alias", t.TYPE_UINT64), (3, "timestamp", t.TYPE_UINT64),
        (4, "datatype", t.TYPE_UINT32), (5, "is_historical", t.TYPE_BOOL), (6, "is_transient", t.TYPE_BOOL),
        (7, "is_null", t.TYPE_BOOL), (9, "properties", t.TYPE_MESSAGE, f".{PACKAGE}.Payload.PropertySet"),
        (10, "int_value", t.TYPE_UINT32), (11, "long_value", t.TYPE_UINT64), (12, "float_value", t.TYPE_FLOAT),
        (13, "double_value", t.TYPE_DOUBLE), (14, "boolean_value", t.TYPE_BOOL), (15, "string_value", t.TYPE_STRING),
        (16, "bytes_value", t.TYPE_BYTES),
    ], oneof="value", oneof_from=10)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.Payload"))


Payload = _payload_class()


def decode(data: bytes):
    """A Sparkplug B payload, parsed (``.timestamp``, ``.seq``, ``.metrics[i].name/alias/double_value``…)."""
    return Payload.FromString(data)


def metric_value(metric):
    """The value a metric carries (None for a null one)."""
    if metric.is_null:
        return None
    field = metric.WhichOneof("value")
    return getattr(metric, field) if field else None


def _set_value(target, datatype: int, value) -> None:
    if value is None:
        target.is_null = True
    elif datatype == DOUBLE:
        target.double_value = float(value)
    elif datatype in (INT64, UINT64):
        target.long_value = int(value) & 0xFFFFFFFFFFFFFFFF  # two's complement, as Sparkplug encodes Int64
    elif datatype == INT32:
        target.int_value = int(value) & 0xFFFFFFFF
    elif datatype == BOOLEAN:
        target.boolean_value = bool(value)
    else:
        target.string_value = str(value)


def _add_metric(payload, *, alias: int, datatype: int, value, timestamp_ms: int, name: str | None = None,
                properties: dict[str, tuple[int, object]] | None = None) -> None:
    metric = payload.metrics.add(alias=alias, timestamp=timestamp_ms, datatype=datatype)
    if name is not None:
        metric.name = name
    _set_value(metric, datatype, value)
    for key, (kind, prop) in (properties or {}).items():
        metric.properties.keys.append(key)
        property_value = metric.properties.values.add(type=kind)
        _set_value(property_value, kind, prop)


@dataclass(frozen=True)
class SparkplugConfig:
    """Where the edge node appears: ``spBv1.0/<group_id>/…/<edge_node_id>`` (None: the plant's site, area-line)."""

    group_id: str | None = None
    edge_node_id: str | None = None


class SparkplugEdgeNode:
    """The line as a Sparkplug B edge node with one device per machine, on its own MQTT connection.

    Its own connection, because Sparkplug's death certificate is the connection's will, as the plant's JSON
    ``offline`` status is for the plant's connection. Call from one thread (the live loop): `connect`,
    `birth`, then `publish_step` each step, `close` at the end.
    """

    def __init__(self, plant, metadata: list[dict], address: BrokerAddress, config: SparkplugConfig, *,
                 clock: Clock, client_id: str) -> None:
        loc = plant.location
        self.group_id = check_level(config.group_id or loc.site, "sparkplug group id")
        self.edge_node_id = check_level(config.edge_node_id or f"{loc.area}-{loc.line}", "sparkplug edge node id")
        self.clock = clock
        self.machines = list(plant.stations)
        self.sensors = [(meta["machine"], meta["sensor"], meta) for meta in metadata]
        # aliases: unique across the node and its devices, as Sparkplug requires
        node_metrics = ("bdSeq", REBIRTH, *(f"Line/{counter}" for counter in LINE_COUNTERS))
        self.node_aliases = {name: alias for alias, name in enumerate(node_metrics, start=1)}
        first = len(self.node_aliases) + 1
        self.sensor_aliases = [first + index for index in range(len(self.sensors))]
        first += len(self.sensors)
        self.state_aliases = {machine: first + index for index, machine in enumerate(self.machines)}
        self.bd_seq = 0
        self.seq = 0
        self._counters: dict[str, object] = {}
        self._rebirth = threading.Event()
        self._client = MqttClient(address, client_id=client_id, will=self._death_will(),
                                  on_reconnect=self._rebirth.set, before_reconnect=self._next_session)

    def topic(self, verb: str, device: str | None = None) -> str:
        return f"{NAMESPACE}/{self.group_id}/{verb}/{self.edge_node_id}" + (f"/{device}" if device else "")

    @property
    def stats(self):
        return self._client.stats

    def connect(self) -> "SparkplugEdgeNode":
        self._client.connect()
        self._client.subscribe(self.topic("NCMD"), self._on_command)
        return self

    def birth(self, snapshot: dict, t_s: float) -> None:
        """NBIRTH (seq 0) then one DBIRTH per machine, with every metric's name, alias, type and value."""
        self.seq = 0
        now = self.clock.epoch_ms(t_s)
        node = self._new_payload(now)
        _add_metric(node, name="bdSeq", alias=self.node_aliases["bdSeq"], datatype=INT64, value=self.bd_seq,
                    timestamp_ms=now)
        _add_metric(node, name=REBIRTH, alias=self.node_aliases[REBIRTH], datatype=BOOLEAN, value=False,
                    timestamp_ms=now)
        for counter in LINE_COUNTERS:
            _add_metric(node, name=f"Line/{counter}", alias=self.node_aliases[f"Line/{counter}"], datatype=INT64,
                        value=snapshot.get(counter), timestamp_ms=now)
        self._counters = {counter: snapshot.get(counter) for counter in LINE_COUNTERS}
        self._publish(self.topic("NBIRTH"), node)
        states = snapshot.get("states", {})
        for machine in self.machines:
            device = self._new_payload(now)
            for index, (owner, sensor, meta) in enumerate(self.sensors):
                if owner == machine:
                    _add_metric(device, name=sensor, alias=self.sensor_aliases[index], datatype=DOUBLE, value=None,
                                timestamp_ms=now, properties={"engUnit": (STRING, meta["unit"]),
                                                              "engLow": (DOUBLE, meta["low"]),
                                                              "engHigh": (DOUBLE, meta["high"])})
            _add_metric(device, name="state", alias=self.state_aliases[machine], datatype=STRING,
                        value=states.get(machine), timestamp_ms=now)
            self._publish(self.topic("DBIRTH", machine), device)

    def publish_step(self, observed, changes: list[StateChange], snapshot: dict, t_s: float) -> None:
        """One DDATA per machine with the step's readings and state changes; NDATA if a counter changed."""
        if self._rebirth.is_set():
            self._rebirth.clear()
            self.birth(snapshot, t_s)
            return
        now = self.clock.epoch_ms(t_s)
        devices: dict[str, object] = {}

        def device(machine: str):
            if machine not in devices:
                devices[machine] = self._new_payload(now)
            return devices[machine]

        for stamp_s, sensor, value, quality in zip(observed.timestamp_s.tolist(), observed.sensor.tolist(),
                                                   observed.value.tolist(), observed.quality.tolist(), strict=True):
            bad = QUALITIES[quality] != "good"
            _add_metric(device(self.sensors[sensor][0]), alias=self.sensor_aliases[sensor], datatype=DOUBLE,
                        value=None if value != value else value, timestamp_ms=self.clock.epoch_ms(stamp_s),
                        properties={"Quality": (INT32, QUALITY_BAD)} if bad else None)
        for change in changes:
            _add_metric(device(change.machine), alias=self.state_aliases[change.machine], datatype=STRING,
                        value=change.state, timestamp_ms=self.clock.epoch_ms(change.t_s))
        for machine in self.machines:
            if machine in devices:
                self._publish(self.topic("DDATA", machine), devices[machine])
        counters = {counter: snapshot.get(counter) for counter in LINE_COUNTERS}
        changed = [counter for counter in LINE_COUNTERS if counters[counter] != self._counters.get(counter)]
        if changed:
            node = self._new_payload(now)
            for counter in changed:
                _add_metric(node, alias=self.node_aliases[f"Line/{counter}"], datatype=INT64, value=counters[counter],
                            timestamp_ms=now)
            self._counters = counters
            self._publish(self.topic("NDATA"), node)

    def close(self, t_s: float | None = None) -> None:
        """An orderly goodbye: one DDEATH per machine, then NDEATH (a will is not sent on a clean disconnect)."""
        if self._client.status == "connected":
            now = self.clock.epoch_ms(t_s or 0.0)
            for machine in self.machines:
                self._publish(self.topic("DDEATH", machine), self._new_payload(now))
            self._client.publish(self.topic("NDEATH"), self._death_payload(), qos=1)
        self._client.close(flush_timeout_s=1.0)

    def _new_payload(self, timestamp_ms: int):
        return Payload(timestamp=timestamp_ms)

    def _publish(self, topic: str, payload) -> None:
        """Stamp `payload` with the next seq (0–255) and send it at QoS 0, as Sparkplug B asks."""
        payload.seq = self.seq
        self.seq = (self.seq + 1) % 256
        self._client.publish(topic, payload.SerializeToString(), qos=0)

    def _death_payload(self) -> bytes:
        death = Payload()
        _add_metric(death, name="bdSeq", alias=self.node_aliases["bdSeq"], datatype=INT64, value=self.bd_seq,
                    timestamp_ms=0)
        death.metrics[0].ClearField("timestamp")
        return death.SerializeToString()

    def _death_will(self) -> tuple[str, bytes, int, bool]:
        return self.topic("NDEATH"), self._death_payload(), 1, False

    def _next_session(self) -> None:
        """The connection is lost: the next one is a new session, whose will carries the next bdSeq."""
        self.bd_seq = (self.bd_seq + 1) % 256
        self._client.set_will(*self._death_will()[:2], qos=1, retain=False)

    def _on_command(self, message) -> None:
        try:
            command = decode(message.payload)
        except Exception:  # a host's malformed command must not stop the node
            logger.warning("sparkplug: undecodable NCMD on %s ignored", message.topic)
            return
        if any(metric.name == REBIRTH and metric.boolean_value for metric in command.metrics):
            logger.info("sparkplug: rebirth requested by a host application")
            self._rebirth.set()
