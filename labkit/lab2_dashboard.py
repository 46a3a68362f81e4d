"""lab2_dashboard's kit: the site's colour code, the brief's filter, a replayable stream, the wall screen's feed
monitor, and the hidden cells' probes.

`recorded_messages` gives the messages a subscriber of the live plant would have received during a window of
this learner's recorded shift (the graded variant's when grading), as `Message`s shaped like paho's (`.topic`,
`.payload` bytes of JSON). The recordings are those of the line's real sensor network (`PLANT`): each sensor
samples at its own period (5 s to 5 min) and reports rounded values, so a dashboard must not assume one reading
per second. The probes run the learner's `Dashboard` and `make_feed` on the windows and messages
the grader chose (`labkit.variant.graded_input`) and return what the dashboard shows, or what the feed did, as
plain data; the grader compares them with what the same messages say, in its own process.
"""

import html
import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ipywidgets
import numpy as np
import pandas as pd

from labkit.variant import graded_input
from simulators import topics
from simulators.learner import load_dataset

KINDS = ("gauge", "trend", "bar", "table", "status")
# The site's colour code for machine states (the andon tower's), from the brief's quality rules.
STATE_COLOURS = {"running": "#2e7d32", "starved": "#f9a825", "blocked": "#f9a825", "down": "#c62828",
                 "planned_stop": "#757575"}
FEED_CLOCK_START_S = 1000.0  # the feed probe's fake clock() at the first message
PLANT = "realistic"  # the recorded plant: the line as its real sensor network reports it


@dataclass(frozen=True)
class Message:
    """One MQTT message as a subscriber's callback receives it: paho's `.topic` and `.payload` (JSON bytes)."""

    topic: str
    payload: bytes


def keep_reading(payload: dict, low: float, high: float) -> bool:
    """The filtered stream's rule (lab 1's filter, simplified): a good-quality, present value within the
    sensor's range [low, high]; anything else would mislead a reader of the dashboard."""
    value = payload.get("value")
    return (payload.get("quality") == "good" and isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


def recorded_messages(*, start_min: float, minutes: float) -> list[Message]:
    """What a subscriber to ``<line>/+/+`` receives from minute `start_min` of this learner's recorded shift,
    for `minutes`: first each machine's retained state, then readings and state changes in arrival order
    (late and duplicated readings included, as on the wire)."""
    return messages_of(recording(), start_min=start_min, minutes=minutes)


def recording():
    """This learner's recorded shift of the plant (the graded variant's when grading)."""
    return load_dataset(plant=PLANT)


def messages_of(data, *, start_min: float, minutes: float) -> list[Message]:
    """`recorded_messages` of a dataset's observed tables (`readings`, `states`, `sensors`)."""
    start = pd.Timestamp(data.readings.timestamp.iloc[0]).floor("h") + pd.Timedelta(minutes=start_min)
    end = start + pd.Timedelta(minutes=minutes)
    prefix = data.sensors.topic.iloc[0].rsplit("/", 2)[0]
    topic_of = {(row.machine, row.sensor): row.topic for row in data.sensors.itertuples()}

    stamp = data.readings.timestamp
    readings = data.readings[(stamp >= start) & (stamp < end)]
    arrival_ms = np.maximum.accumulate(readings.timestamp.dt.as_unit("ms").astype("int64").to_numpy())
    items = [(int(ms), 1, Message(topic_of[(machine, sensor)], _reading(when, value, unit, quality)))
             for ms, when, machine, sensor, value, unit, quality in zip(
                 arrival_ms, readings.timestamp, readings.machine, readings.sensor, readings.value, readings.unit,
                 readings.quality, strict=True)]

    states = data.states
    before = states[states.timestamp < start].groupby("machine", observed=True).tail(1)
    retained = [Message(topics.state_topic(prefix, row.machine), _state(row)) for row in before.itertuples()]
    during = states[(states.timestamp >= start) & (states.timestamp < end)]
    items += [(int(row.timestamp.value // 1_000_000), 0, Message(topics.state_topic(prefix, row.machine), _state(row)))
              for row in during.itertuples()]
    items.sort(key=lambda item: item[:2])  # stable: readings keep their arrival order
    return retained + [message for _, _, message in items]


def iso(when: pd.Timestamp) -> str:
    """A timestamp as the plant writes it: ISO 8601, milliseconds, UTC ("Z")."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _reading(when, value, unit, quality) -> bytes:
    value = None if value is None or not math.isfinite(value) else float(value)
    return topics.encode({"timestamp": iso(when), "value": value, "unit": str(unit), "quality": str(quality)})


def _state(row) -> bytes:
    reason = row.reason if isinstance(row.reason, str) else None
    return topics.encode({"timestamp": iso(row.timestamp), "state": row.state, "reason": reason})


def filtered(messages: Iterable[Message], sensors: pd.DataFrame) -> list[tuple[str, dict]]:
    """The decoded messages a dashboard should be given: states, and readings that pass `keep_reading`."""
    ranges = {row.topic: (row.low, row.high) for row in sensors.itertuples()}
    kept = []
    for message in messages:
        payload = json.loads(message.payload)
        if message.topic.endswith(f"/{topics.STATE}") or (
                message.topic in ranges and keep_reading(payload, *ranges[message.topic])):
            kept.append((message.topic, payload))
    return kept


def vibration_topic(sensors: pd.DataFrame) -> str:
    """The topic of the CNC's vibration sensor."""
    rows = sensors[(sensors.machine == "cnc") & (sensors.kind == "vibration")]
    return str(rows.topic.iloc[0])


def window_stream(data, window: dict) -> list[tuple[str, dict]]:
    """The filtered stream of one replay window {"start_min", "minutes", "late_s", "late_value"}, ending with a
    late CNC vibration reading, `late_s` older than the newest one (it must not replace it)."""
    stream = filtered(messages_of(data, start_min=window["start_min"], minutes=window["minutes"]), data.sensors)
    topic = vibration_topic(data.sensors)
    newest = max(pd.Timestamp(payload["timestamp"]) for t, payload in stream if t == topic)
    late = {"timestamp": iso(newest - pd.Timedelta(seconds=window["late_s"])), "value": window["late_value"],
            "unit": "mm/s", "quality": "good"}
    return [*stream, (topic, late)]


def feed_messages(data, case: dict) -> list[Message]:
    """The messages of the feed probe: a window of the shift, then CNC vibration readings the filter must drop
    (bad quality, out of range, missing value), each newer than the window's."""
    messages = messages_of(data, start_min=case["start_min"], minutes=case["minutes"])
    topic = vibration_topic(data.sensors)
    newest = max(pd.Timestamp(json.loads(m.payload)["timestamp"]) for m in messages if m.topic == topic)
    for seconds, value, quality in case["extra"]:
        payload = {"timestamp": iso(newest + pd.Timedelta(seconds=seconds)), "value": value, "unit": "mm/s",
                   "quality": quality}
        messages.append(Message(topic, topics.encode(payload)))
    return messages


class FeedMonitor:
    """The wall screen's watch on the live feed: the plant time of the newest reading, how long ago a message
    arrived, and an alarm when none has for `stale_after_s` seconds (a dead broker, a cut network, a stopped
    plant), so a frozen screen is never mistaken for a calm line.

    `wrap(feed)` returns a callback that notes each message, then hands it to `feed`; `start()` redraws the
    banner every `check_every_s` seconds on its own thread, since silence brings no message to react to.
    `clock` is the monotonic time in seconds (a parameter so that tests can drive it)."""

    def __init__(self, *, stale_after_s: float = 5.0, check_every_s: float = 0.5,
                 clock: Callable[[], float] = time.monotonic):
        self.stale_after_s, self.check_every_s, self._clock = stale_after_s, check_every_s, clock
        self.widget = ipywidgets.HTML()
        self.widget.add_class("factorylab-feed")
        self.received = 0
        self._last_arrival: float | None = None
        self._newest: str | None = None
        self._stop = threading.Event()
        self.refresh()

    def wrap(self, feed: Callable) -> Callable:
        def watched(message) -> None:
            self.seen(message)
            feed(message)

        return watched

    def seen(self, message) -> None:
        """Note one message's arrival, and its reading time if newer than the newest so far."""
        self.received += 1
        self._last_arrival = self._clock()
        try:
            stamp = json.loads(message.payload).get("timestamp")
        except (ValueError, AttributeError):
            return
        if isinstance(stamp, str) and (self._newest is None or stamp > self._newest):
            self._newest = stamp

    @property
    def stale(self) -> bool:
        return self._last_arrival is None or self._clock() - self._last_arrival > self.stale_after_s

    def refresh(self) -> None:
        """Redraw the banner: the newest reading's time and the feed's age, red when stale."""
        newest = self._newest[11:19] if self._newest else "--:--:--"
        if self._last_arrival is None:
            state, colour, age = "WAITING FOR THE FEED", STATE_COLOURS["down"], "no data yet"
        else:
            seconds = self._clock() - self._last_arrival
            age = f"received {seconds:.0f} s ago"
            state, colour = ("FEED STALE", STATE_COLOURS["down"]) if self.stale else ("LIVE", STATE_COLOURS["running"])
        self.widget.value = (
            f"<div class='factorylab-feed-{'stale' if self.stale else 'live'}' style='display:flex;gap:24px;"
            f"align-items:center;padding:8px 16px;border-radius:8px;color:white;background:{colour};"
            f"font-size:22px;font-weight:bold'><span>{html.escape(state)}</span>"
            f"<span>last reading {newest} UTC (plant time)</span><span>{html.escape(age)}</span></div>")

    def start(self) -> "FeedMonitor":
        def loop() -> None:
            while not self._stop.wait(self.check_every_s):
                self.refresh()

        threading.Thread(target=loop, name="feed-monitor", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()


# --- what a dashboard shows, as plain data ----------------------------------------------------------------------

def _descendants(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _descendants(child)
    return found


def shown(dashboard) -> dict:
    """The dashboard's figures (plotly JSON text) and lights (their HTML), as the grader reads them."""
    figures = getattr(dashboard, "figures", None)
    lights = getattr(dashboard, "lights", None)
    return {
        "figures": {str(name): figure.to_json() for name, figure in figures.items()} if isinstance(figures, dict)
        else None,
        "lights": {str(machine): str(getattr(light, "value", "")) for machine, light in lights.items()}
        if isinstance(lights, dict) else None,
    }


def layout(dashboard) -> dict:
    """`shown`, plus how the dashboard's widgets are built: light widgets, container, outputs in it."""
    widget = getattr(dashboard, "widget", None)
    lights = getattr(dashboard, "lights", None)
    lights = lights if isinstance(lights, dict) else {}
    inside = _descendants(widget) if widget is not None else []
    return {**shown(dashboard),
            "lights_are_html": all(isinstance(light, ipywidgets.HTML) for light in lights.values()),
            "widget_is_box": isinstance(widget, ipywidgets.Box),
            "lights_in_widget": all(any(light is w for w in inside) for light in lights.values()),
            "outputs_in_widget": sum(isinstance(w, ipywidgets.Output) for w in inside)}


# --- probes: the learner's code on the grader's inputs ----------------------------------------------------

def practice_layout_sensors() -> pd.DataFrame:
    """The sensor metadata the practice layout probe builds a dashboard from (the grader may change ranges)."""
    return recording().sensors


def probe_layout(make_dashboard: Callable) -> dict:
    """`layout` of a dashboard built from the grader's sensor metadata."""
    return layout(make_dashboard(graded_input("layout_sensors", practice=practice_layout_sensors)))


def practice_replay_windows() -> list[dict]:
    """The practice replay: two successive 10-minute windows from minute 200, each ending with a late reading."""
    return [{"start_min": 200.0, "minutes": 10.0, "late_s": 20.0, "late_value": 0.123},
            {"start_min": 210.0, "minutes": 10.0, "late_s": 20.0, "late_value": 0.123}]


def probe_replay(make_dashboard: Callable) -> list[dict]:
    """Replay the grader's windows in turn into one dashboard (update each message, then refresh); `shown`
    after each window."""
    data = recording()
    dashboard = make_dashboard(data.sensors)
    after = []
    for window in graded_input("replay_windows", practice=practice_replay_windows):
        for topic, payload in window_stream(data, window):
            dashboard.update(topic, payload)
        dashboard.refresh()
        after.append(shown(dashboard))
    return after


class RecordingDashboard:
    """A stand-in dashboard for the feed probe: it records what the feed gives it and when it redraws."""

    def __init__(self, sensors: pd.DataFrame, clock: Callable[[], float]):
        self.sensors = sensors
        self.updates: list[list] = []
        self.refreshes: list[float] = []
        self._clock = clock

    def update(self, topic, payload) -> None:
        self.updates.append([str(topic), str(payload.get("timestamp")) if isinstance(payload, dict) else None])

    def refresh(self) -> None:
        self.refreshes.append(float(self._clock()))


def practice_feed_case() -> dict:
    """The practice feed probe: 3 minutes from minute 300, 1 ms apart, at most 2 redraws per second."""
    return {"start_min": 300.0, "minutes": 3.0, "step_s": 0.001, "max_refresh_hz": 2.0,
            "extra": [[1, 24.0, "bad"], [2, 99.0, "good"], [3, None, "good"]]}


def probe_feed(make_feed: Callable) -> dict:
    """Drive `make_feed(dashboard, max_refresh_hz=, clock=)` with the grader's messages on a fake clock; what it
    passed to `dashboard.update` (topic, timestamp) and the clock times of its `dashboard.refresh` calls."""
    case = graded_input("feed_case", practice=practice_feed_case)
    data = recording()
    now = [FEED_CLOCK_START_S]
    dashboard = RecordingDashboard(data.sensors, clock=lambda: now[0])
    feed = make_feed(dashboard, max_refresh_hz=case["max_refresh_hz"], clock=lambda: now[0])
    messages = feed_messages(data, case)
    for message in messages:
        feed(message)
        now[0] += case["step_s"]
    return {"updates": dashboard.updates, "refreshes": dashboard.refreshes, "messages": len(messages)}


def probe_live(dashboard, *, timeout_s: float = 10.0, poll_s: float = 0.1) -> dict:
    """Watch a dashboard fed by the live plant for up to `timeout_s`: the CNC vibration gauge's successive
    values (until it changed) and the lights' HTML."""
    deadline = time.monotonic() + timeout_s
    gauge = dashboard.figures["cnc_vibration"].data[0]
    while gauge.value is None and time.monotonic() < deadline:
        time.sleep(poll_s)
    values = [gauge.value]
    while gauge.value == values[0] and time.monotonic() < deadline:
        time.sleep(poll_s)
    values.append(gauge.value)
    return {"gauge": [None if v is None else float(v) for v in values],
            "lights": {str(machine): str(light.value) for machine, light in dashboard.lights.items()}}
