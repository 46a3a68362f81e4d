"""Checks of lab3_alerts (CCPM competence 3, alert thresholds): the brief's objectives, the replay, the graders.

The lab's brief sets four objectives, one per fault the plant can suffer (`OBJECTIVES`): each says which
sensor shows the fault, in which machine states, the limit a document gives (supplier manual, ISO 10816,
energy contract), the severity and the longest acceptable detection delay. The graders here recompute the
truth for the learner's seed (`simulators.learner.load_truth`) and replay the recorded scenarios through the
learner's own `AlertEngine`, exactly as `replay` shows learners, then compare:

- `check_thresholds`: one rule per objective, on the right sensor and side, its threshold between the normal
  operation of the learner's plant (noise-free truth) and the brief's limit, with a hysteresis and a pending;
- `check_engine`: pending period, hysteresis, machine-state gating and acknowledgement on a synthetic stream;
- `check_detection` / `check_quiet`: every fault detected in time, no alarm outside a fault, no chattering;
- `check_routing`, `check_email`, `check_mqtt`: severities, channels and recipients as the brief's routing
  table says; e-mails reach a local SMTP server, alarm messages reach an MQTT broker;
- `check_panel`: the dashboard's alarm light, horn and threshold table follow the alarms.

Every failure is an AssertionError whose message tells the learner what to change.
"""

import json
import queue
import time
from dataclasses import dataclass

import pandas as pd

from simulators.learner import learner_seed, load_dataset, load_truth

SEVERITIES = ("info", "warning", "critical")
CHANNELS = ("light", "sound", "email", "mqtt")
# The brief's routing table: the channels each severity goes to, no more, no fewer.
SEVERITY_CHANNELS = {
    "critical": ("light", "sound", "email", "mqtt"),
    "warning": ("light", "email", "mqtt"),
    "info": ("light", "mqtt"),
}
MAIL_DOMAIN = "lyon.factorylab.example"  # the only domain the plant's mail relay may deliver to
SENDER = f"line1-alarms@{MAIL_DOMAIN}"
# The dashboard's light: the worst active severity decides its colour (None: no active alarm).
LIGHT_COLOURS = {None: "#2e7d32", "info": "#1565c0", "warning": "#f9a825", "critical": "#c62828"}
MAX_FIRINGS_PER_FAULT = 3  # more fire/clear cycles than this during one fault is chattering
QUIET_SCENARIOS = ("normal", "network_outage")


@dataclass(frozen=True)
class Objective:
    """One objective of the brief: the fault to detect, where it shows, the documented limit and the delay."""

    key: str
    scenario: str
    machine: str
    sensor: str
    direction: str  # "above": the fault raises the value; "below": it lowers it
    shows_in: tuple[str, ...]  # machine states in which the fault is visible on the sensor
    limit: float  # the brief's documented limit: the threshold must sit between normal operation and it
    limit_source: str
    severity: str
    recipient: str
    max_delay_s: float  # from the first moment the fault is visible

    @property
    def delay_min(self) -> float:
        return self.max_delay_s / 60


OBJECTIVES = (
    Objective("spindle_overheat", "cooling_failure", "cnc", "spindle_temperature", "above", ("running",),
              75.0, "spindle supplier manual: 75 °C maximum for continuous machining", "critical",
              f"maintenance.oncall@{MAIL_DOMAIN}", 40 * 60),
    Objective("saw_bearing", "bearing_wear", "saw", "vibration", "above", ("running",),
              4.5, "ISO 10816-3 for a small machine: 4.5 mm/s is the zone C/D boundary", "warning",
              f"maintenance.planning@{MAIL_DOMAIN}", 90 * 60),
    Objective("deburr_air", "pressure_leak", "deburr", "air_pressure", "below", ("running", "starved", "blocked"),
              4.0, "brush robot data sheet: 4.0 bar minimum supply pressure", "warning",
              f"maintenance.planning@{MAIL_DOMAIN}", 15 * 60),
    Objective("wash_standby_energy", "energy_overconsumption", "wash", "power", "above", ("starved", "blocked"),
              2.0, "energy manager: a standby draw above 2.0 kW is a fault (data sheet: 1.5 kW)", "info",
              f"energy@{MAIL_DOMAIN}", 60 * 60),
)


# --- the replay, as the grader runs it -------------------------------------------------------------------

def alarm_stream(dataset, sensors) -> pd.DataFrame:
    """The readings an alert engine sees: good-quality readings of `sensors` ((machine, sensor) pairs), each
    with the state its machine was in at that moment, in time order (late messages put back in place)."""
    readings = dataset.readings
    wanted = pd.MultiIndex.from_tuples(sorted(set(sensors)), names=["machine", "sensor"])
    keys = pd.MultiIndex.from_arrays([readings.machine.astype(str), readings.sensor.astype(str)])
    readings = readings[keys.isin(wanted) & (readings.quality == "good")]
    states = dataset.states.sort_values("timestamp", kind="stable")
    parts = [
        pd.merge_asof(group.sort_values("timestamp", kind="stable"),
                      states.loc[states.machine == machine, ["timestamp", "state"]], on="timestamp")
        for machine, group in readings.groupby(readings.machine.astype(str))
    ]
    stream = pd.concat(parts).sort_values(["timestamp", "machine", "sensor"], kind="stable")
    stream = stream.assign(machine=stream.machine.astype(str), sensor=stream.sensor.astype(str),
                           state=stream.state.fillna("unknown"))
    return stream[["timestamp", "machine", "sensor", "value", "state"]].reset_index(drop=True)


def feed(engine, stream: pd.DataFrame) -> None:
    """Give every reading of `stream` to `engine.update(timestamp, machine, sensor, value, state)`, in order."""
    for row in zip(stream.timestamp, stream.machine, stream.sensor, stream.value, stream.state, strict=True):
        engine.update(*row)


def history_frame(engine) -> pd.DataFrame:
    """The engine's alarm history as a DataFrame (it may keep a list of dicts or a DataFrame)."""
    history = pd.DataFrame(engine.history)
    missing = [c for c in ("timestamp", "rule", "machine", "sensor", "severity", "event", "value", "operator")
               if c not in history.columns] if len(history) else []
    assert not missing, f"AlertEngine.history: each event needs the fields {missing} (see the history table spec)"
    return history


_replays: dict = {}


def replay(engine_class, rules, scenario: str, *, seed: int | None = None) -> pd.DataFrame:
    """A fresh `engine_class(rules)` fed the whole recorded `scenario` of this learner; its history."""
    seed = learner_seed() if seed is None else seed
    rules = list(rules)
    try:
        key = (engine_class, tuple(rules), scenario, seed)
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _replays:
        return _replays[key].copy()
    engine = engine_class(rules)
    feed(engine, alarm_stream(load_dataset(scenario, seed=seed), {(r.machine, r.sensor) for r in rules}))
    history = history_frame(engine)
    if key is not None:
        _replays[key] = history
    return history.copy()


# --- thresholds -------------------------------------------------------------------------------------------

def normal_band(objective: Objective, *, seed: int | None = None) -> tuple[float, float]:
    """The 1st and 99th percentiles of the sensor's noise-free value in normal operation, in the states
    where the objective watches it: a threshold inside this band would alarm on a healthy plant."""
    truth = load_truth("normal", seed=seed)["readings_truth"]
    states = load_dataset("normal", seed=seed).states
    mine = truth[(truth.machine == objective.machine) & (truth.sensor == objective.sensor)]
    mine = pd.merge_asof(mine.sort_values("timestamp"),
                         states.loc[states.machine == objective.machine, ["timestamp", "state"]].sort_values(
                             "timestamp"), on="timestamp")
    values = mine.loc[mine.state.isin(objective.shows_in), "true_value"]
    return float(values.quantile(0.01)), float(values.quantile(0.99))


def rule_for(rules, objective: Objective):
    """The learner's rule watching the objective's sensor; AssertionError if none or several."""
    found = [r for r in rules if (r.machine, r.sensor) == (objective.machine, objective.sensor)]
    assert found, (f"no rule watches {objective.machine}/{objective.sensor}: the brief's objective "
                   f"{objective.key!r} needs one")
    assert len(found) == 1, (f"{len(found)} rules watch {objective.machine}/{objective.sensor}: keep one per "
                             "objective, or the same fault raises several alarms")
    return found[0]


def check_thresholds(rules, *, seed: int | None = None) -> None:
    """Each objective has one rule on its sensor, on the right side, its threshold between the normal band
    and the brief's limit, a clear threshold giving some hysteresis, and a pending period."""
    rules = list(rules)
    names = [r.name for r in rules]
    assert len(set(names)) == len(names), f"rule names must be unique, got {names}"
    for objective in OBJECTIVES:
        rule = rule_for(rules, objective)
        where = f"rule {rule.name!r} ({objective.machine}/{objective.sensor})"
        assert rule.direction == objective.direction, (
            f"{where}: direction must be {objective.direction!r}: the fault of {objective.scenario} "
            f"{'raises' if objective.direction == 'above' else 'lowers'} the value")
        low, high = normal_band(objective, seed=seed)
        if objective.direction == "above":
            assert high < rule.threshold <= objective.limit, (
                f"{where}: threshold {rule.threshold:g} must lie above normal operation (99 % of normal values "
                f"are below {high:.3g}) and at most the brief's limit {objective.limit:g} "
                f"({objective.limit_source})")
            assert high < rule.clear_threshold < rule.threshold, (
                f"{where}: clear threshold {rule.clear_threshold:g} must be below the threshold (hysteresis) "
                f"and above normal operation ({high:.3g})")
        else:
            assert objective.limit <= rule.threshold < low, (
                f"{where}: threshold {rule.threshold:g} must lie below normal operation (99 % of normal values "
                f"are above {low:.3g}) and at least the brief's limit {objective.limit:g} "
                f"({objective.limit_source})")
            assert rule.threshold < rule.clear_threshold < low, (
                f"{where}: clear threshold {rule.clear_threshold:g} must be above the threshold (hysteresis) "
                f"and below normal operation ({low:.3g})")
        assert 2 <= rule.pending_s < objective.max_delay_s / 2, (
            f"{where}: pending_s {rule.pending_s:g} s: at least 2 s (one sample is a spike, not a fault) and "
            f"well under the brief's {objective.delay_min:g} min detection delay")
        assert set(objective.shows_in) <= set(rule.states), (
            f"{where}: states {tuple(rule.states)} must include {objective.shows_in}: the fault shows in those")


# --- the engine on a synthetic stream ---------------------------------------------------------------------

def _t(seconds: float) -> pd.Timestamp:
    return pd.Timestamp("2026-01-05T06:00:00Z") + pd.Timedelta(seconds=seconds)


def check_engine(engine_class, rule_class) -> None:
    """Pending period, hysteresis, machine-state gating, acknowledgement and history, on a 1 Hz stream."""
    rule = rule_class(name="test_high", machine="m", sensor="s", direction="above", threshold=10.0,
                      clear_threshold=8.0, pending_s=30.0, severity="warning", states=("running",),
                      channels=("light",), recipients=())
    engine = engine_class([rule])
    t = 0

    def run(value, seconds, state="running"):
        nonlocal t
        for _ in range(seconds):
            engine.update(_t(t), "m", "s", value, state)
            t += 1

    def events():
        history = history_frame(engine)
        return [] if history.empty else list(history.event)

    run(5.0, 60)
    run(50.0, 1)
    run(5.0, 60)
    engine.update(_t(t), "m", "other", 99.0, "running")
    assert events() == [], (f"a one-sample spike (or another sensor's reading) raised {events()}: an alarm fires "
                            "only once the condition has held for pending_s")
    start = t
    run(12.0, 100)
    history = history_frame(engine)
    assert events() == ["firing"], f"100 s above the threshold must fire once, got {events()}"
    fired_after_s = (pd.Timestamp(history.timestamp.iloc[0]) - _t(start)).total_seconds()
    assert 29 <= fired_after_s <= 31, (f"the alarm fired {fired_after_s:g} s after the value crossed the threshold;"
                                       " with pending_s=30 it must fire after 30 s")
    row = history.iloc[0]
    assert (row.rule, row.machine, row.sensor, row.severity) == ("test_high", "m", "s", "warning"), (
        f"the firing event must name the rule, machine, sensor and severity, got {row.to_dict()}")
    assert abs(float(row.value) - 12.0) < 1e-9, f"the firing event must carry the value that fired, got {row.value}"
    run(9.0, 100)
    run(0.0, 100, state="planned_stop")
    assert events() == ["firing"], (f"got {events()}: between the clear threshold and the threshold an alarm stays "
                                    "active (hysteresis), and readings in states outside rule.states are ignored")
    assert engine.acknowledge("test_high", "operator.a", _t(t)) is True, "acknowledging an active alarm returns True"
    assert engine.acknowledge("test_high", "operator.a", _t(t)) is False, "a second acknowledgement returns False"
    history = history_frame(engine)
    assert events() == ["firing", "acknowledged"] and history.operator.iloc[-1] == "operator.a", (
        f"acknowledging adds an 'acknowledged' event naming the operator, got {history.to_dict('records')[-1]}")
    start = t
    run(7.0, 60)
    history = history_frame(engine)
    assert events() == ["firing", "acknowledged", "cleared"], (
        f"60 s below the clear threshold must clear the alarm once, got {events()}")
    cleared_after_s = (pd.Timestamp(history.timestamp.iloc[-1]) - _t(start)).total_seconds()
    assert 29 <= cleared_after_s <= 31, f"the alarm cleared after {cleared_after_s:g} s; it must wait pending_s"
    assert engine.acknowledge("test_high", "operator.a", _t(t)) is False, "acknowledging a cleared alarm returns False"

    low = rule_class(name="test_low", machine="m", sensor="p", direction="below", threshold=4.0,
                     clear_threshold=4.5, pending_s=10.0, severity="critical", states=("running", "starved"),
                     channels=("light",), recipients=())
    engine = engine_class([low])
    for second in range(60):
        engine.update(_t(second), "m", "p", 3.0 if second >= 20 else 5.0, "starved")
    assert events() == ["firing"], f"a 'below' rule must fire when the value stays under its threshold, got {events()}"


# --- replays of the recorded scenarios --------------------------------------------------------------------

def _visible_from(states: pd.DataFrame, objective: Objective, start: pd.Timestamp, end: pd.Timestamp):
    """The first moment in [start, end) when the machine is in a state where the fault shows, or None."""
    mine = states[states.machine == objective.machine].sort_values("timestamp", kind="stable")
    before = mine[mine.timestamp <= start]
    if len(before) and before.state.iloc[-1] in objective.shows_in:
        return start
    later = mine[(mine.timestamp > start) & (mine.timestamp < end) & mine.state.isin(objective.shows_in)]
    return later.timestamp.iloc[0] if len(later) else None


def _firings(history: pd.DataFrame, rule) -> pd.Series:
    if history.empty:
        return pd.Series([], dtype="datetime64[ms, UTC]")
    return pd.to_datetime(history.loc[(history.rule == rule.name) & (history.event == "firing"), "timestamp"],
                          utc=True)


def detection_report(engine_class, rules, *, seed: int | None = None) -> pd.DataFrame:
    """For each objective: when its fault became visible, the deadline, the first firing, the firing count."""
    rows = []
    for objective in OBJECTIVES:
        rule = rule_for(rules, objective)
        fault = load_truth(objective.scenario, seed=seed)["faults"].iloc[0]
        states = load_dataset(objective.scenario, seed=seed).states
        visible = _visible_from(states, objective, fault.start, fault.end)
        fired = _firings(replay(engine_class, rules, objective.scenario, seed=seed), rule)
        in_window = fired[(fired >= fault.start) & (fired < fault.end)]
        rows.append({
            "objective": objective.key, "rule": rule.name, "scenario": objective.scenario,
            "fault_start": fault.start, "visible_from": visible,
            "deadline": None if visible is None else visible + pd.Timedelta(seconds=objective.max_delay_s),
            "first_firing": in_window.min() if len(in_window) else None,
            "firings": len(in_window),
        })
    return pd.DataFrame(rows)


def check_detection(engine_class, rules, *, seed: int | None = None) -> None:
    """Every fault of the brief fires its rule within the brief's delay after the fault becomes visible."""
    for row in detection_report(engine_class, rules, seed=seed).itertuples():
        objective = next(o for o in OBJECTIVES if o.key == row.objective)
        if row.visible_from is None:
            continue  # the machine never ran under the fault: nothing to detect
        assert row.first_firing is not None, (
            f"{row.scenario}: rule {row.rule!r} never fired during the fault ({row.fault_start:%H:%M} onwards): "
            "its threshold is too loose or its pending period too long")
        late_min = (row.first_firing - row.visible_from).total_seconds() / 60
        assert row.first_firing <= row.deadline, (
            f"{row.scenario}: rule {row.rule!r} fired {late_min:.0f} min after the fault became visible; the brief "
            f"asks for {objective.delay_min:g} min at most: bring the threshold closer to normal operation or "
            "shorten the pending period")


def check_quiet(engine_class, rules, *, seed: int | None = None) -> None:
    """No alarm outside a fault (normal shift, network outage, the other scenarios), and no chattering."""
    rules = list(rules)
    windows = {}
    for objective in OBJECTIVES:
        fault = load_truth(objective.scenario, seed=seed)["faults"].iloc[0]
        windows[objective.scenario] = (objective.machine, objective.sensor, fault.start, fault.end)
    for scenario in QUIET_SCENARIOS + tuple(windows):
        history = replay(engine_class, rules, scenario, seed=seed)
        for rule in rules:
            fired = _firings(history, rule)
            machine, sensor, start, end = windows.get(scenario, (None, None, None, None))
            if (rule.machine, rule.sensor) == (machine, sensor):
                outside = fired[(fired < start) | (fired >= end)]
                assert len(fired) - len(outside) <= MAX_FIRINGS_PER_FAULT, (
                    f"{scenario}: rule {rule.name!r} fired {len(fired) - len(outside)} times during one fault "
                    f"(at most {MAX_FIRINGS_PER_FAULT}): it chatters; widen the hysteresis or lengthen the pending")
            else:
                outside = fired
            assert outside.empty, (
                f"{scenario}: rule {rule.name!r} fired {len(outside)} time(s) with no fault on its sensor (first at "
                f"{outside.min():%H:%M:%S}): a false alarm; move the threshold away from normal operation, "
                "lengthen the pending period, or check the rule's states")


# --- channels ---------------------------------------------------------------------------------------------

def check_routing(rules) -> None:
    """Severities, channels and recipients follow the brief's routing table and its mail rule."""
    for objective in OBJECTIVES:
        rule = rule_for(rules, objective)
        assert rule.severity == objective.severity, (
            f"rule {rule.name!r}: severity must be {objective.severity!r} for the objective {objective.key!r} "
            f"(see the brief's severity definitions), got {rule.severity!r}")
        expected = SEVERITY_CHANNELS[rule.severity]
        assert set(rule.channels) == set(expected), (
            f"rule {rule.name!r}: a {rule.severity} alarm goes to the channels {expected}, got {tuple(rule.channels)}")
        recipients = tuple(rule.recipients)
        strangers = [address for address in recipients if not address.endswith("@" + MAIL_DOMAIN)]
        assert not strangers, f"rule {rule.name!r}: the mail relay only delivers to @{MAIL_DOMAIN}, not {strangers}"
        if "email" in expected:
            assert objective.recipient in recipients, (
                f"rule {rule.name!r}: the brief sends this alarm to {objective.recipient}, got {recipients}")


def sample_event(rule, event: str = "firing") -> dict:
    """An event as an engine records it, for the channel checks."""
    return {"timestamp": _t(3600), "rule": rule.name, "machine": rule.machine, "sensor": rule.sensor,
            "severity": rule.severity, "event": event, "value": rule.threshold, "operator": None}


def check_email(send_alarm_email, rule) -> None:
    """`send_alarm_email(event, rule, host=, port=)` delivers one message to a local SMTP server, addressed to
    the rule's recipients, with the rule, the severity and the event in its subject."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    from simulators.broker import free_port

    received: queue.Queue = queue.Queue()

    class Inbox(Message):
        def handle_message(self, message) -> None:
            received.put(message)

    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        send_alarm_email(sample_event(rule), rule, host="127.0.0.1", port=port)
        try:
            message = received.get(timeout=5)
        except queue.Empty:
            raise AssertionError("no e-mail reached the SMTP server at 127.0.0.1 within 5 s: connect with "
                                 "smtplib.SMTP(host, port) and send_message") from None
    finally:
        controller.stop()
    to = {address.strip() for address in str(message.get("To", "")).split(",") if address.strip()}
    assert to == set(rule.recipients), f"the e-mail must go to {sorted(rule.recipients)}, its To: says {sorted(to)}"
    subject = str(message.get("Subject", "")).lower()
    for word in (rule.name.lower(), rule.severity, "firing"):
        assert word in subject, f"the e-mail's subject must name {word!r} (rule, severity, event); got {subject!r}"
    assert received.empty(), "one alarm event must send one e-mail, not several"


def check_mqtt(publish_alarm, rule) -> None:
    """`publish_alarm(client, topic, event, rule)` puts one JSON message on `topic` of a broker, naming the rule,
    severity, event and value, with an ISO 8601 timestamp."""
    from simulators.broker import EmbeddedBroker
    from simulators.transport import MqttClient

    topic = "sandbox/grader/alarms"
    inbox: queue.Queue = queue.Queue()
    with EmbeddedBroker() as broker, MqttClient(broker.url) as listener, MqttClient(broker.url) as client:
        listener.subscribe(topic, inbox.put, qos=1)
        event = sample_event(rule)
        publish_alarm(client, topic, event, rule)
        client.flush(timeout_s=5)
        try:
            message = inbox.get(timeout=5)
        except queue.Empty:
            raise AssertionError(f"no message on {topic} within 5 s: publish with client.publish(topic, payload, "
                                 "qos=1)") from None
        time.sleep(0.2)
        assert inbox.empty(), "one alarm event must publish one message"
    try:
        payload = json.loads(message.payload)
    except ValueError:
        raise AssertionError(f"the alarm message must be JSON, got {message.payload[:80]!r}") from None
    for field in ("rule", "severity", "event", "value", "timestamp"):
        assert field in payload, f"the alarm message must carry {field!r}; it has {sorted(payload)}"
    assert (payload["rule"], payload["severity"], payload["event"]) == (rule.name, rule.severity, "firing"), (
        f"the message names the wrong alarm: {payload}")
    assert pd.Timestamp(payload["timestamp"]) == event["timestamp"], (
        f"timestamp must be the event's time in ISO 8601 (UTC), got {payload['timestamp']!r}")


# --- the dashboard's alarm panel --------------------------------------------------------------------------

def check_panel(panel_class, rules) -> None:
    """The panel shows every threshold; its light takes the worst active severity's colour; the horn sounds
    for an unacknowledged alarm with the sound channel and stops once acknowledged or cleared."""
    rules = list(rules)
    panel = panel_class(rules)
    table = panel.thresholds.value
    for rule in rules:
        assert rule.name in table and f"{rule.threshold:g}" in table, (
            f"the panel's threshold table must show rule {rule.name!r} with its threshold {rule.threshold:g}")
    loud = next((r for r in rules if "sound" in r.channels), None)
    quiet = next((r for r in rules if "sound" not in r.channels and r.severity != getattr(loud, "severity", None)),
                 None)
    assert loud is not None and quiet is not None, "the checks need one rule with the sound channel and one without"

    def show(*events) -> None:
        rows = [{**sample_event(rule, kind), "timestamp": _t(i)} for i, (rule, kind) in enumerate(events)]
        panel.refresh(pd.DataFrame(rows, columns=list(sample_event(rules[0]))))

    show()
    assert LIGHT_COLOURS[None] in panel.light.value, "with no active alarm the light shows LIGHT_COLOURS[None]"
    assert not panel.sound.value, "with no active alarm the horn is silent (sound.value empty)"
    show((quiet, "firing"))
    assert LIGHT_COLOURS[quiet.severity] in panel.light.value, (
        f"an active {quiet.severity} alarm turns the light {LIGHT_COLOURS[quiet.severity]}")
    assert not panel.sound.value, f"rule {quiet.name!r} has no sound channel: the horn stays silent"
    show((quiet, "firing"), (loud, "firing"))
    assert LIGHT_COLOURS[loud.severity] in panel.light.value, "the light shows the worst active severity"
    assert panel.sound.value and panel.sound.autoplay, "an unacknowledged alarm with the sound channel sounds the horn"
    show((quiet, "firing"), (loud, "firing"), (loud, "acknowledged"))
    assert not panel.sound.value, "acknowledging silences the horn"
    assert LIGHT_COLOURS[loud.severity] in panel.light.value, "an acknowledged alarm is still active: the light stays"
    show((quiet, "firing"), (loud, "firing"), (loud, "cleared"), (quiet, "cleared"))
    assert LIGHT_COLOURS[None] in panel.light.value, "once every alarm has cleared the light goes back to normal"
