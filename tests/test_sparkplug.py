"""The plant as a Sparkplug B edge node, decoded from what a real Mosquitto carries."""

import itertools

import pytest
from google.protobuf import empty_pb2
from google.protobuf.unknown_fields import UnknownFieldSet
from mqtt_fixtures import Inbox, wait_until

from simulators import sparkplug
from simulators.live import LivePlant
from simulators.sensors import sensor_metadata
from simulators.transport import MqttClient

pytestmark = pytest.mark.mosquitto
NODE = "spBv1.0/lyon/{}/machining-line1"


def _verb(message) -> str:
    return message.topic.split("/")[2]


def test_births_data_and_deaths_in_order_with_their_sequence_numbers(mosquitto):
    with MqttClient(mosquitto.url) as host:
        inbox = Inbox(host, "spBv1.0/#")
        summary = LivePlant(seed=3, broker_url=mosquitto.url, speed=None, hours=0.1, sparkplug=True).run()
        messages = inbox.drain()
    verbs = [_verb(m) for m in messages]
    assert verbs[:6] == ["NBIRTH"] + ["DBIRTH"] * 5 and verbs[-6:] == ["DDEATH"] * 5 + ["NDEATH"]
    assert verbs.count("DDATA") > 250 and summary.dropped == 0
    payloads = [sparkplug.decode(m.payload) for m in messages]
    seqs = [p.seq for p, verb in zip(payloads, verbs, strict=True) if verb != "NDEATH"]
    assert seqs[0] == 0 and all((b - a) % 256 == 1 for a, b in itertools.pairwise(seqs))
    assert max(seqs) == 255 and seqs.count(0) >= 2  # the counter wrapped around
    birth, death = payloads[0], payloads[-1]
    assert messages[0].topic == NODE.format("NBIRTH") and not messages[0].retain
    bd_seq = {m.name: sparkplug.metric_value(m) for m in birth.metrics}["bdSeq"]
    assert [(m.name, sparkplug.metric_value(m)) for m in death.metrics] == [("bdSeq", bd_seq)]


def test_device_births_describe_every_sensor_and_data_refer_to_them_by_alias(mosquitto):
    with MqttClient(mosquitto.url) as host:
        inbox = Inbox(host, "spBv1.0/#")
        LivePlant(seed=3, broker_url=mosquitto.url, speed=None, hours=0.01, sparkplug=True).run()
        messages = inbox.drain()
    births = {m.topic.rsplit("/", 1)[1]: sparkplug.decode(m.payload) for m in messages if _verb(m) == "DBIRTH"}
    meta = {(m["machine"], m["sensor"]): m for m in sensor_metadata(LivePlant(seed=3).plant)}
    aliases = {}
    for machine, birth in births.items():
        for metric in birth.metrics:
            if metric.name == "state":
                assert metric.datatype == sparkplug.STRING
                continue
            properties = dict(zip(metric.properties.keys, metric.properties.values, strict=True))
            expected = meta[(machine, metric.name)]
            assert metric.datatype == sparkplug.DOUBLE and properties["engUnit"].string_value == expected["unit"]
            assert (properties["engLow"].double_value, properties["engHigh"].double_value) == (
                expected["low"], expected["high"])
            aliases[metric.alias] = (machine, metric.name)
    assert len(aliases) == len(meta)
    cnc = [sparkplug.decode(m.payload) for m in messages if m.topic == NODE.format("DDATA") + "/cnc"]
    readings = [metric for data in cnc for metric in data.metrics if not metric.name]
    assert readings and {aliases[metric.alias][0] for metric in readings if metric.alias in aliases} == {"cnc"}
    assert all(metric.timestamp > 1_700_000_000_000 for metric in readings)  # ms since 1970, on the plant clock


def test_field_numbers_are_the_official_ones_read_without_our_schema(mosquitto):
    """Decoded as unknown fields of an empty message: the wire itself, field numbers from the specification."""
    with MqttClient(mosquitto.url) as host:
        inbox = Inbox(host, "spBv1.0/+/NBIRTH/#")
        LivePlant(seed=3, broker_url=mosquitto.url, speed=None, hours=0.002, sparkplug=True).run()
        birth = inbox.wait_for().payload
    fields = UnknownFieldSet(empty_pb2.Empty.FromString(birth))
    numbers = {field.field_number for field in fields}
    assert numbers == {1, 2, 3}  # timestamp, metrics, seq
    first_metric = next(field for field in fields if field.field_number == 2).data
    metric_fields = {field.field_number: field.data for field in UnknownFieldSet(empty_pb2.Empty.FromString(
        first_metric))}
    assert metric_fields[1] == b"bdSeq" and metric_fields[4] == sparkplug.INT64  # name, datatype
    assert {2, 3, 11} <= set(metric_fields)  # alias, timestamp, long_value


def test_a_reconnection_and_a_rebirth_request_start_new_births(mosquitto):
    live = LivePlant(seed=3, broker_url=mosquitto.url, speed=300.0, sparkplug=True).start()
    try:
        with MqttClient(mosquitto.url) as host:
            births = Inbox(host, "spBv1.0/+/NBIRTH/#")
            command = sparkplug.Payload()
            command.metrics.add(name=sparkplug.REBIRTH, datatype=sparkplug.BOOLEAN, boolean_value=True)
            host.publish(NODE.format("NCMD"), command.SerializeToString(), qos=0)
            rebirth = sparkplug.decode(births.wait_for().payload)
        assert rebirth.seq == 0
        mosquitto.stop()
        mosquitto.start()
        with MqttClient(mosquitto.url) as host:
            births = Inbox(host, "spBv1.0/+/NBIRTH/#")
            wait_until(lambda: live.sparkplug.stats.reconnects == 1, what="the edge node reconnected")
            after = sparkplug.decode(births.wait_for().payload)
    finally:
        live.stop()
    bd_seq = {m.name: sparkplug.metric_value(m) for m in after.metrics}["bdSeq"]
    assert bd_seq == 1 and after.seq == 0  # a new session: the next bdSeq, seq from 0
