"""The live plant: the line simulated step by step, paced to a speed factor, streamed over MQTT.

One loop, on one thread, does everything in order for each step of `step_s` simulated seconds:

1. apply the setpoint commands queued since the last step (`commands.CommandQueue`, fed by MQTT and by
   OPC UA method calls) and reply to them;
2. run the SimPy line to the end of the step; publish its state changes, MES events and setpoint
   changes as they happened;
3. generate the step's sensor window (`sensors.PlantSensors`), pass it through the network's
   imperfections (`imperfections.Imperfections`) and publish what a subscriber would receive
   (duplicates, late messages and gaps included, each reading with its sensor's ``seq``);
4. publish the line status every `STATUS_PERIOD_S` simulated seconds and after each command; hand the step
   to the other interfaces asked for (an OPC UA server, a Sparkplug B edge node);
5. sleep until the wall clock catches up with ``simulated time / speed`` (speed 60: one simulated minute
   per second; speed None or 0: no sleeping).

Topics and payloads are described in `topics.py`. With no broker URL an `EmbeddedBroker` is started
for the run. Before streaming, the plant checks that the broker lets it publish (it reads back its own
birth status): read-only credentials fail the start instead of streaming into the void.

Leaving is orderly whatever ends the run (the hours simulated, `stop()`, Ctrl-C, SIGTERM): every machine's
retained ``_state`` becomes ``planned_stop`` (reason "line stopped"), so no machine stays "running" on a
dashboard; the status goes ``stopped`` then ``offline``; the QoS 1 queue is flushed; `LiveSummary` says what
was published, dropped and how often the plant reconnected. A broker that turns a reconnection away (a
password changed) ends the run with BrokerError. `run_live` is the command line's entry point; in a
notebook, ``LivePlant(...).start()`` runs the same loop in a background thread until ``.stop()``.
"""

import contextlib
import logging
import math
import re
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import simpy

from simulators import topics
from simulators.broker import BrokerAddress, EmbeddedBroker, parse_broker_url, with_credentials
from simulators.commands import CommandQueue
from simulators.errors import BrokerError
from simulators.imperfections import QUALITIES, Imperfections
from simulators.line import Line
from simulators.plantfile import Plant, load_plant
from simulators.records import MesEvent, SetpointChange, StateChange
from simulators.scenarios import as_scenario
from simulators.sensors import PlantSensors, sensor_metadata
from simulators.transport import MqttClient

logger = logging.getLogger(__name__)

STATUS_PERIOD_S = 10.0  # simulated seconds between two status messages
READY_TIMEOUT_S = 30.0  # how long start() waits for the broker and the first publications
ECHO_TIMEOUT_S = 3.0  # how long the plant waits to read back its birth status before calling itself read-only
FLUSH_TIMEOUT_S = 2.0  # how long an orderly exit waits for the QoS 1 queue to drain (a stop stays quick)
STOPPED_STATE, STOPPED_REASON = "planned_stop", "line stopped"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


def default_step_s(speed: float | None) -> float:
    """Simulated seconds per step: about 0.1 s of wall time, kept within [1, 5] s of plant time.

    Short enough that a command takes effect within a fraction of a second, long enough that a step's
    work (a sensor window, a few hundred messages) is worth the loop's overhead.
    """
    return 5.0 if not speed else min(5.0, max(1.0, 0.1 * speed))


def default_client_id(plant: Plant) -> str:
    """``factorylab-<line>-<random>``: unique, so two plants on one broker never knock each other off."""
    return f"factorylab-{plant.location.line}-{secrets.token_hex(4)}"


@dataclass
class LiveSummary:
    """What a run did, for the command line's closing line and for tests."""

    broker_url: str  # without its password
    t_s: float
    published: int
    dropped: int
    commands_ok: int
    commands_refused: int
    reconnects: int
    delivered: int = 0
    reason: str = ""  # why the run ended

    def describe(self) -> str:
        return (f"plant stopped ({self.reason}) at t={self.t_s:g} s: {self.published} messages published, "
                f"{self.delivered} delivered, {self.dropped} dropped, {self.reconnects} reconnections; "
                f"commands: {self.commands_ok} applied, {self.commands_refused} refused")


class LivePlant:
    """The plant streaming live: ``run()`` blocks; ``start()`` / ``stop()`` run it in a background thread.

    `client_id`: the MQTT client id (default: unique per run). `clock`: ``"sim"`` (timestamps on the plant
    clock) or ``"wall"`` (now, paced by `speed`). `password_file`: where the broker password is, if not in
    the URL or the environment (see `broker.with_credentials`). `opcua`: also serve the plant over OPC UA
    (True, or an `opcua_server.OpcUaConfig`). `sparkplug`: also publish as a Sparkplug B edge node (True, or
    a `sparkplug.SparkplugConfig`).
    """

    def __init__(
        self,
        *,
        plant: Plant | str | Path | None = None,
        scenario=None,
        seed: int,
        broker_url: str | None = None,
        speed: float | None = 60.0,
        hours: float | None = None,
        step_s: float | None = None,
        client_id: str | None = None,
        clock: str = "sim",
        password_file: str | Path | None = None,
        opcua=None,
        sparkplug=None,
    ) -> None:
        if speed is not None and (isinstance(speed, bool) or not math.isfinite(speed) or speed < 0):
            raise ValueError(f"speed: must be a number >= 0 (0 or None: as fast as possible), got {speed!r}")
        if hours is not None and not hours > 0:
            raise ValueError(f"hours: must be > 0 (None: until stopped), got {hours!r}")
        if clock not in topics.CLOCKS:
            raise ValueError(f"clock: must be one of {', '.join(topics.CLOCKS)}, got {clock!r}")
        if clock == "wall":
            topics.Clock.wall(speed)  # raises for an unpaced run
        if client_id is not None and not _CLIENT_ID.match(client_id):
            raise ValueError(f"client id: 1 to 128 letters, digits or '_.:-', got {client_id!r}")
        self.plant = plant if isinstance(plant, Plant) else load_plant(plant)
        self.scenario = as_scenario(scenario, self.plant)
        self.seed = seed
        self.speed = speed or None
        self.horizon_s = None if hours is None else hours * 3600.0
        self.step_s = step_s or default_step_s(self.speed)
        self.broker_url = broker_url
        self.client_id = client_id or default_client_id(self.plant)
        self.clock_kind = clock
        self.clock = topics.Clock.sim(self.plant.start)
        self.password_file = password_file
        self.opcua_config = _interface_config(opcua, "opcua")
        self.sparkplug_config = _interface_config(sparkplug, "sparkplug")
        self.opcua = None  # the running OpcUaServer, during a run with opcua
        self.sparkplug = None  # the running SparkplugEdgeNode, during a run with sparkplug
        self.run_id = secrets.token_hex(4)
        self.t_s = 0.0
        self.summary: LiveSummary | None = None
        self._stop = threading.Event()
        self._stop_reason: str | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._client: MqttClient | None = None
        self._address: BrokerAddress | None = None
        loc = self.plant.location
        self.prefix = topics.line_topic(loc.site, loc.area, loc.line)
        self._check_topic_levels()

    # --- control, from any thread ---

    def start(self) -> "LivePlant":
        """Run in a background thread; return once streaming (BrokerError etc. are raised here)."""
        if self._thread is not None:
            raise RuntimeError("this LivePlant is already running; create a new one to stream again")
        self._thread = threading.Thread(target=self._run_in_thread, name="factorylab-live", daemon=True)
        self._thread.start()
        while not self._ready.wait(0.05):
            if not self._thread.is_alive() or self._error is not None:
                break
        if self._error is not None:
            self._thread.join(READY_TIMEOUT_S)
            raise self._error
        return self

    def stop(self, timeout_s: float = 15.0, *, reason: str = "stopped") -> LiveSummary | None:
        """Ask the loop to finish its step and close cleanly; wait for it if it runs in the background."""
        self.request_stop(reason)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        return self.summary

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after its step, without waiting (safe from a signal handler)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stop.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for a background run to end (hours elapsed or stopped); True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._ready.is_set() and not self._stop.is_set() and self.summary is None

    @property
    def client_status(self) -> str:
        """The plant's MQTT connection: "connected", "reconnecting"… ("new" before the run)."""
        return self._client.status if self._client is not None else "new"

    @property
    def display_url(self) -> str | None:
        """The broker's URL without its password (safe to print), once the run has started."""
        return self._address.url if self._address is not None else None

    def __enter__(self) -> "LivePlant":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run_in_thread(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # handed to start(), or logged if the run was already under way
            self._error = exc
            if self._ready.is_set():
                logger.error("live plant stopped on an error: %s", exc, exc_info=not isinstance(exc, BrokerError))

    # --- the loop ---

    def run(self, on_ready=None) -> LiveSummary:
        """Stream until `hours` have been simulated or `stop()` is called; `on_ready(url)` once streaming,
        with the broker's URL without its password."""
        broker = EmbeddedBroker().start() if self.broker_url is None else None
        try:
            url = broker.url if broker is not None else self.broker_url
            self._address = with_credentials(parse_broker_url(url), password_file=self.password_file)
            if self.clock_kind == "wall":
                self.clock = topics.Clock.wall(self.speed)
            will = topics.status_payload(self.clock, 0.0, "offline", **self._identity(),
                                         reason="connection lost (the plant's last will, set when it connected)")
            self._client = client = MqttClient(self._address, client_id=self.client_id,
                                               will=(f"{self.prefix}/{topics.STATUS}", will))
            client.connect()
            try:
                self.broker_url = url
                return self._stream(client, on_ready)
            finally:
                client.close(flush_timeout_s=0.5)  # _leave has flushed already, as long as a stop may wait
        finally:
            if broker is not None:
                broker.stop()

    def _identity(self) -> dict:
        return {"client_id": self.client_id, "run": self.run_id, "clock": self.clock_kind, "speed": self.speed}

    def _stream(self, client: MqttClient, on_ready) -> LiveSummary:
        env = simpy.Environment()
        records: list = []
        line = Line(env, self.plant, self.seed, listener=records.append, scenario=self.scenario)
        physics = PlantSensors(self.plant, self.seed, self.scenario)
        network = Imperfections(self.plant, self.seed, self.scenario)
        commands = CommandQueue()
        client.subscribe(f"{self.prefix}/{topics.COMMAND}",
                         lambda message: commands.put(message.payload, retained=bool(message.retain)))
        self._check_can_publish(client, line)

        metadata = sensor_metadata(self.plant)
        for meta in metadata:
            client.publish(f"{meta['topic']}/{topics.META}", topics.encode(meta), qos=1, retain=True)
        sensor_topics = [meta["topic"] for meta in metadata]
        units = [meta["unit"] for meta in metadata]
        counts = {"ok": 0, "refused": 0}
        try:
            self._start_interfaces(metadata, commands, line)
            self._publish_records(client, records)
            self._ready.set()
            if on_ready is not None:
                on_ready(self.display_url)
            wall0 = time.monotonic()
            next_status_s = STATUS_PERIOD_S
            while not self._stop.is_set() and (self.horizon_s is None or self.t_s < self.horizon_s):
                if client.status == "refused":
                    raise BrokerError(f"{self.display_url}: {client.stats.last_error}; the plant stopped")
                replies = commands.apply_pending(line)
                for reply in replies:
                    client.publish(f"{self.prefix}/{topics.REPLY}", reply.payload(self.clock), qos=1)
                counts["ok"] += sum(reply.ok for reply in replies)
                counts["refused"] += sum(not reply.ok for reply in replies)
                t0 = self.t_s
                t1 = t0 + self.step_s if self.horizon_s is None else min(t0 + self.step_s, self.horizon_s)
                env.run(until=t1)
                changes = [r for r in records if isinstance(r, StateChange)]
                self._publish_records(client, records)
                observed, _truth = network.apply(physics.window(t0, t1, line.state_log, line.setpoints,
                                                                line.renewals, line.events))
                for stamp_s, sensor, seq, value, quality in zip(
                    observed.timestamp_s.tolist(), observed.sensor.tolist(), observed.seq.tolist(),
                    observed.value.tolist(), observed.quality.tolist(), strict=True,
                ):
                    payload = topics.reading_payload(self.clock, stamp_s, value, units[sensor], QUALITIES[quality],
                                                     seq)
                    client.publish(sensor_topics[sensor], payload)
                self.t_s = t1
                snapshot = line.snapshot()
                if replies or t1 >= next_status_s:
                    self._publish_status(client, t1, "running", snapshot)
                    next_status_s = (t1 // STATUS_PERIOD_S + 1) * STATUS_PERIOD_S
                self._step_interfaces(t1, observed, changes, snapshot)
                if self.speed is not None:
                    self._stop.wait(max(0.0, wall0 + t1 / self.speed - time.monotonic()))
            if self._stop_reason is None:
                self._stop_reason = f"{self.horizon_s / 3600.0:g} h simulated"
        except KeyboardInterrupt:
            self._stop_reason = self._stop_reason or "interrupted"
            raise
        finally:
            self._leave(client, line, counts)
        return self.summary

    def _check_can_publish(self, client: MqttClient, line: Line) -> None:
        """Publish the birth status and read it back; BrokerError if the broker dropped it (no write access)."""
        topic = f"{self.prefix}/{topics.STATUS}"
        echoed = threading.Event()
        birth = topics.status_payload(self.clock, 0.0, "running", reason="started", **self._identity(),
                                      **line.snapshot())
        client.subscribe(topic, lambda message: echoed.set() if message.payload == birth else None)
        client.publish(topic, birth, qos=1, retain=True)
        try:
            if not echoed.wait(ECHO_TIMEOUT_S):
                user = self._address.username
                raise BrokerError(
                    f"{self.display_url}: the broker accepted the connection but dropped the plant's first message "
                    f"(on {topic}): the account {user!r} may not publish there (read-only credentials?); the plant "
                    f"needs write access to {topics.ROOT}/#" if user else
                    f"{self.display_url}: the broker dropped the plant's first message (on {topic}): anonymous "
                    "clients may not publish there; give the plant an account with write access")
        finally:
            client.unsubscribe(topic)

    def _publish_status(self, client: MqttClient, t_s: float, status: str, snapshot: dict, *,
                        reason: str | None = None) -> None:
        payload = topics.status_payload(self.clock, t_s, status, reason=reason, **self._identity(), **snapshot)
        client.publish(f"{self.prefix}/{topics.STATUS}", payload, qos=1, retain=True)

    def _leave(self, client: MqttClient, line: Line, counts: dict) -> None:
        """The orderly exit: machines to planned_stop, status stopped then offline, queues flushed, a summary."""
        reason = self._stop_reason or "error"
        t_s = self.t_s
        try:
            for machine in self.plant.stations:
                change = StateChange(t_s, machine, STOPPED_STATE, STOPPED_REASON)
                client.publish(topics.state_topic(self.prefix, machine), topics.state_payload(self.clock, change),
                               qos=1, retain=True)
            snapshot = line.snapshot()
            snapshot["states"] = dict.fromkeys(self.plant.stations, STOPPED_STATE)
            self._publish_status(client, t_s, "stopped", snapshot, reason=reason)
            self._publish_status(client, t_s, "offline", snapshot, reason=reason)
            self._stop_interfaces(t_s)
            if client.status == "connected":
                client.flush(timeout_s=FLUSH_TIMEOUT_S)
        finally:
            stats = client.stats
            self.summary = LiveSummary(self.display_url, t_s, stats.published, stats.dropped, counts["ok"],
                                       counts["refused"], stats.reconnects, stats.delivered, reason)
            logger.info("%s", self.summary.describe())

    # --- the other interfaces: OPC UA, Sparkplug B ---

    def _start_interfaces(self, metadata: list[dict], commands: CommandQueue, line: Line) -> None:
        if self.opcua_config is not None:
            from simulators.opcua_server import OpcUaServer

            self.opcua = OpcUaServer(self.plant, metadata, commands, self.opcua_config, clock=self.clock).start()
            self.opcua.update_line(line.snapshot(), self.t_s)
        if self.sparkplug_config is not None:
            from simulators.sparkplug import SparkplugEdgeNode

            self.sparkplug = SparkplugEdgeNode(self.plant, metadata, self._address, self.sparkplug_config,
                                               clock=self.clock, client_id=f"{self.client_id}-spb").connect()
            self.sparkplug.birth(line.snapshot(), self.t_s)

    def _step_interfaces(self, t_s: float, observed, changes: list[StateChange], snapshot: dict) -> None:
        if self.opcua is not None:
            self.opcua.update(observed, changes, snapshot, t_s)
        if self.sparkplug is not None:
            self.sparkplug.publish_step(observed, changes, snapshot, t_s)

    def _stop_interfaces(self, t_s: float) -> None:
        if self.sparkplug is not None:
            self.sparkplug.close(t_s)
        if self.opcua is not None:
            self.opcua.stop()

    def _publish_records(self, client: MqttClient, records: list) -> None:
        """Publish and forget the line's records gathered since the last call, in the order they happened."""
        for record in records:
            if isinstance(record, StateChange):
                topic = topics.state_topic(self.prefix, record.machine)
                client.publish(topic, topics.state_payload(self.clock, record), qos=1, retain=True)
            elif isinstance(record, MesEvent):
                client.publish(f"{self.prefix}/{topics.EVENTS}", topics.event_payload(self.clock, record), qos=1)
            elif isinstance(record, SetpointChange):
                client.publish(f"{self.prefix}/{topics.SETPOINTS}", topics.setpoint_payload(self.clock, record),
                               qos=1)
        records.clear()

    def _check_topic_levels(self) -> None:
        source, loc = self.plant.source, self.plant.location
        for field in ("site", "area", "line"):
            topics.check_level(getattr(loc, field), f"{source}: location.{field}")
        for station in self.plant.stations.values():
            topics.check_level(station.name, f"{source}: stations.{station.name}")
            for spec in station.sensors:
                topics.check_level(spec.name, f"{source}: stations.{station.name}.sensors.{spec.name}")


def _interface_config(value, kind: str):
    """None for an interface not asked for; its default configuration for True; a configuration as is."""
    if value is None or value is False:
        return None
    if value is True:
        if kind == "opcua":
            from simulators.opcua_server import OpcUaConfig

            return OpcUaConfig()
        from simulators.sparkplug import SparkplugConfig

        return SparkplugConfig()
    return value


@contextlib.contextmanager
def stop_on_signals(live: LivePlant):
    """While the block runs (in the main thread), SIGTERM and Ctrl-C ask `live` to leave in order.

    A second Ctrl-C interrupts at once: whoever presses it twice does not want to wait for the flush.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum, _frame) -> None:
        if signum == signal.SIGINT and live._stop.is_set():
            raise KeyboardInterrupt
        live.request_stop(f"{signal.Signals(signum).name} received")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_live(
    *,
    plant: Plant | str | Path | None = None,
    scenario=None,
    seed: int,
    broker_url: str | None = None,
    speed: float | None = 60.0,
    hours: float | None = None,
    on_ready=None,
    **options,
) -> LiveSummary:
    """Stream the plant in this thread until `hours` are simulated, SIGTERM or Ctrl-C; return what was done.

    `on_ready(url)` is called with the broker URL actually used (the embedded broker's when `broker_url` is
    None), without its password, once the plant is publishing, for the command line to print. `options` are
    `LivePlant`'s (client_id, clock, password_file, opcua, sparkplug).
    """
    live = LivePlant(plant=plant, scenario=scenario, seed=seed, broker_url=broker_url, speed=speed, hours=hours,
                     **options)
    with stop_on_signals(live):
        try:
            return live.run(on_ready=on_ready)
        except KeyboardInterrupt:
            logger.info("interrupted: the live plant stopped at t=%.0f s", live.t_s)
            return live.summary
