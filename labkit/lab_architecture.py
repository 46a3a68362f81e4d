"""The learner's kit of lab_architecture: the brief's figures, the plant's data to size the architecture from, the
live plant's topology, a real Mosquitto to try an access protocol on, the historian's archive for the recovery
drill, the acceptance bench, and the inputs of the hidden test cells.

The lab (RNCP bloc 2, and A4.4) designs the digital architecture around the virtual plant, so most of what it
needs is the plant as an integrator meets it: its sensor inventory and a day of MES records (`plant_sensors`,
`production_day`), the topics it streams (`live_topology`), its live stream (`start_live_plant`). Nothing here
computes what the learner is asked for (sizing, critical path, RPN ranking, ACL and password files, recovery
measures, acceptance measures): the references live with the grader (autograde/verdicts/lab_architecture.py).

Two pieces are test harnesses, shared with the grader so that what a learner tries at home is what is graded:
- `run_access_trial` starts a real Mosquitto (TLS only, with a CA and a server certificate made here by
  `openssl`) on the learner's password and ACL files, and tries every probe of `access_probes` (login, wrong
  password, publish, read) with paho-mqtt clients; it executes nothing of the files but Mosquitto reading them,
  after `acl_problems` and `password_problems` have checked they hold only Mosquitto's own directives;
- `run_acceptance_bench` runs the live plant on an embedded broker and exercises it as the acceptance book asks
  (latency probes, a burst, a malformed message, a broker restart, two commands), recording what it observed.

The hidden test cells feed the learner's functions with inputs chosen for the learner's graded variant
(`labkit.variant.graded_input`); at home they are drawn here from the practice seed (`variant_inputs`).
"""

import contextlib
import copy
import dataclasses
import json
import logging
import os
import queue
import re
import secrets
import shutil
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import paho.mqtt.client as paho
import pandas as pd

from labkit.variant import graded_input
from simulators.broker import EmbeddedBroker, free_port, mosquitto_password_hash
from simulators.learner import learner_seed
from simulators.line import simulate
from simulators.live import LivePlant
from simulators.plantfile import load_plant
from simulators.seeding import stream
from simulators.sensors import sensor_metadata
from simulators.topics import timestamp
from simulators.transport import MqttClient

# --- the brief's figures ------------------------------------------------------------------------------------------

DAY_HOURS = 16.0  # the MES export of a working day: Monday 06:00-22:00, the two shifts
SIZING_POLICY = {
    "lines": 1,  # lines of the site, all alike
    "observed_hours": DAY_HOURS,  # hours of production the MES records cover
    "working_hours_per_year": 4160.0,  # 2 shifts x 8 h x 5 days x 52 weeks: when MES events happen
    "status_period_s": 10.0,  # each line's status message
    "message_bytes": {"reading": 130, "mes": 230, "status": 330},  # on the wire: topic, payload, MQTT and TCP/IP
    "row_bytes": {"reading": 40, "mes": 120, "aggregate": 48},  # stored in the historian, indexes included
    "raw_retention_days": 90,  # raw sensor readings
    "aggregate_period_s": 60.0,  # one aggregate (min, mean, max) per sensor and period, kept after the raw data
    "aggregate_retention_years": 5,
    "mes_retention_years": 10,  # MES events and state changes (traceability)
    "headroom": 2.0,  # capacity to provision over the sized need
}
COMPONENT_KINDS = ("erp", "mes", "scada", "plc", "iiot_gateway", "broker", "historian", "twin", "dashboard",
                   "firewall", "network", "server", "other")
REQUIRED_KINDS = ("erp", "mes", "scada", "plc", "iiot_gateway", "broker", "historian", "twin", "dashboard")
PROTOCOLS = ("mqtt", "opcua", "sql", "rest", "profinet", "modbus", "https", "file")
# The interfaces the IT department imposes (the brief): (source kind, target kind, protocol); "each plc" means
# one flow per PLC.
REQUIRED_INTERFACES = (
    ("plc", "iiot_gateway", "opcua"),
    ("scada", "plc", "opcua"),
    ("iiot_gateway", "broker", "mqtt"),
    ("broker", "iiot_gateway", "mqtt"),
    ("broker", "historian", "mqtt"),
    ("broker", "mes", "mqtt"),
    ("broker", "twin", "mqtt"),
    ("twin", "broker", "mqtt"),
    ("broker", "dashboard", "mqtt"),
    ("scada", "broker", "mqtt"),
    ("historian", "twin", "sql"),
    ("erp", "mes", "rest"),
    ("mes", "erp", "rest"),
)

DEADLINE_DAYS = 60.0  # working days from the kick-off to go-live (the plant manager)
MILESTONES = ("acceptance", "training", "go_live")

ACTORS = ("plant manager", "production manager", "shift supervisor", "maintenance lead", "OT/IT administrator",
          "MES administrator", "digital project manager", "quality manager", "IT security officer")
# Maximum tolerable outage of each function before production suffers (the production manager), hours.
MAX_OUTAGE_H = {"plc": 0.5, "scada": 0.25, "iiot_gateway": 1.0, "broker": 1.0, "historian": 24.0, "mes": 8.0,
                "twin": 24.0}
RPO_TARGET_S = 600.0  # the historian may lose at most 10 minutes of records (plant time)
RTO_TARGET_S = 1800.0  # and must record again within 30 minutes (plant time)
DRILL_SPEED = 240.0  # the drill runs the plant (without its sensors) 240 times faster than real time
RESUME_FOR_S = 300.0  # plant seconds of collection after the recovery

# The access protocol (the brief): what each role may publish (w) and receive (r) per topic family. The line's
# topics are those of simulators/topics.py; `twin/...` and `maintenance/...` are the site's application topics.
TOPIC_FAMILIES = {
    "readings": "{prefix}/{machine}/{sensor}",
    "metadata": "{prefix}/{machine}/{sensor}/_meta",
    "states": "{prefix}/{machine}/_state",
    "events": "{prefix}/_events",
    "setpoints": "{prefix}/_setpoints",
    "status": "{prefix}/_status",
    "commands": "{prefix}/_cmd",
    "replies": "{prefix}/_reply",
    "twin": "twin/{line_path}/forecast",
    "maintenance": "maintenance/{line_path}/{machine}",
}
ROLES = ("gateway", "operator", "maintenance", "twin", "dashboard", "visitor")
_LINE_DATA = ("readings", "metadata", "states", "events", "setpoints", "status", "replies")
ROLE_MATRIX = {
    **{family: {"gateway": "w", "operator": "r", "maintenance": "r", "twin": "r", "dashboard": "r",
                "visitor": "r" if family == "status" else ""} for family in _LINE_DATA},
    "commands": {"gateway": "r", "operator": "rw", "maintenance": "", "twin": "", "dashboard": "", "visitor": ""},
    "twin": {"gateway": "", "operator": "r", "maintenance": "r", "twin": "rw", "dashboard": "r", "visitor": ""},
    "maintenance": {"gateway": "", "operator": "r", "maintenance": "rw", "twin": "", "dashboard": "r",
                    "visitor": ""},
}
ROLE_MATRIX["replies"]["maintenance"] = ""  # commands and their replies are operations' business
TESTER = "factorylab-tester"  # the trial's own account, which publishes what the roles should (not) receive

RECETTE_SPEED = 60.0
# The acceptance book (cahier de recettes) the project committed to: requirement, comparator, threshold, unit.
# PERF-02's threshold is the headroom times the peak message rate sized in Part 1 (None here).
ACCEPTANCE_BOOK = pd.DataFrame([
    ("PERF-01", "performance", "Broker round trip, 95th percentile of 20 probes", "<=", 50.0, "ms"),
    ("PERF-02", "performance", "Messages per second the broker delivers in a burst, against the sized peak "
                               "with the headroom", ">=", None, "msg/s"),
    ("ROB-01", "robustness", "Collector back on the broker after a broker restart", "<=", 5.0, "s"),
    ("ROB-02", "robustness", "MES events stored twice in the archive across the restart", "<=", 0.0, "events"),
    ("ROB-03", "robustness", "Collection goes on after a malformed message (1 = yes)", ">=", 1.0, "bool"),
    ("ROB-04", "robustness", "An out-of-range command is refused by the plant (1 = yes)", ">=", 1.0, "bool"),
    ("INT-01", "interoperability", "Share of readings, states and events that follow the documented payload "
                                   "contract", ">=", 1.0, "share"),
    ("INT-02", "interoperability", "Share of sensor readings that reach subscribers twice", "<=", 0.0, "share"),
    ("INT-03", "interoperability", "Command round trip over MQTT (command to reply)", "<=", 2.0, "s"),
    ("INT-04", "interoperability", "Share of the MES export's events found in the archive over the bench's "
                                   "window", ">=", 1.0, "share"),
], columns=["req_id", "category", "statement", "comparator", "threshold", "unit"])


# --- the plant's data ----------------------------------------------------------------------------------------------


def _plant_sensor_table() -> pd.DataFrame:
    """One row per sensor of the plant: topic, machine, sensor, kind, unit, period_s (its retained `_meta`)."""
    columns = ["topic", "machine", "sensor", "kind", "unit", "period_s"]
    return pd.DataFrame(sensor_metadata(load_plant()))[columns]


def mes_tables(run, until_s: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export (events, states) of a line run, rows at or before `until_s` when given, with the
    timestamps the live stream carries (plant clock, UTC, ms)."""
    until_s = float("inf") if until_s is None else until_s
    start = run.plant.start
    events = pd.DataFrame(
        [(timestamp(start, e.t_s), round(e.t_s, 3), e.kind, e.machine, e.part_id, e.product, e.reason)
         for e in run.events if e.t_s <= until_s],
        columns=["timestamp", "t_s", "kind", "machine", "part_id", "product", "reason"]).astype({"part_id": "Int64"})
    states = pd.DataFrame(
        [(timestamp(start, s.t_s), round(s.t_s, 3), s.machine, s.state, s.reason)
         for s in run.state_log if s.t_s <= until_s],
        columns=["timestamp", "t_s", "machine", "state", "reason"])
    return events, states


@lru_cache(maxsize=8)
def _day_export(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return mes_tables(simulate(load_plant(), hours=DAY_HOURS, seed=int(seed)))


def mes_events(seed: int, until_s: float) -> pd.DataFrame:
    """The MES export of the live plant of `seed` from its start to `until_s` (plant seconds): its events."""
    return mes_tables(simulate(load_plant(), hours=until_s / 3600.0 + 0.01, seed=int(seed)), until_s)[0]


def plant_sensors() -> pd.DataFrame:
    """The plant's sensor inventory (what its retained `_meta` topics say)."""
    return graded_input("sizing0_sensors", practice=lambda: variant_inputs(learner_seed())["sizing0_sensors"]).copy()


def production_day() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export (events, state changes) of a working day of the plant: the graded variant's when graded."""
    events = graded_input("sizing0_events", practice=lambda: variant_inputs(learner_seed())["sizing0_events"])
    states = graded_input("sizing0_states", practice=lambda: variant_inputs(learner_seed())["sizing0_states"])
    return events.copy(), states.copy()


# --- the grader's inputs (and the practice ones) --------------------------------------------------------------------

SITES = ("lyon", "grenoble", "annecy", "valence", "roanne")
AREAS = ("machining", "assembly", "finishing", "packing", "welding")
MACHINES = ("press", "lathe", "mill", "oven", "robot", "paint", "pack", "weld", "grind", "drill", "laser")
SENSORS = ("power", "temperature", "vibration", "pressure", "flow", "current", "humidity", "torque")
PEOPLE = ("durand", "martin", "bernard", "petit", "robert", "richard", "moreau", "simon", "laurent", "michel",
          "garcia", "roux", "fournier", "girard", "bonnet", "dupont", "lambert", "fontaine", "rousseau", "vincent")


def _line(rng: np.random.Generator) -> dict:
    site, area = rng.choice(SITES), rng.choice(AREAS)
    return {"site": str(site), "area": str(area), "line": f"line{int(rng.integers(2, 10))}"}


def _topology(rng: np.random.Generator) -> dict:
    where = _line(rng)
    machines = rng.choice(MACHINES, size=int(rng.integers(3, 7)), replace=False)
    return {"prefix": f"factorylab/{where['site']}/{where['area']}/{where['line']}",
            "machines": {str(m): sorted(str(s) for s in rng.choice(SENSORS, size=int(rng.integers(2, 5)),
                                                                    replace=False)) for m in machines}}


def _sizing_case(seed: int, index: int) -> dict:
    rng = stream(seed, "lab_architecture", "sizing", str(index))
    sensors = _plant_sensor_table()
    policy = json.loads(json.dumps(SIZING_POLICY))
    if index == 1:  # condition monitoring: vibration sampled at 10 Hz, three lines alike
        sensors.loc[sensors["kind"] == "vibration", "period_s"] = 0.1
        policy.update(lines=3, raw_retention_days=int(rng.choice([30, 60])), headroom=1.5)
    elif index == 2:  # energy metering only, every 5 s, a long raw retention
        sensors = sensors[sensors["kind"] == "power"].assign(period_s=5.0)
        policy.update(lines=int(rng.integers(2, 6)), raw_retention_days=365, mes_retention_years=15)
    day_seed = int(rng.integers(0, 2**31)) if index else seed
    events, states = _day_export(day_seed)
    return {"sensors": sensors.reset_index(drop=True), "events": events, "states": states, "policy": policy}


def _task_graph(rng: np.random.Generator, index: int) -> list[dict]:
    count = int(rng.integers(10, 15))
    tasks = []
    for number in range(count):
        earlier = [task["task"] for task in tasks]
        k = min(len(earlier), int(rng.integers(0, 4)) if number else 0)
        depends = sorted(str(t) for t in rng.choice(earlier, size=k, replace=False)) if k else []
        tasks.append({"task": f"G{index}T{number:02d}", "duration_days": round(float(rng.uniform(1.0, 15.0)), 2),
                      "depends_on": depends})
    order = rng.permutation(count)  # listed in no particular order, as a planning export is
    return [tasks[i] for i in order]


def _fmea_table(rng: np.random.Generator, index: int) -> pd.DataFrame:
    components = ("broker", "historian", "gateway", "plc", "network", "twin", "mes", "scada", "erp", "dashboard")
    rows = []
    for number in range(int(rng.integers(10, 13))):
        rows.append({"mode": f"F{index}-{number:02d}", "component": str(rng.choice(components)),
                     "severity": int(rng.integers(1, 11)), "occurrence": int(rng.integers(1, 11)),
                     "detection": int(rng.integers(1, 11))})
    # Ties a ranking must break the brief's way: equal RPN, different severity; a grave failure with a low RPN.
    s, o, d = (int(v) for v in rng.choice([2, 3, 4, 5, 6], size=3, replace=False))
    rows[1].update(severity=s, occurrence=o, detection=d)
    rows[2].update(severity=d, occurrence=o, detection=s)
    rows[3].update(severity=o, occurrence=s, detection=d)
    rows[4].update(severity=int(rng.integers(9, 11)), occurrence=1, detection=int(rng.integers(1, 4)))
    return pd.DataFrame(rows).iloc[rng.permutation(len(rows))].reset_index(drop=True)


def _accounts(rng: np.random.Generator) -> dict:
    people = iter(rng.permutation(PEOPLE))
    prefixes = {"gateway": "gw", "operator": "op", "maintenance": "mnt", "twin": "twin", "dashboard": "dash",
                "visitor": "visit"}
    accounts = {}
    for role in (*ROLES, "operator"):
        name = f"{prefixes[role]}-{next(people)}"
        alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        accounts[name] = {"role": role, "password": "".join(rng.choice(list(alphabet), size=16))}
    return accounts


def _interop_samples(seed: int) -> dict:
    rng = stream(seed, "lab_architecture", "interop")
    events, states = _day_export(seed)
    sensors = _plant_sensor_table()
    good_reading = {"timestamp": "2026-01-05T06:00:01.000Z", "value": 12.5, "unit": "kW", "quality": "good"}
    broken_readings = [
        b"{not json", {k: v for k, v in good_reading.items() if k != "unit"},
        dict(good_reading, timestamp="2026-01-05 06:00:01"), dict(good_reading, timestamp="2026-01-05T06:00:01Z"),
        dict(good_reading, quality="ok"), dict(good_reading, value="12.5"), dict(good_reading, value=None),
        dict(good_reading, seq=41), dict(good_reading, quality="bad", value=250.0), [good_reading],
    ]
    messages = []
    prefix = "factorylab/lyon/machining/line1"
    for index, payload in enumerate(broken_readings):
        topic = sensors["topic"].iloc[index % len(sensors)]
        messages.append((topic, payload))
    for _, row in events.sample(6, random_state=int(rng.integers(2**31))).iterrows():
        event = {k: (None if pd.isna(row[k]) else (int(row[k]) if k == "part_id" else row[k]))
                 for k in ("timestamp", "kind", "machine", "part_id", "product", "reason")}
        messages.append((f"{prefix}/_events", event))
    first = messages[-1][1]
    messages += [(f"{prefix}/_events", dict(first, kind="part_teleported")),
                 (f"{prefix}/_events", {k: v for k, v in first.items() if k != "machine"}),
                 (f"{prefix}/_events", dict(first, part_id=str(first["part_id"])))]
    for _, row in states.sample(5, random_state=int(rng.integers(2**31))).iterrows():
        state = {"timestamp": row["timestamp"], "state": row["state"],
                 "reason": None if pd.isna(row["reason"]) else row["reason"]}
        messages.append((f"{prefix}/{row['machine']}/_state", state))
    messages += [(f"{prefix}/cnc/_state", {"timestamp": "2026-01-05T06:00:00.000Z", "state": "sleeping",
                                           "reason": None}),
                 (f"{prefix}/cnc/_state", {"timestamp": "2026-01-05T06:00:00.000Z", "state": "down"})]
    order = rng.permutation(len(messages))
    texts = [(messages[i][0], messages[i][1].decode() if isinstance(messages[i][1], bytes)
              else json.dumps(messages[i][1])) for i in order]
    start = load_plant().start
    readings = [(topic, timestamp(start, float(k)), float(rng.normal(10, 1)))
                for topic in sensors["topic"].iloc[:6] for k in range(30)]
    readings = pd.DataFrame(readings, columns=["topic", "timestamp", "value"])
    copies = readings.sample(int(rng.integers(3, 12)), random_state=int(rng.integers(2**31)))
    readings = pd.concat([readings, copies]).sample(frac=1.0, random_state=int(rng.integers(2**31)))
    exported = events.iloc[: int(rng.integers(40, 80))][["timestamp", "kind", "machine", "part_id"]]
    kept = exported.sample(frac=float(rng.uniform(0.6, 0.95)), random_state=int(rng.integers(2**31)))
    archived = pd.concat([kept, kept.iloc[:3], events.iloc[200:203][["timestamp", "kind", "machine", "part_id"]]])
    return {"interop_messages": pd.DataFrame(texts, columns=["topic", "payload"]),
            "interop_readings": readings.reset_index(drop=True),
            "interop_exported": exported.reset_index(drop=True), "interop_archived": archived.reset_index(drop=True)}


@lru_cache(maxsize=4)
def variant_inputs(seed: int) -> dict:
    """Every input of the hidden test cells for the variant of `seed`, by name (the grader writes them into the
    graded variant's folder; at home they come from here, with the practice seed)."""
    rng = stream(seed, "lab_architecture", "inputs")
    inputs = {}
    for index in range(3):
        case = _sizing_case(seed, index)
        for name, value in case.items():
            inputs[f"sizing{index}_{name}"] = value
    inputs["topologies"] = [_topology(rng) for _ in range(2)]
    inputs["task_graphs"] = [_task_graph(rng, index) for index in range(3)]
    for index in range(2):
        inputs[f"fmea{index}"] = _fmea_table(rng, index)
    inputs["security_accounts"] = _accounts(rng)
    where = _line(rng)
    machine = str(rng.choice(MACHINES))
    inputs["security_line"] = {"prefix": f"factorylab/{where['site']}/{where['area']}/{where['line']}",
                               "machine": machine, "sensor": str(rng.choice(SENSORS))}
    inputs["drill"] = {"disaster_at_s": round(float(rng.uniform(1200.0, 1500.0)), 1)}
    inputs.update(_interop_samples(seed))
    return inputs


def _input(name: str):
    return graded_input(name, practice=lambda: copy.deepcopy(variant_inputs(learner_seed())[name]))


def sizing_cases() -> list[dict]:
    """The grader's sizing cases: {"sensors", "events", "states", "policy"} each."""
    return [{part: _input(f"sizing{index}_{part}") for part in ("sensors", "events", "states", "policy")}
            for index in range(3)]


def grader_topologies() -> list[dict]:
    """Topologies of other lines the grader builds inventories for: {"prefix", "machines": {machine: sensors}}."""
    return _input("topologies")


def task_graphs() -> list[list[dict]]:
    """The grader's task graphs: lists of {"task", "duration_days", "depends_on"}."""
    return _input("task_graphs")


def fmea_tables() -> list[pd.DataFrame]:
    """The grader's FMEA tables: mode, component, severity, occurrence, detection."""
    return [_input(f"fmea{index}") for index in range(2)]


def security_accounts() -> dict:
    """The accounts the access protocol is tried with: {username: {"role", "password"}}."""
    return _input("security_accounts")


def security_line() -> dict:
    """The line (and one machine and sensor of it) whose topics the grader's access probes use."""
    return _input("security_line")


def drill_plan() -> dict:
    """When the disaster strikes in the recovery drill: {"disaster_at_s"} (plant seconds)."""
    return _input("drill")


def interop_samples() -> dict:
    """The grader's samples for the acceptance measures: messages (topic, payload text), readings (topic,
    timestamp, value), an MES export and an archive (timestamp, kind, machine, part_id)."""
    return {name: _input(f"interop_{name}") for name in ("messages", "readings", "exported", "archived")}


# --- the live plant -------------------------------------------------------------------------------------------------


@dataclass
class LiveBench:
    """A live plant streaming to an embedded broker of our own (so the broker can be restarted)."""

    broker: EmbeddedBroker
    plant: LivePlant
    port: int

    @property
    def url(self) -> str:
        return self.broker.url

    def restart_broker(self, down_s: float = 0.5) -> None:
        self.broker.stop()
        time.sleep(down_s)
        self.broker = EmbeddedBroker(port=self.port).start()

    def stop(self) -> None:
        self.plant.stop()
        self.broker.stop()


def start_live_plant(seed: int | None = None, *, speed: float, sensors: bool = True) -> LiveBench:
    """The plant of `seed` (the practice seed by default) streaming at `speed` to an embedded broker. Without
    `sensors` it streams its MES events, states and status only: the same records (the line draws none of its
    random numbers for the sensors), a thousandth of the messages, so it can run much faster."""
    for noisy in ("simulators.transport", "asyncio", "amqtt"):  # broker restarts are expected: keep them quiet
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    try:
        line = load_plant()
        if not sensors:
            line = dataclasses.replace(line, stations={name: dataclasses.replace(station, sensors=())
                                                       for name, station in line.stations.items()})
        plant = LivePlant(plant=line, seed=learner_seed() if seed is None else seed, broker_url=broker.url,
                          speed=speed).start()
    except BaseException:
        broker.stop()
        raise
    return LiveBench(broker, plant, port)


def discover_topology(broker_url: str, *, wait_s: float = 1.5) -> dict:
    """The lines, machines and sensors a broker's retained `_meta` topics describe: {"prefix", "machines"}."""
    found: dict[str, dict[str, set]] = {}
    with MqttClient(broker_url) as client:
        def seen(message) -> None:
            levels = message.topic.split("/")
            if len(levels) == 7 and levels[-1] == "_meta":
                found.setdefault("/".join(levels[:4]), {}).setdefault(levels[4], set()).add(levels[5])

        client.subscribe("factorylab/+/+/+/+/+/_meta", seen)
        time.sleep(wait_s)
    if len(found) != 1:
        raise RuntimeError(f"{broker_url}: expected the metadata of one line, found {sorted(found) or 'none'}")
    prefix, machines = next(iter(found.items()))
    return {"prefix": prefix, "machines": {machine: sorted(sensors) for machine, sensors in machines.items()}}


def live_topology(seed: int | None = None) -> dict:
    """Start the plant, discover its topology from the broker, stop it."""
    bench = start_live_plant(seed, speed=60.0)
    try:
        return discover_topology(bench.url)
    finally:
        bench.stop()


# --- the historian's archive ----------------------------------------------------------------------------------------

ARCHIVE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    timestamp TEXT NOT NULL, t_s REAL NOT NULL, kind TEXT NOT NULL, machine TEXT, part_id INTEGER,
    product TEXT, reason TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (timestamp, kind, ifnull(machine, ''), ifnull(part_id, 0));
"""


def create_archive(path) -> sqlite3.Connection:
    """The historian's archive of MES events (one row per event: a redelivered one is stored once)."""
    conn = sqlite3.connect(path)
    conn.executescript(ARCHIVE_SCHEMA)
    return conn


def archive_events(conn: sqlite3.Connection) -> pd.DataFrame:
    """The archive's events, in time order."""
    frame = pd.read_sql("SELECT timestamp, t_s, kind, machine, part_id, product, reason FROM events "
                        "ORDER BY t_s, rowid", conn)
    return frame.astype({"part_id": "Int64"})


@lru_cache(maxsize=1)
def _plant_start() -> pd.Timestamp:
    return pd.Timestamp(load_plant().start)


def _plant_seconds(stamp: str) -> float:
    return (pd.Timestamp(stamp) - _plant_start()).total_seconds()


class Collector:
    """Subscribes to a line's MES events and stores them in an archive. Messages wait in a queue until `drain()`
    stores them, on the notebook's thread (SQLite connections stay on the thread that made them); a payload that
    is not a well-formed event is counted in `malformed` and skipped (the collector goes on)."""

    def __init__(self, broker_url: str, prefix: str, conn: sqlite3.Connection, *, name: str = "historian") -> None:
        self.conn = conn
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.stored = 0
        self.malformed = 0
        self.first_stored_t_s: float | None = None
        self.client = MqttClient(broker_url, client_id=f"{name}-{secrets.token_hex(4)}", reconnect_min_s=0.2,
                                 reconnect_max_s=1.0).connect()
        self.client.subscribe(f"{prefix}/_events", lambda message: self.inbox.put(bytes(message.payload)))

    def drain(self) -> int:
        """Store what arrived; return how many new events were stored."""
        added = 0
        while True:
            try:
                payload = self.inbox.get_nowait()
            except queue.Empty:
                break
            try:
                event = json.loads(payload)
                row = (event["timestamp"], _plant_seconds(event["timestamp"]), event["kind"], event.get("machine"),
                       event.get("part_id"), event.get("product"), event.get("reason"))
                cursor = self.conn.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            except (ValueError, KeyError, TypeError, sqlite3.Error):
                self.malformed += 1
                continue
            if cursor.rowcount and self.first_stored_t_s is None:
                self.first_stored_t_s = row[1]
            added += cursor.rowcount
        self.conn.commit()
        self.stored += added
        return added

    def stop(self) -> None:
        self.client.close()


def destroy(path) -> None:
    """The disaster: the historian's disk is lost (the archive file and its journal are gone)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- the access protocol, tried on a real Mosquitto -----------------------------------------------------------------

_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_ACCESS = ("read", "write", "readwrite", "deny")
_HASH = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$")
MAX_FILE_CHARS = 65536
MAX_HASH_ROUNDS = 100_000


def hash_password(password: str) -> str:
    """Mosquitto 2's hash of a password (PBKDF2-SHA512, `$7$...`), as `mosquitto_passwd` writes it."""
    return mosquitto_password_hash(password)


def _filter_problem(topic: str) -> str | None:
    if not topic or len(topic) > 256 or "\x00" in topic:
        return "a topic filter of 1 to 256 characters"
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "'#' only as the whole last level"
        if "+" in level and level != "+":
            return "'+' only as a whole level"
    return None


def acl_problems(text: str) -> list[str]:
    """What keeps `text` from being a Mosquitto ACL file of `user`, `topic` and `pattern` lines (empty: fine)."""
    if not isinstance(text, str) or not text.strip():
        return ["the ACL file is empty"]
    if len(text) > MAX_FILE_CHARS:
        return [f"the ACL file has more than {MAX_FILE_CHARS} characters"]
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user":
            if len(words) != 2 or not _USER.match(words[1]):
                problems.append(f"ACL line {number}: 'user <name>' with a name of letters, digits, '_.@-'")
            elif words[1] == TESTER:
                problems.append(f"ACL line {number}: {TESTER!r} is the trial's own account")
        elif words[0] in ("topic", "pattern"):
            access, topic = (words[1], words[2:]) if len(words) > 2 else ("readwrite", words[1:])
            if access not in _ACCESS or len(topic) != 1:
                problems.append(f"ACL line {number}: '{words[0]} [read|write|readwrite|deny] <filter>'")
            elif (problem := _filter_problem(topic[0])) is not None:
                problems.append(f"ACL line {number}: {problem}")
        else:
            problems.append(f"ACL line {number}: {words[0]!r} is not an ACL directive (user, topic, pattern)")
    return problems


def password_problems(text: str, accounts: dict) -> list[str]:
    """What keeps `text` from being a Mosquitto 2 password file for exactly `accounts` (empty: fine)."""
    if not isinstance(text, str) or not text.strip():
        return ["the password file is empty"]
    if len(text) > MAX_FILE_CHARS:
        return [f"the password file has more than {MAX_FILE_CHARS} characters"]
    problems, users = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        user, _, secret = line.partition(":")
        users.append(user)
        if not _USER.match(user) or user == TESTER:
            problems.append(f"password line {number}: a user name of letters, digits, '_.@-' before ':'")
            continue
        match = _HASH.match(secret)
        if match is None:
            problems.append(f"password line {number}: the password of {user!r} is not a Mosquitto 2 hash "
                            "($7$<rounds>$<salt>$<hash>, PBKDF2-SHA512): hash it (kit.hash_password or "
                            "mosquitto_passwd); a password file never holds a password in clear")
        elif not 1 <= int(match.group(1)) <= MAX_HASH_ROUNDS:
            problems.append(f"password line {number}: {match.group(1)} PBKDF2 rounds, at most {MAX_HASH_ROUNDS}")
    duplicates = sorted({user for user in users if users.count(user) > 1})
    if duplicates:
        problems.append(f"password file: {duplicates} listed more than once")
    missing = sorted(set(accounts) - set(users))
    if missing:
        problems.append(f"password file: no entry for {missing}")
    unknown = sorted(set(users) - set(accounts))
    if unknown:
        problems.append(f"password file: accounts that are not the project's: {unknown}")
    return problems


def access_probes(accounts: dict, line: dict) -> pd.DataFrame:
    """Every check of the access protocol for `accounts` ({username: {"role", ...}}) on the topics of `line`
    ({"prefix", "machine", "sensor"}): each account logs in, is refused with a wrong password, and tries to
    publish and to receive on one topic of each family; `expected` is what the brief's matrix allows."""
    line_path = line["prefix"].split("/", 1)[1]
    rows = []
    for username, account in accounts.items():
        role = account["role"]
        rows.append((username, role, "login", "login", "", True))
        rows.append((username, role, "login", "wrong_password", "", False))
        for family, template in TOPIC_FAMILIES.items():
            topic = template.format(line_path=line_path, **line)
            rights = ROLE_MATRIX[family][role]
            rows.append((username, role, family, "publish", topic, "w" in rights))
            rows.append((username, role, family, "read", topic, "r" in rights))
    return pd.DataFrame(rows, columns=["username", "role", "family", "action", "topic", "expected"])


def mosquitto_binary() -> str | None:
    """Mosquitto's broker program, if installed."""
    return shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(path, os.X_OK)), None)


def trial_available() -> bool:
    """Whether `run_access_trial` can run here (Mosquitto and openssl installed)."""
    return mosquitto_binary() is not None and shutil.which("openssl") is not None


class AccessTrialError(RuntimeError):
    """The trial could not run on these files: malformed, or refused by Mosquitto."""


class TrialUnavailable(AccessTrialError):
    """The trial cannot run on this machine: no Mosquitto or no openssl (nothing to do with the files)."""


_OPENSSL_CONF = "[req]\ndistinguished_name = dn\n[dn]\n"
_SERVER_EXTENSIONS = ("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                      "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n")


def _certificates(folder: Path) -> None:
    """A throw-away CA and a server certificate for 127.0.0.1, signed by it (ECDSA P-256, valid 2 days)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TrialUnavailable("openssl is not installed: the trial's TLS certificates need it")
    (folder / "openssl.cnf").write_text(_OPENSSL_CONF)
    (folder / "server.ext").write_text(_SERVER_EXTENSIONS)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=factorylab trial CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "server.crt", "-days", "2", "-extfile", "server.ext"],
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENSSL_CONF": str(folder / "openssl.cnf")}
    for step in steps:
        done = subprocess.run([openssl, *step], cwd=folder, env=env, capture_output=True, timeout=30, check=False)
        if done.returncode != 0:
            raise TrialUnavailable(f"openssl {step[0]} failed: {done.stderr.decode(errors='replace')[-300:]}")


@contextlib.contextmanager
def _mosquitto(folder: Path, port: int):
    binary = mosquitto_binary()
    if binary is None:
        raise TrialUnavailable("Mosquitto is not installed (apt-get install mosquitto)")
    lines = [f"listener {port} 127.0.0.1", f"cafile {folder / 'ca.crt'}", f"certfile {folder / 'server.crt'}",
             f"keyfile {folder / 'server.key'}", "tls_version tlsv1.2", "allow_anonymous false",
             f"password_file {folder / 'passwords'}", f"acl_file {folder / 'acl'}", "persistence false",
             "log_dest stderr", "log_type error", "log_type warning"]
    if os.geteuid() == 0:  # as root, Mosquitto would switch to a user who may not read the folder
        lines.append("user root")
    (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    log = (folder / "mosquitto.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(folder / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10.0
        while True:
            if process.poll() is not None:
                raise AccessTrialError("Mosquitto refused the files: "
                                       + (folder / "mosquitto.log").read_text(errors="replace")[-300:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AccessTrialError("Mosquitto did not start within 10 s") from None
                time.sleep(0.02)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@dataclass
class _Probe:
    """One paho client of the trial, with what the broker answered it."""

    client: paho.Client
    connected: threading.Event = field(default_factory=threading.Event)
    refused: bool = False
    acks: dict = field(default_factory=dict)
    acked: threading.Condition = field(default_factory=threading.Condition)
    received: set = field(default_factory=set)


def _client(port: int, ca: Path, username: str, password: str) -> _Probe:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"trial-{secrets.token_hex(6)}",
                         protocol=paho.MQTTv5)
    client.tls_set_context(ssl.create_default_context(cafile=str(ca)))
    client.username_pw_set(username, password)
    probe = _Probe(client)

    def on_connect(_client, _userdata, _flags, reason, _properties) -> None:
        probe.refused = reason.is_failure
        probe.connected.set()

    def on_disconnect(_client, _userdata, _flags, reason, _properties) -> None:
        if not probe.connected.is_set():
            probe.refused = True
            probe.connected.set()

    def on_ack(mid, codes) -> None:
        with probe.acked:
            probe.acks[mid] = codes
            probe.acked.notify_all()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_publish = lambda _c, _u, mid, reason, _p: on_ack(mid, [reason])
    client.on_subscribe = lambda _c, _u, mid, reasons, _p: on_ack(mid, reasons)
    client.on_message = lambda _c, _u, message: probe.received.add(bytes(message.payload))
    try:
        client.connect("127.0.0.1", port, keepalive=30)
    except OSError:
        probe.refused = True
        probe.connected.set()
        return probe
    client.loop_start()
    if not probe.connected.wait(5.0):
        probe.refused = True
    return probe


def _wait_acks(probe: _Probe, mids: list[int], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    with probe.acked:
        while not all(mid in probe.acks for mid in mids):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            probe.acked.wait(remaining)
        return {mid: probe.acks.get(mid) for mid in mids}


def _close(*probes: _Probe) -> None:
    """Disconnect every client first, then wait for their network threads (each ends on its next loop)."""
    for probe in probes:
        with contextlib.suppress(Exception):
            probe.client.disconnect()
    for probe in probes:
        probe.client.loop_stop()


def run_access_trial(password_text: str, acl_text: str, accounts: dict, probes: pd.DataFrame) -> pd.DataFrame:
    """`probes` (access_probes) with an `allowed` column: what a real Mosquitto, TLS only, running on these
    password and ACL files, let each account do. AccessTrialError if the files are malformed or the trial
    cannot run."""
    problems = acl_problems(acl_text) + password_problems(password_text, accounts)
    if problems:
        raise AccessTrialError("; ".join(problems[:4]))
    with tempfile.TemporaryDirectory(prefix="factorylab-trial-") as scratch:
        folder = Path(scratch)
        _certificates(folder)
        tester_password = secrets.token_urlsafe(18)
        (folder / "passwords").write_text(password_text.rstrip("\n") + f"\n{TESTER}:{hash_password(tester_password)}\n")
        (folder / "acl").write_text(acl_text.rstrip("\n") + f"\n\nuser {TESTER}\ntopic readwrite #\n")
        for name in ("passwords", "acl"):
            (folder / name).chmod(0o600)
        port = free_port()
        with _mosquitto(folder, port):
            return _run_probes(port, folder / "ca.crt", accounts, tester_password, probes.copy())


def _run_probes(port: int, ca: Path, accounts: dict, tester_password: str, probes: pd.DataFrame) -> pd.DataFrame:
    probes["allowed"] = False
    clients = {user: _client(port, ca, user, account["password"]) for user, account in accounts.items()}
    tester = _client(port, ca, TESTER, tester_password)
    try:
        if tester.refused:
            raise AccessTrialError("the trial's own account could not log in")
        wrong = {user: _client(port, ca, user, account["password"] + "-wrong") for user, account in accounts.items()}
        _close(*wrong.values())
        for user, probe in clients.items():
            probes.loc[(probes["username"] == user) & (probes["action"] == "login"), "allowed"] = not probe.refused
            probes.loc[(probes["username"] == user) & (probes["action"] == "wrong_password"), "allowed"] = \
                not wrong[user].refused
        # Publishing first, while nobody listens: a PUBACK says whether the broker took the message (MQTT 5 reason
        # code below 0x80) or refused it (0x87, not authorised).
        for user, probe in clients.items():
            mine = probes[(probes["username"] == user) & (probes["action"] == "publish")]
            if probe.refused or mine.empty:
                continue
            mids = {index: probe.client.publish(row["topic"], b"trial", qos=1).mid for index, row in mine.iterrows()}
            answers = _wait_acks(probe, list(mids.values()), 5.0)
            for index, mid in mids.items():
                codes = answers[mid]
                probes.loc[index, "allowed"] = bool(codes) and not codes[0].is_failure
        # Receiving: each account subscribes to its probe topics, the tester publishes one message on each, and
        # Mosquitto delivers it only to the accounts its ACL lets read that topic.
        expected_deliveries = {}
        for user, probe in clients.items():
            mine = probes[(probes["username"] == user) & (probes["action"] == "read")]
            if probe.refused or mine.empty:
                continue
            mids = [probe.client.subscribe(topic, qos=1)[1] for topic in sorted(set(mine["topic"]))]
            _wait_acks(probe, mids, 5.0)
            expected_deliveries[user] = {row["topic"].encode() for _, row in mine.iterrows() if row["expected"]}
        sent = [tester.client.publish(topic, topic.encode(), qos=1).mid
                for topic in sorted(set(probes.loc[probes["action"] == "read", "topic"]))]
        _wait_acks(tester, sent, 5.0)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not all(
                wanted <= clients[user].received for user, wanted in expected_deliveries.items()):
            time.sleep(0.02)
        time.sleep(0.3)  # what a role may not read would have come with the rest
        for index, row in probes[probes["action"] == "read"].iterrows():
            probes.loc[index, "allowed"] = row["topic"].encode() in clients[row["username"]].received
    finally:
        _close(*clients.values(), tester)
    return probes


# --- the acceptance bench -------------------------------------------------------------------------------------------


MALFORMED = b'{"timestamp": "2026-01-05T06:00:00.000Z", "kind": '  # a truncated MES event


@dataclass
class Bench:
    """What the acceptance bench observed: the raw messages a subscriber to the whole line received, the archive
    a collector kept across a broker restart, and the bench's own measurements."""

    seed: int
    start_s: float  # plant time when the bench began listening
    end_s: float  # plant time when the plant stopped
    messages: pd.DataFrame  # topic, payload (text), received_s (wall seconds since the bench began)
    archive: pd.DataFrame  # the collector's archive of MES events
    latency_ms: list  # round trip of each latency probe
    burst_sent: int
    burst_received: int
    burst_s: float  # wall seconds from the first message sent to the last received
    reconnect_s: float  # wall seconds from the broker's restart to the collector's reconnection
    malformed_sent_at_s: float
    stored_after_malformed: int  # events the collector stored after the malformed message
    replies: list  # the plant's replies to the bench's commands, as received
    command_sent_s: dict  # wall seconds (since the bench began) at which each command was sent
    reply_received_s: dict  # and its reply received


def _wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def _contract_topic(topic: str) -> bool:
    levels = topic.split("/")
    if len(levels) == 5:
        return levels[-1] == "_events"
    if len(levels) == 6:
        return levels[-1] == "_state" or not levels[-1].startswith("_")
    return False


def contract_messages(messages: pd.DataFrame) -> pd.DataFrame:
    """The messages the documented payload contract covers: sensor readings (`<prefix>/<machine>/<sensor>`),
    machine states (`<prefix>/<machine>/_state`) and MES events (`<prefix>/_events`)."""
    return messages[messages["topic"].map(_contract_topic)].reset_index(drop=True)


def run_acceptance_bench(seed: int | None = None, *, speed: float = RECETTE_SPEED) -> Bench:
    """Run the acceptance book's scenario against the live plant (practice seed by default), in a few wall
    seconds: latency probes, a burst, a malformed MES message, a broker restart, a command in range and one out
    of range."""
    seed = learner_seed() if seed is None else seed
    bench = start_live_plant(seed, speed=speed)
    prefix = bench.plant.prefix
    began = time.monotonic()

    def now() -> float:
        return time.monotonic() - began

    raw: queue.SimpleQueue = queue.SimpleQueue()
    probes: queue.SimpleQueue = queue.SimpleQueue()
    replies_seen: set = set()
    scratch = Path(tempfile.mkdtemp(prefix="factorylab-bench-"))
    conn = create_archive(scratch / "bench_archive.sqlite")
    recorder = operator = collector = None
    try:
        recorder = MqttClient(bench.url, client_id=f"bench-recorder-{secrets.token_hex(4)}", reconnect_min_s=0.2,
                              reconnect_max_s=1.0).connect()
        recorder.subscribe(f"{prefix}/#", lambda m: raw.put((m.topic, bytes(m.payload), now())))
        collector = Collector(bench.url, prefix, conn, name="bench-historian")
        start_s = bench.plant.t_s  # from here on, the recorder and the collector both listen
        operator = MqttClient(bench.url, client_id=f"bench-operator-{secrets.token_hex(4)}").connect()
        operator.subscribe("sandbox/bench/#", lambda m: probes.put((m.topic, bytes(m.payload), time.perf_counter())))
        operator.subscribe(f"{prefix}/_reply", lambda m: replies_seen.add(bytes(m.payload)))
        latency = []
        for number in range(20):
            sent = time.perf_counter()
            operator.publish("sandbox/bench/latency", f"{number}".encode(), qos=1)
            topic, payload, received = probes.get(timeout=5.0)
            latency.append((received - sent) * 1000.0)
        burst = 500
        first = time.perf_counter()
        for number in range(burst):
            operator.publish("sandbox/bench/burst", f"{number}".encode(), qos=0)
        received, last = 0, first
        deadline = time.monotonic() + 5.0
        while received < burst and time.monotonic() < deadline:
            try:
                _, _, last = probes.get(timeout=0.5)
                received += 1
            except queue.Empty:
                break
        collector.drain()
        malformed_at = now()
        operator.publish(f"{prefix}/_events", MALFORMED, qos=1)
        time.sleep(0.3)
        before = collector.stored
        collector.drain()
        time.sleep(0.5)
        collector.drain()
        after_malformed = collector.stored - before
        reconnects = collector.client.stats.reconnects, operator.stats.reconnects
        bench.restart_broker()
        restarted = time.monotonic()
        _wait_until(lambda: collector.client.stats.reconnects > reconnects[0], 10.0)
        reconnect_s = time.monotonic() - restarted
        _wait_until(lambda: operator.stats.reconnects > reconnects[1], 10.0)
        _wait_until(lambda: bench.plant.client_status == "connected", 10.0)
        time.sleep(0.5)  # the plant subscribes to its command topic again
        sent_at = {}
        for command_id, value in (("bench-in-range", 1.05), ("bench-out-of-range", 9.0)):
            sent_at[command_id] = now()
            operator.publish(f"{prefix}/_cmd", json.dumps({"id": command_id, "command": "set_speed",
                                                           "station": "cnc", "value": value}).encode(), qos=1)
        deadline = time.monotonic() + 3.0
        while len(replies_seen) < len(sent_at) and time.monotonic() < deadline:
            collector.drain()
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        bench.plant.stop()
        end_s = bench.plant.t_s
        time.sleep(0.3)
        if collector is not None:
            collector.drain()
        for client in (recorder, operator, collector and collector.client):
            if client is not None:
                client.close()
        bench.broker.stop()
    rows = []
    while True:
        try:
            topic, payload, received_s = raw.get_nowait()
        except queue.Empty:
            break
        if payload != MALFORMED:  # the bench's own probe is no message of the plant's
            rows.append((topic, payload.decode("utf-8", errors="replace"), received_s))
    messages = pd.DataFrame(rows, columns=["topic", "payload", "received_s"])
    replies, reply_at = [], {}
    for _, row in messages[messages["topic"] == f"{prefix}/_reply"].iterrows():
        with contextlib.suppress(ValueError):
            reply = json.loads(row["payload"])
            if isinstance(reply, dict) and reply.get("id") in sent_at:
                replies.append(reply)
                reply_at.setdefault(reply["id"], float(row["received_s"]))
    archive = archive_events(conn)
    conn.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return Bench(seed=seed, start_s=float(start_s), end_s=float(end_s), messages=messages, archive=archive,
                 latency_ms=latency, burst_sent=burst, burst_received=received, burst_s=float(last - first),
                 reconnect_s=float(reconnect_s), malformed_sent_at_s=float(malformed_at),
                 stored_after_malformed=int(after_malformed), replies=replies, command_sent_s=sent_at,
                 reply_received_s=reply_at)


def bench_evidence(bench: Bench) -> dict:
    """The bench's observations as plain data, for the grader."""
    return {"bench_seed": bench.seed, "bench_window": [bench.start_s, bench.end_s],
            "bench_messages": contract_messages(bench.messages)[["topic", "payload"]],
            "bench_archive": bench.archive, "bench_replies": bench.replies,
            "bench_measures": {"reconnect_s": bench.reconnect_s, "stored_after_malformed": bench.stored_after_malformed,
                               "burst_received": bench.burst_received, "burst_s": bench.burst_s,
                               "latency_ms": bench.latency_ms, "command_sent_s": bench.command_sent_s,
                               "reply_received_s": bench.reply_received_s}}


# --- databases, as the grader reads them ----------------------------------------------------------------------------


def database_evidence(path, tables) -> dict:
    """A SQLite database as plain data: its CREATE statements (`schema`: type, name and sql of each, for the
    grader to rebuild it in a sandbox) and the content of `tables` (those present)."""
    path = Path(path)
    if not path.is_file():
        return {"schema": []}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        schema = [{"type": kind, "name": name, "sql": sql} for kind, name, sql in db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        content = {table: pd.read_sql(f'SELECT * FROM "{table}"', db) for table in tables if table in names}
    return {"schema": schema, **content}
