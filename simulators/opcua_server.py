"""The plant as an OPC UA server: the same signals as the MQTT tree, in the address space OPC UA clients expect.

Under ``Objects/factorylab`` there is a folder per site and area, an object per line and per machine, with
NodeIds that are the MQTT topics themselves (``ns=<factorylab>;s=factorylab/lyon/machining/line1/cnc/vibration``),
so one signal has one name on both interfaces:

- each sensor is an ``AnalogItemType`` variable (Double) with the properties ``EURange`` (the sensor's range)
  and ``EngineeringUnits`` (UNECE code when the unit has one); its value is the latest reading of the step,
  with the reading's timestamp as SourceTimestamp and its quality as StatusCode (Good, or Bad);
- each machine has ``state`` and ``state_reason`` (String), as on its retained ``_state`` topic;
- the line has ``status`` (String), its counters ``wip``, ``completed``, ``scrapped`` (Int64) and ``conwip``
  (Int64, 0 when the line runs without a CONWIP cap), and one method per setpoint command —
  ``set_conwip(value)``, ``set_speed(station, value)``, ``set_buffer(station, value)``,
  ``maintenance_stop(station, duration_s)`` — which goes through the same `commands.CommandQueue` as an MQTT
  command (same checks, same refusals, and the reply published on ``_reply`` too) and returns its answer as
  the output arguments ``ok`` (Boolean) and ``reason`` (String).

Security is what OPC UA clients expect: the endpoints offer ``Basic256Sha256`` with Sign and SignAndEncrypt
(with a self-signed application certificate generated once into a cache folder), and ``None`` unless accounts
are configured, so that passwords never travel in clear. With accounts (`broker.Account`), clients log in
with a user name and password: ``operator`` and ``plant`` accounts may call the methods, ``learner`` accounts
may only read and browse; anonymous clients are refused unless `OpcUaConfig.allow_anonymous`, and then only
read. Without accounts anyone may read and call, as on the open embedded MQTT broker.

The server runs asyncua on its own asyncio loop in a background thread; the live loop hands it each step's
values (`update`), which are merged and written in one go, so a slow client never holds the simulation back.
"""

import asyncio
import hmac
import itertools
import logging
import os
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

from simulators import topics
from simulators.broker import Account, free_port
from simulators.commands import CommandQueue
from simulators.errors import SimulatorError
from simulators.imperfections import QUALITIES
from simulators.topics import Clock

logger = logging.getLogger(__name__)

NAMESPACE_URI = "urn:factorylab:plant"
DEFAULT_PORT = 4840  # IANA's port for OPC UA
METHOD_TIMEOUT_S = 10.0  # how long a method call waits for the live loop to apply its command
OPERATOR_ROLES = ("operator", "plant")
SECURITY_POLICIES = {
    "None": ua.SecurityPolicyType.NoSecurity,
    "Basic256Sha256_Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "Basic256Sha256_SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}
# UNECE Recommendation 20 codes of the plant's units (OPC UA Part 8's EUInformation.UnitId derives from them)
UNECE_CODES = {"kW": "KWT", "W": "WTT", "°C": "CEL", "K": "KEL", "mm/s": "C16", "m/s": "MTS", "L/min": "L2",
               "bar": "BAR", "Pa": "PAL", "kPa": "KPA", "A": "AMP", "V": "VLT", "rpm": "RPM", "%": "P1", "Hz": "HTZ",
               "mm": "MMT", "kg": "KGM", "s": "SEC"}
UNECE_URI = "http://www.opcfoundation.org/UA/units/un/cefact"
COMMAND_ARGUMENTS = {
    "set_conwip": (("value", ua.ObjectIds.Int32, "the line's WIP cap"),),
    "set_speed": (("station", ua.ObjectIds.String, "station name"),
                  ("value", ua.ObjectIds.Double, "speed factor, 1.0 = nominal")),
    "set_buffer": (("station", ua.ObjectIds.String, "station name"),
                   ("value", ua.ObjectIds.Int32, "input buffer capacity")),
    "maintenance_stop": (("station", ua.ObjectIds.String, "station name"),
                         ("duration_s", ua.ObjectIds.Double, "how long the station stops, in seconds")),
}
_READ_ONLY_REFUSED = {ua.ObjectIds.WriteRequest_Encoding_DefaultBinary, ua.ObjectIds.CallRequest_Encoding_DefaultBinary}


def unit_id(code: str) -> int:
    """OPC UA's UnitId of a UNECE common code: its (up to 3) characters as bytes of one integer."""
    value = 0
    for char in code[:3]:
        value = value << 8 | ord(char)
    return value


def engineering_units(unit: str) -> ua.EUInformation:
    code = UNECE_CODES.get(unit)
    return ua.EUInformation(NamespaceUri=UNECE_URI, UnitId=unit_id(code) if code else -1,
                            DisplayName=ua.LocalizedText(unit), Description=ua.LocalizedText(unit))


@dataclass(frozen=True)
class OpcUaConfig:
    """How the plant's OPC UA server listens and whom it lets in.

    `port` 0 picks a free port. `security`: names from `SECURITY_POLICIES`; None offers the Basic256Sha256
    ones, plus "None" when there are no accounts. `certificate_dir`: where the server's key and certificate
    are generated once (default: a folder in `FACTORYLAB_CACHE` or the system's temporary directory).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    accounts: tuple[Account, ...] = ()
    allow_anonymous: bool | None = None  # None: only when there are no accounts
    security: tuple[str, ...] | None = None
    certificate_dir: Path | None = None

    def policies(self) -> tuple[str, ...]:
        if self.security is not None:
            unknown = sorted(set(self.security) - set(SECURITY_POLICIES))
            if unknown or not self.security:
                raise SimulatorError(f"OPC UA security: choose among {', '.join(SECURITY_POLICIES)}, got "
                                     f"{unknown[0] if unknown else 'nothing'!r}")
            return tuple(self.security)
        secure = ("Basic256Sha256_Sign", "Basic256Sha256_SignAndEncrypt")
        return secure if self.accounts else ("None", *secure)

    def anonymous(self) -> bool:
        return not self.accounts if self.allow_anonymous is None else self.allow_anonymous


class AccountUsers(UserManager):
    """Logs clients in from the plant's accounts (user name and password); anonymous ones if allowed."""

    def __init__(self, accounts: tuple[Account, ...], allow_anonymous: bool) -> None:
        self.accounts = {account.username: account for account in accounts}
        self.allow_anonymous = allow_anonymous

    def get_user(self, iserver, username=None, password=None, certificate=None) -> User | None:
        if username is None:
            return User(role=UserRole.Anonymous) if self.allow_anonymous else None
        account = self.accounts.get(username)
        given = password.encode() if isinstance(password, str) else bytes(password or b"")
        if account is None or not hmac.compare_digest(given, account.password.encode()):
            logger.warning("OPC UA: login refused for user %r", username)
            return None
        return User(role=UserRole.User, name=username)


class RoleRules(PermissionRuleset):
    """Operators (and everyone, when there are no accounts) may call methods; the others read and browse."""

    def __init__(self, operators: set[str], open_plant: bool) -> None:
        self.operators = operators
        self.open_plant = open_plant
        self.everything = {ua.NodeId(type_id) for type_id in USER_TYPES}
        self.reading = {ua.NodeId(type_id) for type_id in USER_TYPES if type_id not in _READ_ONLY_REFUSED}

    def check_validity(self, user, action_type_id, body) -> bool:
        operator = self.open_plant or (user is not None and user.name in self.operators)
        return action_type_id in (self.everything if operator else self.reading)


class OpcUaServer:
    """The OPC UA view of one live plant: ``OpcUaServer(...).start()``, `update` each step, `stop`."""

    def __init__(self, plant, metadata: list[dict], commands: CommandQueue, config: OpcUaConfig, *,
                 clock: Clock) -> None:
        self.plant = plant
        self.metadata = metadata
        self.commands = commands
        self.config = config
        self.clock = clock
        self.port = config.port or free_port(config.host)
        loc = plant.location
        self.prefix = topics.line_topic(loc.site, loc.area, loc.line)
        self.policies = config.policies()
        self.namespace_index: int | None = None
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: dict[ua.NodeId, ua.DataValue] = {}
        self._pending_lock = threading.Lock()
        self._flush_scheduled = False
        self._call_ids = itertools.count(1)

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.config.host}:{self.port}/factorylab/"

    def node_id(self, path: str) -> ua.NodeId:
        """The NodeId of a topic-like path (``factorylab/lyon/…/cnc/vibration``) in the plant's namespace."""
        return ua.NodeId(path, self.namespace_index)

    # --- lifecycle, from the live loop's thread ---

    def start(self) -> "OpcUaServer":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="factorylab-opcua", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=60)
        except BaseException:
            self.stop()
            raise
        logger.info("OPC UA server on %s (security: %s)", self.endpoint, ", ".join(self.policies))
        return self

    def stop(self) -> None:
        """Stop serving (clients see the session end); safe to call twice."""
        if self._thread is None:
            return
        try:
            if self._server is not None:
                asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout=15)
        except Exception as exc:  # stopping must not hide why the plant stopped
            logger.warning("OPC UA server %s did not stop cleanly: %s", self.endpoint, exc)
        finally:
            self._server = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            self._thread = self._loop = None

    def update(self, observed, changes, snapshot: dict, t_s: float) -> None:
        """Take a step's readings (the latest per sensor), state changes and counters."""
        values: dict[ua.NodeId, ua.DataValue] = {}
        for stamp_s, sensor, value, quality in zip(observed.timestamp_s.tolist(), observed.sensor.tolist(),
                                                   observed.value.tolist(), observed.quality.tolist(), strict=True):
            good = QUALITIES[quality] == "good" and value == value
            values[self.node_id(self.metadata[sensor]["topic"])] = self._value(
                value if value == value else None, ua.VariantType.Double, stamp_s, good=good)
        for change in changes:
            machine = topics.sensor_topic(self.prefix, change.machine, "")
            values[self.node_id(machine + "state")] = self._value(change.state, ua.VariantType.String, change.t_s)
            values[self.node_id(machine + "state_reason")] = self._value(change.reason, ua.VariantType.String,
                                                                         change.t_s)
        values.update(self._line_values(snapshot, t_s, "running"))
        self._write(values)

    def update_line(self, snapshot: dict, t_s: float, status: str = "running") -> None:
        """The line's counters, status and machine states, from a snapshot (at start and at stop)."""
        values = self._line_values(snapshot, t_s, status)
        for machine, state in snapshot.get("states", {}).items():
            values[self.node_id(f"{self.prefix}/{machine}/state")] = self._value(state, ua.VariantType.String, t_s)
        self._write(values)

    # --- values ---

    def _line_values(self, snapshot: dict, t_s: float, status: str) -> dict:
        values = {self.node_id(f"{self.prefix}/status"): self._value(status, ua.VariantType.String, t_s)}
        for counter in ("wip", "completed", "scrapped", "conwip"):
            values[self.node_id(f"{self.prefix}/{counter}")] = self._value(snapshot.get(counter),
                                                                           ua.VariantType.Int64, t_s)
        return values

    def _value(self, value, variant_type: ua.VariantType, t_s: float, *, good: bool = True) -> ua.DataValue:
        """A DataValue of the variable's own type: a missing value is NaN (Double), "" (String) or 0 (Int64)."""
        if value is None:
            value = {ua.VariantType.Double: float("nan"), ua.VariantType.String: ""}.get(variant_type, 0)
        return ua.DataValue(ua.Variant(value, variant_type),
                            StatusCode=ua.StatusCode(ua.StatusCodes.Good if good else ua.StatusCodes.Bad),
                            SourceTimestamp=self.clock.moment(t_s))

    def _write(self, values: dict) -> None:
        """Merge `values` into what the server's loop writes next (one write pass per burst of steps)."""
        with self._pending_lock:
            self._pending.update(values)
            if self._flush_scheduled or self._loop is None:
                return
            self._flush_scheduled = True
        asyncio.run_coroutine_threadsafe(self._flush(), self._loop)

    async def _flush(self) -> None:
        with self._pending_lock:
            values, self._pending = self._pending, {}
            self._flush_scheduled = False
        for node_id, value in values.items():
            await self._server.write_attribute_value(node_id, value)

    # --- the server, on its own loop ---

    async def _start(self) -> None:
        config = self.config
        server = Server(user_manager=AccountUsers(config.accounts, config.anonymous()))
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"factorylab plant {self.plant.location.line}")
        application_uri = f"urn:factorylab:plant:{self.plant.location.site}:{self.plant.location.line}"
        await server.set_application_uri(application_uri)
        operators = {a.username for a in config.accounts if a.role in OPERATOR_ROLES}
        server.set_security_policy([SECURITY_POLICIES[name] for name in self.policies],
                                   permission_ruleset=RoleRules(operators, open_plant=not config.accounts))
        tokens = [ua.UserNameIdentityToken] if config.accounts else []
        if config.anonymous():
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        if any(name != "None" for name in self.policies):
            key, certificate = await self._certificate(application_uri)
            await server.load_certificate(str(certificate))
            await server.load_private_key(str(key))
        self.namespace_index = await server.register_namespace(NAMESPACE_URI)
        await self._build(server)
        try:
            await server.start()
        except OSError as exc:
            raise SimulatorError(f"OPC UA server {self.endpoint}: cannot listen ({exc.strerror or exc}); "
                                 "choose another port") from None
        self._server = server

    async def _certificate(self, application_uri: str) -> tuple[Path, Path]:
        folder = self.config.certificate_dir or Path(os.environ.get("FACTORYLAB_CACHE") or tempfile.gettempdir()) \
            / "factorylab-opcua"
        folder.mkdir(parents=True, exist_ok=True)
        key, certificate = folder / "server-key.pem", folder / "server-cert.der"
        await setup_self_signed_certificate(
            key, certificate, application_uri, socket.gethostname(),
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            {"countryName": "FR", "organizationName": "factorylab", "commonName": "factorylab plant"})
        return key, certificate

    async def _build(self, server: Server) -> None:
        """The address space: folders and objects along the UNS path, variables, properties, methods."""
        loc = self.plant.location
        parent = await server.nodes.objects.add_folder(self.node_id(topics.ROOT), self._name(topics.ROOT))
        path = topics.ROOT
        for level in (loc.site, loc.area):
            path = f"{path}/{level}"
            parent = await parent.add_folder(self.node_id(path), self._name(level))
        line = await parent.add_object(self.node_id(self.prefix), self._name(loc.line))
        await line.add_variable(self.node_id(f"{self.prefix}/status"), self._name("status"), "starting",
                                ua.VariantType.String)
        for counter in ("wip", "completed", "scrapped", "conwip"):
            await line.add_variable(self.node_id(f"{self.prefix}/{counter}"), self._name(counter), 0,
                                    ua.VariantType.Int64)
        for name, arguments in COMMAND_ARGUMENTS.items():
            await line.add_method(self.node_id(f"{self.prefix}/{name}"), self._name(name), self._method(name),
                                  [self._argument(*argument) for argument in arguments],
                                  [self._argument("ok", ua.ObjectIds.Boolean, "the command was applied"),
                                   self._argument("reason", ua.ObjectIds.String, "why it was refused")])
        machines = {}
        for machine in self.plant.stations:
            node = await line.add_object(self.node_id(f"{self.prefix}/{machine}"), self._name(machine))
            await node.add_variable(self.node_id(f"{self.prefix}/{machine}/state"), self._name("state"), "",
                                    ua.VariantType.String)
            await node.add_variable(self.node_id(f"{self.prefix}/{machine}/state_reason"),
                                    self._name("state_reason"), "", ua.VariantType.String)
            machines[machine] = node
        for meta in self.metadata:
            await self._analog_item(server, machines[meta["machine"]], meta)

    async def _analog_item(self, server: Server, machine, meta: dict) -> None:
        """A sensor: an AnalogItemType variable (Double) with its EURange and EngineeringUnits properties."""
        item = ua.AddNodesItem(
            RequestedNewNodeId=self.node_id(meta["topic"]), BrowseName=self._name(meta["sensor"]),
            NodeClass=ua.NodeClass.Variable, ParentNodeId=machine.nodeid,
            ReferenceTypeId=ua.NodeId(ua.ObjectIds.HasComponent),
            TypeDefinition=ua.NodeId(ua.ObjectIds.AnalogItemType))
        attributes = ua.VariableAttributes(
            DisplayName=ua.LocalizedText(meta["sensor"]),
            Description=ua.LocalizedText(f"{meta['kind']} of {meta['machine']}, in {meta['unit']}"),
            DataType=ua.NodeId(ua.ObjectIds.Double), ValueRank=ua.ValueRank.Scalar,
            Value=ua.Variant(None, ua.VariantType.Null),
            AccessLevel=ua.AccessLevel.CurrentRead.mask, UserAccessLevel=ua.AccessLevel.CurrentRead.mask)
        item.NodeAttributes = attributes
        [result] = await server.iserver.isession.add_nodes([item])
        result.StatusCode.check()
        node = server.get_node(result.AddedNodeId)
        await node.add_property(self.node_id(f"{meta['topic']}/EURange"), ua.QualifiedName("EURange", 0),
                                ua.Range(Low=float(meta["low"]), High=float(meta["high"])),
                                datatype=ua.NodeId(ua.ObjectIds.Range))
        await node.add_property(self.node_id(f"{meta['topic']}/EngineeringUnits"),
                                ua.QualifiedName("EngineeringUnits", 0), engineering_units(meta["unit"]),
                                datatype=ua.NodeId(ua.ObjectIds.EUInformation))

    def _name(self, name: str) -> ua.QualifiedName:
        return ua.QualifiedName(name, self.namespace_index)

    @staticmethod
    def _argument(name: str, data_type: int, description: str) -> ua.Argument:
        return ua.Argument(Name=name, DataType=ua.NodeId(data_type), ValueRank=ua.ValueRank.Scalar,
                           Description=ua.LocalizedText(description))

    def _method(self, command: str):
        """The method's callback: the command goes through the live loop's queue; its reply is the output."""
        fields = [name for name, _type, _description in COMMAND_ARGUMENTS[command]]

        async def call(_parent, *arguments):
            loop = asyncio.get_running_loop()
            answered = loop.create_future()
            data = {"id": f"opcua-{next(self._call_ids)}", "command": command,
                    **{field: argument.Value for field, argument in zip(fields, arguments, strict=True)}}
            self.commands.put(topics.encode(data),
                              on_reply=lambda reply: loop.call_soon_threadsafe(_settle, answered, reply))
            try:
                reply = await asyncio.wait_for(answered, METHOD_TIMEOUT_S)
            except TimeoutError:
                raise ua.UaStatusCodeError(ua.StatusCodes.BadTimeout) from None
            return [ua.Variant(reply.ok, ua.VariantType.Boolean),
                    ua.Variant(reply.reason or "", ua.VariantType.String)]

        return call


def _settle(future: asyncio.Future, reply) -> None:
    if not future.done():
        future.set_result(reply)
