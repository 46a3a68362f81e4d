"""The live plant: the line simulated step by step, paced to a speed factor, streamed over MQTT.

One loop, on one thread, does everything in order for each step of `step_s` simulated seconds:

1. apply the setpoint commands queued since the last step (`commands.CommandQueue`) and reply to them;
2. run the SimPy line to the end of the step; publish its state changes, MES events and setpoint
   changes as they happened;
3. generate the step's sensor window (`sensors.PlantSensors`), pass it through the network's
   imperfections (`imperfections.Imperfections`) and publish what a subscriber would receive
   (duplicates, late messages and gaps included);
4. publish the line status every `STATUS_PERIOD_S` simulated seconds and after each command;
5. sleep until the wall clock catches up with ``simulated time / speed`` (speed 60: one simulated minute
   per second; speed None or 0: no sleeping).

Topics and payloads are described in `topics.py`. With no broker URL an `EmbeddedBroker` is started
for the run. `run_live` is the command line's entry point; in a notebook, ``LivePlant(...).start()``
runs the same loop in a background thread until ``.stop()``.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import simpy

from simulators import topics
from simulators.broker import EmbeddedBroker
from simulators.commands import CommandQueue
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


def default_step_s(speed: float | None) -> float:
    """Simulated seconds per step: about 0.1 s of wall time, kept within [1, 5] s of plant time.

    Short enough that a command takes effect within a fraction of a second, long enough that a step's
    work (a sensor window, a few hundred messages) is worth the loop's overhead.
    """
    return 5.0 if not speed else min(5.0, max(1.0, 0.1 * speed))


@dataclass
class LiveSummary:
    """What a run did, for the command line's closing line and for tests."""

    broker_url: str
    t_s: float
    published: int
    dropped: int
    commands_ok: int
    commands_refused: int
    reconnects: int


class LivePlant:
    """The plant streaming live: ``run()`` blocks; ``start()`` / ``stop()`` run it in a background thread."""

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
    ) -> None:
        if speed is not None and (isinstance(speed, bool) or not math.isfinite(speed) or speed < 0):
            raise ValueError(f"speed: must be a number >= 0 (0 or None: as fast as possible), got {speed!r}")
        if hours is not None and not hours > 0:
            raise ValueError(f"hours: must be > 0 (None: until stopped), got {hours!r}")
        self.plant = plant if isinstance(plant, Plant) else load_plant(plant)
        self.scenario = as_scenario(scenario, self.plant)
        self.seed = seed
        self.speed = speed or None
        self.horizon_s = None if hours is None else hours * 3600.0
        self.step_s = step_s or default_step_s(self.speed)
        self.broker_url = broker_url
        self.t_s = 0.0
        self.summary: LiveSummary | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._client: MqttClient | None = None
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

    def stop(self, timeout_s: float = 15.0) -> LiveSummary | None:
        """Ask the loop to finish its step and close cleanly; wait for it if it runs in the background."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        return self.summary

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
                logger.exception("live plant stopped on an error")

    # --- the loop ---

    def run(self, on_ready=None) -> LiveSummary:
        """Stream until `hours` have been simulated or `stop()` is called; `on_ready(url)` once streaming."""
        broker = EmbeddedBroker().start() if self.broker_url is None else None
        try:
            url = broker.url if broker is not None else self.broker_url
            status_offline = topics.encode({"status": "offline"})
            self._client = MqttClient(url, client_id=f"factorylab-plant-{self.plant.location.line}",
                                      will=(f"{self.prefix}/{topics.STATUS}", status_offline))
            with self._client as client:
                self.broker_url = url
                return self._stream(client, url, on_ready)
        finally:
            if broker is not None:
                broker.stop()

    def _stream(self, client: MqttClient, url: str, on_ready) -> LiveSummary:
        start = self.plant.start
        env = simpy.Environment()
        records: list = []
        line = Line(env, self.plant, self.seed, listener=records.append)
        physics = PlantSensors(self.plant, self.seed, self.scenario)
        network = Imperfections(self.plant, self.seed, self.scenario)
        commands = CommandQueue()
        client.subscribe(f"{self.prefix}/{topics.COMMAND}", lambda message: commands.put(message.payload))

        metadata = sensor_metadata(self.plant)
        for meta in metadata:
            client.publish(f"{meta['topic']}/{topics.META}", topics.encode(meta), qos=1, retain=True)
        sensor_topics = [meta["topic"] for meta in metadata]
        units = [meta["unit"] for meta in metadata]
        ok = refused = 0

        def publish_status(state: str) -> None:
            status = {"timestamp": topics.timestamp(start, env.now), "status": state, "speed": self.speed,
                      **line.snapshot()}
            client.publish(f"{self.prefix}/{topics.STATUS}", topics.encode(status), qos=1, retain=True)

        self._publish_records(client, records)
        publish_status("running")
        self._ready.set()
        if on_ready is not None:
            on_ready(url)
        wall0 = time.monotonic()
        next_status_s = STATUS_PERIOD_S
        try:
            while not self._stop.is_set() and (self.horizon_s is None or self.t_s < self.horizon_s):
                replies = commands.apply_pending(line)
                for reply in replies:
                    client.publish(f"{self.prefix}/{topics.REPLY}", reply.payload(start), qos=1)
                ok += sum(reply.ok for reply in replies)
                refused += sum(not reply.ok for reply in replies)
                t0 = self.t_s
                t1 = t0 + self.step_s if self.horizon_s is None else min(t0 + self.step_s, self.horizon_s)
                env.run(until=t1)
                self._publish_records(client, records)
                observed, _truth = network.apply(physics.window(t0, t1, line.state_log, line.setpoints))
                for stamp_s, sensor, value, quality in zip(
                    observed.timestamp_s.tolist(), observed.sensor.tolist(), observed.value.tolist(),
                    observed.quality.tolist(), strict=True,
                ):
                    payload = topics.reading_payload(start, stamp_s, value, units[sensor], QUALITIES[quality])
                    client.publish(sensor_topics[sensor], payload)
                self.t_s = t1
                if replies or t1 >= next_status_s:
                    publish_status("running")
                    next_status_s = (t1 // STATUS_PERIOD_S + 1) * STATUS_PERIOD_S
                if self.speed is not None:
                    self._stop.wait(max(0.0, wall0 + t1 / self.speed - time.monotonic()))
        finally:
            publish_status("stopped")
            client.flush(timeout_s=5.0)
            self.summary = LiveSummary(url, self.t_s, client.stats.published, client.stats.dropped, ok, refused,
                                       client.stats.reconnects)
        return self.summary

    def _publish_records(self, client: MqttClient, records: list) -> None:
        """Publish and forget the line's records gathered since the last call, in the order they happened."""
        start = self.plant.start
        for record in records:
            if isinstance(record, StateChange):
                topic = topics.state_topic(self.prefix, record.machine)
                client.publish(topic, topics.state_payload(start, record), qos=1, retain=True)
            elif isinstance(record, MesEvent):
                client.publish(f"{self.prefix}/{topics.EVENTS}", topics.event_payload(start, record), qos=1)
            elif isinstance(record, SetpointChange):
                client.publish(f"{self.prefix}/{topics.SETPOINTS}", topics.setpoint_payload(start, record), qos=1)
        records.clear()

    def _check_topic_levels(self) -> None:
        source, loc = self.plant.source, self.plant.location
        for field in ("site", "area", "line"):
            topics.check_level(getattr(loc, field), f"{source}: location.{field}")
        for station in self.plant.stations.values():
            topics.check_level(station.name, f"{source}: stations.{station.name}")
            for spec in station.sensors:
                topics.check_level(spec.name, f"{source}: stations.{station.name}.sensors.{spec.name}")


def run_live(
    *,
    plant: Plant | str | Path | None = None,
    scenario=None,
    seed: int,
    broker_url: str | None = None,
    speed: float | None = 60.0,
    hours: float | None = None,
    on_ready=None,
) -> LiveSummary:
    """Stream the plant in this thread until `hours` are simulated, or Ctrl-C; return what was done.

    `on_ready(url)` is called with the broker URL actually used (the embedded broker's when
    `broker_url` is None) once the plant is publishing, for the command line to print.
    """
    live = LivePlant(plant=plant, scenario=scenario, seed=seed, broker_url=broker_url, speed=speed, hours=hours)
    try:
        return live.run(on_ready=on_ready)
    except KeyboardInterrupt:
        logger.info("interrupted: the live plant stopped cleanly at t=%.0f s", live.t_s)
        return live.summary
