"""lab3_alerts' kit: the dashboard's colours, the replay of recorded shifts and weeks, and the probes of the hidden
cells.

Nothing here knows when a fault happened or what a rule should be: `replay` feeds a learner's `AlertEngine`
the observed readings of this learner's plant (the graded variant's when grading), and the probes run the
learner's engine, e-mail and MQTT functions and alarm panel on the inputs the grader chose
(`labkit.variant.graded_input`), returning what they did as plain data for the grader to judge.

The plant is the line as its real sensor network reports it (`plants/realistic.yaml`): each sensor samples at
its own period and reports rounded values, and the levels move with the operating regime (the product plan by
weekday, the hall's temperature by hour, day and weather). Its normal operation is recorded over two weeks
(`normal_weeks()`): the first is the history thresholds come from, the second the week in which false alarms are
counted (`THIS_WEEK`). Each fault scenario is one recorded shift.
"""

import queue
import time
from typing import Any

import pandas as pd

from labkit.variant import graded_input
from simulators.learner import load_dataset

# The dashboard's light: the worst active severity decides its colour (None: no active alarm).
LIGHT_COLOURS = {None: "#2e7d32", "info": "#1565c0", "warning": "#f9a825", "critical": "#c62828"}
PLANT = "realistic"
SCENARIOS = ("network_outage", "cooling_failure", "slow_cooling_degradation", "bearing_wear", "pressure_leak",
             "energy_overconsumption")
SHIFT_HOURS = 8.0  # each fault scenario: one recorded shift
HISTORY_HOURS = 336.0  # normal operation: two weeks, Monday 06:00 to Monday 06:00
THIS_WEEK = "this_week"  # the replay of the history's second week, where false alarms are counted
WEEK = pd.Timedelta(days=7)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # a rule's `days`, in the order of Timestamp.weekday()
ORIGIN = pd.Timestamp("2026-01-05T06:00:00Z")  # time 0 of the grader's synthetic streams (a Monday)
HISTORY_FIELDS = ("timestamp", "rule", "machine", "sensor", "severity", "event", "value", "operator")
PROBE_TOPIC = "sandbox/grader/alarms"


# --- the replay of recorded shifts --------------------------------------------------------------------------

def normal_weeks():
    """The plant's two recorded weeks of normal operation (the graded variant's when grading)."""
    return load_dataset("normal", plant=PLANT, hours=HISTORY_HOURS)


def shift(scenario: str):
    """The recorded shift of a fault scenario of the plant (the graded variant's when grading)."""
    return load_dataset(scenario, plant=PLANT, hours=SHIFT_HOURS)


def week_start(dataset) -> pd.Timestamp:
    """When the second week of a two-week recording starts: Monday 06:00 a week after its first reading's hour."""
    return pd.Timestamp(dataset.readings.timestamp.min()).floor("h") + WEEK


def alarm_stream(dataset, sensors, start=None, end=None) -> pd.DataFrame:
    """The readings an alert engine sees: good-quality readings of `sensors` ((machine, sensor) pairs) stamped in
    [start, end) (None: no bound), each with the state its machine was in at that moment, in time order (late
    messages put back in place)."""
    readings = dataset.readings
    wanted = pd.MultiIndex.from_tuples(sorted(set(sensors)), names=["machine", "sensor"])
    keys = pd.MultiIndex.from_arrays([readings.machine.astype(str), readings.sensor.astype(str)])
    chosen = keys.isin(wanted) & (readings.quality == "good")
    if start is not None:
        chosen &= readings.timestamp >= start
    if end is not None:
        chosen &= readings.timestamp < end
    readings = readings[chosen]
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
    missing = [field for field in HISTORY_FIELDS if field not in history.columns] if len(history) else []
    if missing:
        raise ValueError(f"AlertEngine.history: each event needs the fields {missing} (see the history table spec)")
    return history


_replays: dict = {}


def replay(engine_class, rules, scenario: str) -> pd.DataFrame:
    """A fresh `engine_class(rules)` fed the whole recorded shift of `scenario` of this learner's plant, or the
    second week of its history for `THIS_WEEK`; its history."""
    rules = list(rules)
    dataset = normal_weeks() if scenario == THIS_WEEK else shift(scenario)
    try:
        key = (engine_class, tuple(rules), str(dataset.folder), scenario)
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _replays:
        return _replays[key].copy()
    engine = engine_class(rules)
    start = week_start(dataset) if scenario == THIS_WEEK else None
    feed(engine, alarm_stream(dataset, {(rule.machine, rule.sensor) for rule in rules}, start=start))
    history = history_frame(engine)
    if key is not None:
        _replays[key] = history
    return history.copy()


def alarm_log(engine_class, rules, scenarios=(THIS_WEEK, *SCENARIOS)) -> pd.DataFrame:
    """The firing and clearing events of `replay` for this week and every fault scenario, as one plain table for
    the grader."""
    columns = ["scenario", "timestamp", "rule", "machine", "sensor", "event"]
    parts = []
    for scenario in scenarios:
        history = replay(engine_class, rules, scenario)
        if history.empty:
            continue
        history = history[history.event.isin(["firing", "cleared"])]
        parts.append(pd.DataFrame({
            "scenario": scenario, "timestamp": pd.to_datetime(history.timestamp, utc=True),
            "rule": history.rule.astype(str), "machine": history.machine.astype(str),
            "sensor": history.sensor.astype(str), "event": history.event.astype(str)}))
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype="datetime64[ns, UTC]" if column == "timestamp" else str)
                             for column in columns})
    return pd.concat(parts, ignore_index=True)[columns]


def rule_table(rules) -> list[dict]:
    """The rules as plain records (what the grader reads of `RULES`)."""
    return [{"name": str(rule.name), "machine": str(rule.machine), "sensor": str(rule.sensor),
             "direction": str(rule.direction), "threshold": float(rule.threshold),
             "clear_threshold": float(rule.clear_threshold), "pending_s": float(rule.pending_s),
             "severity": str(rule.severity), "states": [str(s) for s in rule.states],
             "days": [str(d) for d in getattr(rule, "days", ())],
             "channels": [str(c) for c in rule.channels], "recipients": [str(r) for r in rule.recipients]}
            for rule in rules]


def measures_table(false_alarms_per_week, lead_time_min) -> dict:
    """The learner's two performance measures as plain data: false alarms per week by watched sensor
    ("machine/sensor") and lead time in minutes by fault scenario (None where no alarm came before the repair)."""
    def number(value):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return None if value != value else value

    return {"false_alarms_per_week": {str(key): number(value) for key, value in dict(false_alarms_per_week).items()},
            "lead_time_min": {str(key): number(value) for key, value in dict(lead_time_min).items()}}


# --- probes: the learner's code on the grader's inputs ------------------------------------------------------

def make_rule(rule_class, spec: dict):
    """`rule_class(**spec)`, with the lists of a plain-data spec turned back into tuples."""
    return rule_class(**{key: tuple(value) if isinstance(value, list) else value for key, value in spec.items()})


def _at(seconds: float) -> pd.Timestamp:
    return ORIGIN + pd.Timedelta(seconds=seconds)


def _plain_event(event: Any) -> dict:
    event = dict(event)
    plain = {field: event.get(field) for field in HISTORY_FIELDS}
    timestamp = plain["timestamp"]
    plain["t"] = None if timestamp is None else (pd.Timestamp(timestamp) - ORIGIN).total_seconds()
    del plain["timestamp"]
    value = plain["value"]
    plain["value"] = None if value is None or pd.isna(value) else float(value)
    for field in ("rule", "machine", "sensor", "severity", "event", "operator"):
        plain[field] = None if plain[field] is None else str(plain[field])
    return plain


def practice_engine_cases() -> list[dict]:
    """The practice variant's synthetic streams for the engine (the grader chooses others)."""
    above = {"name": "test_high", "machine": "m", "sensor": "s", "direction": "above", "threshold": 10.0,
             "clear_threshold": 8.0, "pending_s": 30.0, "severity": "warning", "states": ["running"], "days": [],
             "channels": ["light"], "recipients": []}
    below = {"name": "test_low", "machine": "m", "sensor": "p", "direction": "below", "threshold": 4.0,
             "clear_threshold": 4.5, "pending_s": 10.0, "severity": "critical", "states": ["running", "starved"],
             "days": [], "channels": ["light"], "recipients": []}
    tuesday = {"name": "test_tuesday", "machine": "m", "sensor": "t", "direction": "above", "threshold": 60.0,
               "clear_threshold": 58.0, "pending_s": 20.0, "severity": "warning", "states": ["running"],
               "days": ["tue"], "channels": ["light"], "recipients": []}
    return [
        {"rules": [above], "steps": [
            ["run", "m", "s", 5.0, 60, "running"], ["run", "m", "s", 50.0, 1, "running"],
            ["run", "m", "s", 5.0, 60, "running"], ["run", "m", "other", 99.0, 1, "running"], ["mark", "spike"],
            ["run", "m", "s", 12.0, 100, "running"], ["mark", "fire"],
            ["run", "m", "s", 9.0, 100, "running"], ["run", "m", "s", 0.0, 100, "planned_stop"], ["mark", "hold"],
            ["ack", "test_high", "operator.a"], ["ack", "test_high", "operator.a"], ["mark", "ack"],
            ["run", "m", "s", 7.0, 60, "running"], ["mark", "clear"],
            ["ack", "test_high", "operator.a"], ["mark", "ack_cleared"]]},
        {"rules": [below], "steps": [
            ["run", "m", "p", 5.0, 20, "starved"], ["run", "m", "p", 3.0, 40, "starved"], ["mark", "below"]]},
        {"rules": [tuesday], "steps": [
            ["run", "m", "t", 65.0, 60, "running"], ["mark", "other_day"], ["skip", 86400 - 60],
            ["run", "m", "t", 65.0, 60, "running"], ["mark", "its_day"]]},
    ]


def run_engine_case(engine_class, rule_class, case: dict) -> dict:
    """Run a fresh `engine_class` through one synthetic stream of the grader: 1 Hz readings (`run`: machine,
    sensor, value, seconds, state), silences (`skip`: seconds), acknowledgements (`ack`: rule, operator) and
    checkpoints (`mark`: label). Returns the history as plain events (`t` in seconds from the stream's start, a
    Monday 06:00), the acknowledgements' return values, and the history's length at each checkpoint."""
    engine = engine_class([make_rule(rule_class, spec) for spec in case["rules"]])
    clock, acks, marks = 0, [], []
    for step in case["steps"]:
        if step[0] == "run":
            _, machine, sensor, value, seconds, state = step
            for _ in range(int(seconds)):
                engine.update(_at(clock), machine, sensor, value, state)
                clock += 1
        elif step[0] == "skip":
            clock += int(step[1])
        elif step[0] == "ack":
            acks.append(bool(engine.acknowledge(step[1], step[2], _at(clock))))
        elif step[0] == "mark":
            marks.append([step[1], len(list(engine.history))])
        else:
            raise ValueError(f"unknown step {step[0]!r} in the grader's engine case")
    return {"events": [_plain_event(event) for event in list(engine.history)], "acks": acks, "marks": marks}


def probe_engine(engine_class, rule_class) -> list[dict]:
    """`run_engine_case` on each of the grader's synthetic streams (the practice ones outside grading)."""
    return [run_engine_case(engine_class, rule_class, case)
            for case in graded_input("engine_cases", practice=practice_engine_cases)]


def _event(case: dict) -> dict:
    return {"timestamp": pd.Timestamp(case["timestamp"]), "rule": case["rule"]["name"],
            "machine": case["rule"]["machine"], "sensor": case["rule"]["sensor"],
            "severity": case["rule"]["severity"], "event": case["event"], "value": case["value"], "operator": None}


def practice_channel_case() -> dict:
    """The practice variant's alarm for the e-mail and MQTT probes (the grader chooses another)."""
    rule = {"name": "practice_spindle_hot", "machine": "cnc", "sensor": "spindle_temperature", "direction": "above",
            "threshold": 68.5, "clear_threshold": 66.0, "pending_s": 60.0, "severity": "critical",
            "states": ["running"], "days": [], "channels": ["light", "sound", "email", "mqtt"],
            "recipients": ["maintenance.oncall@lyon.factorylab.example"]}
    return {"rule": rule, "event": "firing", "value": 68.9, "timestamp": "2026-01-05T07:00:00+00:00"}


def _arrivals(inbox: queue.Queue, timeout_s: float, settle_s: float = 0.2) -> list:
    """What reaches `inbox`: wait up to `timeout_s` for the first item, then `settle_s` for any that follow (a
    duplicate sent by mistake must be seen, not missed)."""
    items = []
    deadline = time.monotonic() + timeout_s
    while not items and time.monotonic() < deadline:
        try:
            items.append(inbox.get(timeout=0.1))
        except queue.Empty:
            continue
    time.sleep(settle_s)
    while not inbox.empty():
        items.append(inbox.get())
    return items


def probe_email(send_alarm_email, rule_class, *, timeout_s: float = 5.0) -> list[dict]:
    """The e-mails a local SMTP server received when `send_alarm_email(event, rule, host=, port=)` sent the
    grader's alarm: each as {"from", "to", "subject", "body"}."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    from simulators.broker import free_port

    case = graded_input("channel_case", practice=practice_channel_case)
    received: queue.Queue = queue.Queue()

    class Inbox(Message):
        def handle_message(self, message) -> None:
            received.put(message)

    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        send_alarm_email(_event(case), make_rule(rule_class, case["rule"]), host="127.0.0.1", port=port)
        messages = _arrivals(received, timeout_s)
    finally:
        controller.stop()
    plain = []
    for message in messages:
        body = message.get_payload(decode=True) if not message.is_multipart() else b""
        plain.append({"from": str(message.get("From", "")), "to": str(message.get("To", "")),
                      "subject": str(message.get("Subject", "")),
                      "body": (body or b"").decode("utf-8", errors="replace")[:4000]})
    return plain


def probe_mqtt(publish_alarm, rule_class, *, timeout_s: float = 5.0) -> list[str]:
    """The payloads (as text) a subscriber of an MQTT broker received when `publish_alarm(client, topic,
    event, rule)` published the grader's alarm."""
    from simulators.broker import EmbeddedBroker
    from simulators.transport import MqttClient

    case = graded_input("channel_case", practice=practice_channel_case)
    inbox: queue.Queue = queue.Queue()
    with EmbeddedBroker() as broker, MqttClient(broker.url) as listener, MqttClient(broker.url) as client:
        listener.subscribe(PROBE_TOPIC, inbox.put, qos=1)
        publish_alarm(client, PROBE_TOPIC, _event(case), make_rule(rule_class, case["rule"]))
        client.flush(timeout_s=timeout_s)
        payloads = _arrivals(inbox, timeout_s)
    return [bytes(message.payload).decode("utf-8", errors="replace")[:4000] for message in payloads]


def practice_panel_case() -> dict:
    """The practice variant's rules and alarm histories for the panel probe (the grader chooses others)."""
    def rule(name, severity, channels, threshold, clear):
        return {"name": name, "machine": "m", "sensor": name, "direction": "above", "threshold": threshold,
                "clear_threshold": clear, "pending_s": 30.0, "severity": severity, "states": ["running"],
                "days": [], "channels": channels, "recipients": []}

    rules = [rule("practice_loud", "critical", ["light", "sound", "mqtt"], 12.5, 11.0),
             rule("practice_quiet", "warning", ["light", "mqtt"], 3.25, 2.75),
             rule("practice_energy", "info", ["light", "mqtt"], 1.8, 1.7)]
    histories = [[], [["practice_quiet", "firing"]],
                 [["practice_quiet", "firing"], ["practice_loud", "firing"]],
                 [["practice_quiet", "firing"], ["practice_loud", "firing"], ["practice_loud", "acknowledged"]],
                 [["practice_quiet", "firing"], ["practice_loud", "firing"], ["practice_loud", "cleared"],
                  ["practice_quiet", "cleared"]]]
    return {"rules": rules, "histories": histories}


def probe_panel(panel_class, rule_class) -> dict:
    """The learner's panel for the grader's rules, refreshed with each of the grader's alarm histories: its
    threshold table, and after each refresh its light's HTML and whether its horn sounds."""
    case = graded_input("panel_case", practice=practice_panel_case)
    specs = {spec["name"]: spec for spec in case["rules"]}
    panel = panel_class([make_rule(rule_class, spec) for spec in case["rules"]])
    shown = []
    for history in case["histories"]:
        rows = [{"timestamp": _at(index), "rule": name, "machine": specs[name]["machine"],
                 "sensor": specs[name]["sensor"], "severity": specs[name]["severity"], "event": event,
                 "value": specs[name]["threshold"], "operator": "operator.a" if event == "acknowledged" else None}
                for index, (name, event) in enumerate(history)]
        panel.refresh(pd.DataFrame(rows, columns=list(HISTORY_FIELDS)))
        shown.append({"light": str(panel.light.value), "sound": bool(panel.sound.value),
                      "autoplay": bool(getattr(panel.sound, "autoplay", False))})
    return {"thresholds": str(panel.thresholds.value), "shown": shown}
