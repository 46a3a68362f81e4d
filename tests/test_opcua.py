"""The plant as an OPC UA server, read and commanded by asyncua's own client (an independent OPC UA stack user)."""

import asyncio
import json

import pytest
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID
from mqtt_fixtures import Inbox, wait_until

from simulators.broker import Account
from simulators.live import LivePlant
from simulators.opcua_server import NAMESPACE_URI, OpcUaConfig, unit_id
from simulators.records import STATES
from simulators.sensors import sensor_metadata
from simulators.transport import MqttClient

LINE = "factorylab/lyon/machining/line1"


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    """An open plant (no accounts) serving OPC UA on a free port beside its embedded MQTT broker."""
    config = OpcUaConfig(port=0, certificate_dir=tmp_path_factory.mktemp("opcua"))
    live = LivePlant(seed=5, speed=120.0, opcua=config).start()
    yield live
    live.stop()


def _run(coroutine):
    return asyncio.run(coroutine)


async def _node(client: Client, path: str):
    return client.get_node(ua.NodeId(path, await client.get_namespace_index(NAMESPACE_URI)))


def test_the_address_space_mirrors_the_uns_tree_with_analog_items(plant):
    async def browse():
        async with Client(plant.opcua.endpoint) as client:
            objects = client.nodes.objects
            ns = await client.get_namespace_index(NAMESPACE_URI)
            cnc = await objects.get_child([f"{ns}:{name}" for name in ("factorylab", "lyon", "machining", "line1",
                                                                      "cnc")])
            children = {(await child.read_browse_name()).Name: child for child in await cnc.get_children()}
            vibration = children["vibration"]
            properties = {(await p.read_browse_name()).Name: await p.read_value()
                          for p in await vibration.get_properties()}
            return (set(children), (await vibration.read_type_definition()).Identifier, properties,
                    await children["state"].read_value(), await (await _node(client, f"{LINE}/wip")).read_value())

    names, type_id, properties, state, wip = _run(browse())
    meta = {m["sensor"]: m for m in sensor_metadata(plant.plant) if m["machine"] == "cnc"}
    assert names == {*meta, "state", "state_reason"}
    assert type_id == ua.ObjectIds.AnalogItemType
    assert (properties["EURange"].Low, properties["EURange"].High) == (meta["vibration"]["low"],
                                                                       meta["vibration"]["high"])
    units = properties["EngineeringUnits"]
    assert units.DisplayName.Text == "mm/s" and units.UnitId == unit_id("C16")
    assert state in STATES and wip > 0


def test_opcua_and_mqtt_carry_the_same_signal(plant):
    topic = f"{LINE}/cnc/vibration"
    with MqttClient(plant.broker_url) as learner:
        readings = Inbox(learner, topic)
        readings.wait_for()

        async def sample():
            async with Client(plant.opcua.endpoint) as client:
                value = await (await _node(client, topic)).read_data_value()
                return value.SourceTimestamp, value.Value.Value, value.StatusCode.is_good()

        stamp, value, good = _run(sample())
        wanted = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        reading = json.loads(readings.wait_for(lambda m: json.loads(m.payload)["timestamp"] == wanted).payload)
    assert reading["value"] == pytest.approx(value) and (reading["quality"] == "good") == good


def test_methods_apply_setpoints_with_the_mqtt_commands_checks(plant):
    async def call(name: str, *arguments):
        async with Client(plant.opcua.endpoint) as client:
            line = await _node(client, LINE)
            return await line.call_method(await _node(client, f"{LINE}/{name}"), *arguments)

    with MqttClient(plant.broker_url) as operator:
        replies, statuses = Inbox(operator, f"{LINE}/_reply"), Inbox(operator, f"{LINE}/_status")
        assert _run(call("set_speed", "cnc", 1.25)) == [True, ""]
        statuses.wait_for(lambda m: json.loads(m.payload).get("speeds", {}).get("cnc") == 1.25)
        ok, reason = _run(call("set_speed", "cnc", 7.0))
        operator.publish(f"{LINE}/_cmd", json.dumps({"id": "mqtt", "command": "set_speed", "station": "cnc",
                                                     "value": 7.0}).encode(), qos=1)
        by_mqtt = json.loads(replies.wait_for(lambda m: json.loads(m.payload)["id"] == "mqtt").payload)
        assert ok is False and reason == by_mqtt["reason"] and "[0.5, 1.5]" in reason
        _ok, reason = _run(call("set_buffer", "nowhere", ua.Variant(3, ua.VariantType.Int32)))
        assert "unknown station 'nowhere'" in reason
        assert any(json.loads(m.payload)["id"].startswith("opcua-") for m in replies.messages)  # an audit trail


@pytest.fixture(scope="module")
def secured_plant(tmp_path_factory):
    accounts = (Account("olga", "olga-pw", "operator"), Account("ada", "ada-pw", "learner"))
    config = OpcUaConfig(port=0, accounts=accounts, certificate_dir=tmp_path_factory.mktemp("opcua"))
    live = LivePlant(seed=5, speed=120.0, opcua=config).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client_certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client")
    key, certificate = folder / "client-key.pem", folder / "client-cert.der"
    _run(setup_self_signed_certificate(key, certificate, "urn:factorylab:test-client", "localhost",
                                       [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "factorylab test client"}))
    return certificate, key


async def _secure_client(plant, certificate, user: str | None, password: str | None) -> Client:
    """A client on the Basic256Sha256 SignAndEncrypt endpoint, with its own certificate and a login."""
    client = Client(plant.opcua.endpoint)
    client.application_uri = "urn:factorylab:test-client"
    if user is not None:
        client.set_user(user)
        client.set_password(password)
    await client.set_security(SecurityPolicyBasic256Sha256, str(certificate[0]), str(certificate[1]),
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    return client


def test_with_accounts_only_encrypted_endpoints_are_offered(secured_plant):
    offered = {(e.SecurityPolicyUri.rsplit("#", 1)[1], e.SecurityMode) for e in _run(Client(
        secured_plant.opcua.endpoint).connect_and_get_server_endpoints())}
    assert offered == {("Basic256Sha256", ua.MessageSecurityMode.Sign),
                       ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt)}


def test_an_operator_may_call_a_learner_may_only_read(secured_plant, client_certificate):
    async def session(user: str, password: str):
        client = await _secure_client(secured_plant, client_certificate, user, password)
        async with client:
            wip = await (await _node(client, f"{LINE}/wip")).read_value()
            line = await _node(client, LINE)
            try:
                answer = await line.call_method(await _node(client, f"{LINE}/set_conwip"), ua.Variant(
                    8, ua.VariantType.Int32))
            except ua.UaStatusCodeError as refused:
                answer = refused.code
            return wip, answer

    wip, answer = _run(session("olga", "olga-pw"))
    assert wip > 0 and answer == [True, ""]
    _wip, answer = _run(session("ada", "ada-pw"))
    assert answer == ua.StatusCodes.BadUserAccessDenied


@pytest.mark.parametrize(("user", "password"), [("ada", "wrong"), (None, None)])
def test_a_wrong_password_or_an_anonymous_client_is_refused(secured_plant, client_certificate, user, password):
    async def session():
        async with await _secure_client(secured_plant, client_certificate, user, password):
            pass

    with pytest.raises(ua.UaStatusCodeError) as refused:
        _run(session())
    assert refused.value.code in (ua.StatusCodes.BadUserAccessDenied, ua.StatusCodes.BadIdentityTokenRejected)
    wait_until(lambda: secured_plant.running, what="the plant unaffected")


def test_a_notebook_starts_a_plant_with_opcua_and_sparkplug_even_under_factorylab_lab(monkeypatch):
    from simulators import learner

    monkeypatch.setenv(learner.BROKER_ENV, "mqtt://127.0.0.1:1")  # a plant someone else runs, without OPC UA
    live = learner.start_plant(speed=120, opcua=True, sparkplug=True)
    try:
        assert live.broker_url != "mqtt://127.0.0.1:1" and live.opcua.endpoint.startswith("opc.tcp://127.0.0.1:")
        assert live.sparkplug.topic("NBIRTH") == "spBv1.0/lyon/NBIRTH/machining-line1"

        async def status():
            async with Client(live.opcua.endpoint) as client:
                return await (await _node(client, f"{LINE}/status")).read_value()

        assert _run(status()) == "running"
    finally:
        live.stop()
