"""Verdicts of lab3_alerts (CCPM competence 3, alert thresholds), decided in the grader's process.

The lab's brief sets five objectives, one per signal that shows a fault the plant can suffer (`OBJECTIVES`): the
sensor that shows the fault, the machine states it shows in, the documented limit, the severity, the recipient, the
fault scenarios it must catch and the lead time maintenance needs before the repair. The kernel records the
learner's rules, the alarms its `AlertEngine` raised when it replayed the recorded data of the learner's graded
variant (the second of two weeks of normal operation, and one shift per fault scenario), the performance measures
the learner computed from them, and what its engine, e-mail, MQTT and panel code did on inputs the grader chose
(`grader_inputs`). Here they are judged against the variant's ground truth (its noise-free normal operation and its
fault windows, `autograde.variants.truth_tables`) and against a reference engine and panel run on the same inputs:

- thresholds: per objective, rules on the right side, between normal operation over the history's first week
  *in the days each rule watches* (the levels move with the product plan and the weather: one threshold from one
  shift fires on the hotter days) and the brief's limit, with a hysteresis, a pending period and the states where
  the fault shows; an objective may split the working week into regimes (`days`) that do not overlap;
- engine: pending period, interrupted conditions, hysteresis, state and day gating, acknowledgement, history;
- measures: the learner's false alarms per week and lead times are those of its own replays;
- detection / quiet: every fault caught with the brief's lead time before its repair; at most the brief's false
  alarms per week, none during the network outage or on a sensor without a fault, no chattering, no deaf rule;
- routing, e-mail, MQTT: the brief's routing table, and one well-formed message per alarm;
- panel: the light takes the worst active severity's colour (and only it), the horn follows acknowledgement.
"""

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import NoReturn

import numpy as np
import pandas as pd

from autograde.variants import Variant, add_dataset, observed_tables, practice_variant, truth_tables
from autograde.verdicts import Evidence, LabVerdicts, Phrase, VerdictFailed, expect, phrase
from labkit import lab3_alerts as kit
from labkit import plaindata
from simulators.seeding import stream

VERDICTS = LabVerdicts("lab3_alerts")
SEVERITIES = ("info", "warning", "critical")
# The brief's routing table: the channels each severity goes to, no more, no fewer.
SEVERITY_CHANNELS = {
    "critical": ("light", "sound", "email", "mqtt"),
    "warning": ("light", "email", "mqtt"),
    "info": ("light", "mqtt"),
}
MAIL_DOMAIN = "lyon.factorylab.example"  # the only domain the plant's mail relay may deliver to
SENDER = f"line1-alarms@{MAIL_DOMAIN}"
MAX_FIRINGS_PER_FAULT = 3  # more fire/clear cycles than this during one fault is chattering
MAX_FALSE_ALARMS_PER_WEEK = 1  # the brief's alarm hygiene, per objective, in the week of normal operation
WORKING_DAYS = ("mon", "tue", "wed", "thu", "fri")
LEAD_TOLERANCE_MIN = 0.5  # a learner's lead time within this of its own replay's is right (rounding)
SEVERITY_RANK = {"info": 1, "warning": 2, "critical": 3}
RECORDING_CANDIDATES = 60  # about a third of plants are fair: 60 leave one learner in 10^10 without recordings
LEAD_FACTOR = 1.5  # a sound rule alarms on a graded fault at least 1.5 times the brief's lead before its repair
# The pending periods of the model answer's rules (a sound rule set: detectable_lead_min).
REFERENCE_PENDING_S = {"spindle_overheat": 120, "coolant_supply": 900, "saw_bearing": 120, "deburr_air": 60,
                       "wash_standby_energy": 900}


@dataclass(frozen=True)
class Objective:
    """One objective of the brief: the faults to detect, where they show, the documented limit and the lead."""

    key: str
    scenarios: tuple[str, ...]
    machine: str
    sensor: str
    direction: str  # "above": the fault raises the value; "below": it lowers it
    shows_in: tuple[str, ...]  # machine states in which the fault is visible on the sensor
    limit: float  # the brief's documented limit: the threshold must sit between normal operation and it
    limit_source: Phrase  # the document that sets the limit, shown translated in feedback
    severity: str
    recipient: str
    min_lead_min: float  # the alarm must come at least this long before the fault's repair stop

    @property
    def pair(self) -> str:
        return f"{self.machine}/{self.sensor}"


OBJECTIVES = (
    Objective("spindle_overheat", ("cooling_failure",), "cnc", "spindle_temperature", "above", ("running",), 80.0,
              phrase("spindle supplier manual: 80 °C maximum for continuous machining"), "critical",
              f"maintenance.oncall@{MAIL_DOMAIN}", 30.0),
    Objective("coolant_supply", ("cooling_failure", "slow_cooling_degradation"), "cnc", "coolant_pressure", "below",
              ("running",), 30.0, phrase("CNC manual: through-spindle coolant needs at least 30 bar while machining"),
              "critical", f"maintenance.oncall@{MAIL_DOMAIN}", 30.0),
    Objective("saw_bearing", ("bearing_wear",), "saw", "vibration", "above", ("running",), 4.5,
              phrase("ISO 10816-1 (now ISO 20816-1), class I (machines up to 15 kW): 4.5 mm/s r.m.s. is the zone "
                     "C/D boundary"), "warning", f"maintenance.planning@{MAIL_DOMAIN}", 60.0),
    Objective("deburr_air", ("pressure_leak",), "deburr", "air_pressure", "below", ("running", "starved", "blocked"),
              4.0, phrase("brush robot data sheet: 4.0 bar minimum supply pressure"), "warning",
              f"maintenance.planning@{MAIL_DOMAIN}", 60.0),
    Objective("wash_standby_energy", ("energy_overconsumption",), "wash", "power", "above", ("starved", "blocked"),
              2.0, phrase("energy manager: a standby draw above 2.0 kW is a fault (data sheet: 1.5 kW)"), "info",
              f"energy@{MAIL_DOMAIN}", 60.0),
)
FAULT_SCENARIOS = tuple(dict.fromkeys(scenario for objective in OBJECTIVES for scenario in objective.scenarios))
QUIET_SCENARIOS = ("network_outage",)


# --- the grader's inputs ------------------------------------------------------------------------------------

def _rng(seed: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, 3, purpose])


def _engine_cases(seed: int) -> list[dict]:
    rng = _rng(seed, 1)
    threshold = round(float(rng.uniform(8, 40)), 1)
    gap = round(float(rng.uniform(1, 4)), 1)
    clear = round(threshold - gap, 1)
    pending = int(rng.integers(15, 45))
    base = round(clear - float(rng.uniform(2, 5)), 2)
    over = round(threshold + float(rng.uniform(0.5, 3)), 2)
    between = round(clear + gap / 2, 2)
    below_clear = round(clear - float(rng.uniform(0.5, 2)), 2)
    name = f"grader_high_{int(rng.integers(10, 99))}"
    machine, sensor = "m", f"s{int(rng.integers(1, 9))}"
    above = {"name": name, "machine": machine, "sensor": sensor, "direction": "above", "threshold": threshold,
             "clear_threshold": clear, "pending_s": float(pending), "severity": str(rng.choice(SEVERITIES)),
             "states": ["running", "blocked"], "days": [], "channels": ["light"], "recipients": []}
    first = [
        ["run", machine, sensor, base, 60, "running"],
        ["run", machine, sensor, round(threshold + 40, 1), 1, "running"],
        ["run", machine, sensor, base, 60, "running"],
        ["run", machine, "other", round(threshold + 50, 1), 5, "running"],
        ["mark", "spike"],
        ["run", machine, sensor, over, pending - 5, "running"], ["run", machine, sensor, base, 1, "running"],
        ["run", machine, sensor, over, pending - 5, "blocked"], ["run", machine, sensor, base, 3, "running"],
        ["mark", "interrupted"],
        ["run", machine, sensor, over, pending + 70, "running"], ["mark", "fire"],
        ["run", machine, sensor, between, 2 * pending + 20, "running"],
        ["run", machine, sensor, base, pending + 40, "planned_stop"], ["mark", "hold"],
        ["ack", name, "operator.b"], ["ack", name, "operator.b"], ["mark", "ack"],
        ["run", machine, sensor, below_clear, pending + 30, "running"], ["mark", "clear"],
        ["ack", name, "operator.b"], ["mark", "ack_cleared"],
    ]
    low_threshold = round(float(rng.uniform(2, 6)), 2)
    low_clear = round(low_threshold + float(rng.uniform(0.2, 1)), 2)
    low_pending = int(rng.integers(5, 20))
    low = {"name": f"grader_low_{int(rng.integers(10, 99))}", "machine": "m", "sensor": "p", "direction": "below",
           "threshold": low_threshold, "clear_threshold": low_clear, "pending_s": float(low_pending),
           "severity": str(rng.choice(SEVERITIES)), "states": ["running", "starved"], "days": [],
           "channels": ["light"], "recipients": []}
    second = [["run", "m", "p", round(low_clear + 1, 2), 20, "starved"],
              ["run", "m", "p", round(low_threshold - 0.5, 2), low_pending + 30, "starved"], ["mark", "below"]]
    day = int(rng.integers(1, 5))  # Tuesday to Friday: the stream starts on a Monday
    regime_pending = int(rng.integers(10, 40))
    regime = {"name": f"grader_regime_{int(rng.integers(10, 99))}", "machine": "m", "sensor": "t",
              "direction": "above", "threshold": threshold, "clear_threshold": clear,
              "pending_s": float(regime_pending),
              "severity": str(rng.choice(SEVERITIES)), "states": ["running"], "days": [kit.DAYS[day]],
              "channels": ["light"], "recipients": []}
    third = [["skip", (day - 1) * 86400], ["run", "m", "t", over, regime_pending + 30, "running"],
             ["mark", "other_day"], ["skip", 86400 - regime_pending - 30],
             ["run", "m", "t", over, regime_pending + 30, "running"], ["mark", "its_day"]]
    return [{"rules": [above], "steps": first}, {"rules": [low], "steps": second},
            {"rules": [regime], "steps": third}]


def _channel_case(seed: int) -> dict:
    rng = _rng(seed, 2)
    severity = str(rng.choice(["critical", "warning"]))
    machine, sensor = [("cnc", "spindle_temperature"), ("saw", "vibration"), ("deburr", "air_pressure")][
        int(rng.integers(0, 3))]
    roles = ["maintenance.oncall", "maintenance.planning", "quality.lead"]
    recipients = [f"{role}@{MAIL_DOMAIN}" for role in rng.choice(roles, size=int(rng.integers(1, 3)), replace=False)]
    threshold = round(float(rng.uniform(3, 80)), 2)
    rule = {"name": f"grader_{machine}_{sensor}_{int(rng.integers(100, 999))}", "machine": machine, "sensor": sensor,
            "direction": "above", "threshold": threshold, "clear_threshold": round(threshold * 0.95, 2),
            "pending_s": float(rng.integers(10, 120)), "severity": severity, "states": ["running"], "days": [],
            "channels": list(SEVERITY_CHANNELS[severity]), "recipients": recipients}
    timestamp = kit.ORIGIN + pd.Timedelta(seconds=int(rng.integers(0, 16 * 3600)))
    return {"rule": rule, "event": str(rng.choice(["firing", "cleared"])),
            "value": round(threshold + float(rng.uniform(-1, 2)), 3), "timestamp": timestamp.isoformat()}


def _panel_case(seed: int) -> dict:
    rng = _rng(seed, 3)

    def rule(name, severity, channels):
        threshold = round(float(rng.uniform(1, 90)), 2)
        return {"name": name, "machine": "m", "sensor": name, "direction": "above", "threshold": threshold,
                "clear_threshold": round(threshold - float(rng.uniform(0.1, 1)), 2), "pending_s": 30.0,
                "severity": severity, "states": ["running"], "days": [], "channels": channels, "recipients": []}

    tag = int(rng.integers(10, 99))
    loud, quiet, energy = f"horn_{tag}", f"plan_{tag}", f"energy_{tag}"
    rules = [rule(loud, "critical", ["light", "sound", "email", "mqtt"]),
             rule(quiet, "warning", ["light", "email", "mqtt"]), rule(energy, "info", ["light", "mqtt"])]
    rng.shuffle(rules)
    histories = [
        [], [[energy, "firing"]], [[energy, "firing"], [quiet, "firing"]],
        [[quiet, "firing"], [loud, "firing"]],
        [[quiet, "firing"], [loud, "firing"], [loud, "acknowledged"]],
        [[quiet, "firing"], [loud, "firing"], [loud, "acknowledged"], [loud, "cleared"], [loud, "firing"]],
        [[quiet, "firing"], [loud, "firing"], [loud, "cleared"], [quiet, "cleared"]],
        [[energy, "firing"], [quiet, "firing"], [quiet, "cleared"]],
    ]
    return {"rules": rules, "histories": histories}


@functools.lru_cache(maxsize=32)
def _inputs_json(seed: int) -> str:
    if seed == practice_variant(VERDICTS.lab).seed:
        inputs = {"engine_cases": kit.practice_engine_cases(), "channel_case": kit.practice_channel_case(),
                  "panel_case": kit.practice_panel_case()}
    else:
        inputs = {"engine_cases": _engine_cases(seed), "channel_case": _channel_case(seed),
                  "panel_case": _panel_case(seed)}
    return json.dumps(inputs)


def grader_inputs(variant: Variant) -> dict:
    """The inputs the kernel's probes receive for `variant` (the kit's practice ones for the practice seed)."""
    return json.loads(_inputs_json(variant.seed))


@functools.lru_cache(maxsize=64)
def recordings_seed(seed: int) -> int:
    """The seed of the variant's recordings: `seed` itself, or the first of the candidates drawn from it whose
    recordings are a fair test of the brief (`fair_recordings`), still from the learner's secret seed."""
    candidates = [seed, *(int(stream(seed, "lab3_alerts", "recordings", str(k)).integers(2**62))
                          for k in range(RECORDING_CANDIDATES))]
    for candidate in candidates:
        if fair_recordings(candidate):
            return candidate
    raise RuntimeError(f"lab3_alerts: no fair recordings among {len(candidates)} candidates")


def fair_recordings(recording: int) -> bool:
    """Whether the plant of seed `recording` tests the brief and nothing else:

    - its watched sensors keep their calibration over the two weeks: a drifting sensor is off by up to 3 % of its
      span (`simulators/imperfections.py`), which moves the levels the thresholds are judged against, and a tenth
      of the sensors drift;
    - a sound rule alarms on each graded fault at least `LEAD_FACTOR` times the brief's lead before its repair
      (`detectable_lead_min`). On the realistic plant a machine often breaks down during a fault: after a long stop
      a cooling failure restarts from a cold spindle and reaches a sound threshold minutes before the repair, which
      no rule can announce with the brief's lead."""
    watched = {(objective.machine, objective.sensor) for objective in OBJECTIVES}
    truth = truth_tables("normal", recording, kit.HISTORY_HOURS, tables=("readings_truth",),
                         plant=kit.PLANT)["readings_truth"]
    drifting = truth.loc[truth.defect == "drift", ["machine", "sensor"]].drop_duplicates()
    if watched & set(zip(drifting.machine.astype(str), drifting.sensor.astype(str), strict=True)):
        return False
    return all(detectable_lead_min(scenario, recording, objective) >= LEAD_FACTOR * objective.min_lead_min
               for objective in OBJECTIVES for scenario in objective.scenarios)


@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """The variant's two weeks of normal operation and its fault shifts (observed tables), and the probes' inputs."""
    seed = recordings_seed(variant.seed)
    add_dataset(folder, "normal", seed, kit.HISTORY_HOURS, plant=kit.PLANT)
    for scenario in kit.SCENARIOS:
        add_dataset(folder, scenario, seed, kit.SHIFT_HOURS, plant=kit.PLANT)
    for name, value in grader_inputs(variant).items():
        plaindata.write(folder / "inputs", name, value)


# --- the learner's rules --------------------------------------------------------------------------------------

def read_rules(records) -> list[SimpleNamespace]:
    """The rules the kernel recorded (labkit.lab3_alerts.rule_table), checked for shape."""
    expect(isinstance(records, list) and all(isinstance(r, dict) for r in records),
           "RULES could not be read as a list of AlertRule")
    fields = {"name": str, "machine": str, "sensor": str, "direction": str, "severity": str}
    rules = []
    for record in records:
        for field, kind in fields.items():
            expect(isinstance(record.get(field), kind), "every rule needs a text {field!r}", field=field)
        for field in ("threshold", "clear_threshold", "pending_s"):
            expect(plaindata.is_finite_number(record.get(field)),
                   "rule {name!r}: {field} must be a finite number", name=record["name"], field=field)
        for field in ("states", "days", "channels", "recipients"):
            expect(isinstance(record.get(field), list) and all(isinstance(x, str) for x in record[field]),
                   "rule {name!r}: {field} must be a tuple of texts", name=record["name"], field=field)
        unknown = sorted(set(record["days"]) - set(kit.DAYS))
        expect(not unknown, "rule {name!r}: days {unknown} are not among {week}", name=record["name"],
               unknown=unknown, week=kit.DAYS)
        rules.append(SimpleNamespace(**record))
    names = [rule.name for rule in rules]
    expect(len(set(names)) == len(names), "rule names must be unique")
    return rules


def days_of(rule) -> tuple[str, ...]:
    """The weekdays a rule watches (every day when its `days` is empty)."""
    return tuple(rule.days) or kit.DAYS


def rules_for(rules, objective: Objective) -> list:
    """The learner's rules watching the objective's sensor, one per operating regime: VerdictFailed if none,
    if two watch the same day (one fault would raise two alarms), or if a working day is left unwatched."""
    found = [r for r in rules if (r.machine, r.sensor) == (objective.machine, objective.sensor)]
    expect(bool(found), "no rule watches {objective.pair}: the brief's objective {objective.key!r} needs one",
           objective=objective)
    seen: dict[str, str] = {}
    for rule in found:
        for day in days_of(rule):
            expect(day not in seen, "rules {other!r} and {rule.name!r} both watch {objective.pair} on {day}: "
                                    "give each operating regime its own days, or keep one rule, so that one fault "
                                    "raises one alarm", other=seen.get(day), rule=rule, objective=objective, day=day)
            seen[day] = rule.name
    unwatched = [day for day in WORKING_DAYS if day not in seen]
    expect(not unwatched, "no rule watches {objective.pair} on {days}: the rules of an objective together cover "
                          "every working day", objective=objective, days=", ".join(unwatched))
    return found


# --- thresholds -------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _states(scenario: str, recording: int, hours: float = kit.SHIFT_HOURS) -> pd.DataFrame:
    """The machine states of one of the variant's recordings (as its kernel observed them), read once."""
    return observed_tables(scenario, recording, hours, tables=("states",), plant=kit.PLANT)["states"]


@functools.lru_cache(maxsize=4)
def normal_bands(recording: int) -> dict[str, pd.DataFrame]:
    """Per objective and weekday, the 1st and 99th percentiles of its sensor's noise-free value over the
    history's first week (the brief's "last week"), in the states where the objective watches it: a threshold
    inside the band of a day it watches would alarm on a healthy machine that day."""
    truth = truth_tables("normal", recording, kit.HISTORY_HOURS, tables=("readings_truth",),
                         plant=kit.PLANT)["readings_truth"]
    states = _states("normal", recording, kit.HISTORY_HOURS)
    first_week_end = pd.Timestamp(truth.timestamp.min()).floor("h") + kit.WEEK
    bands = {}
    for objective in OBJECTIVES:
        mine = truth[(truth.machine == objective.machine) & (truth.sensor == objective.sensor)
                     & (truth.timestamp < first_week_end)]
        mine = pd.merge_asof(mine.sort_values("timestamp"),
                             states.loc[states.machine == objective.machine, ["timestamp", "state"]].sort_values(
                                 "timestamp"), on="timestamp")
        watched = mine[mine.state.isin(objective.shows_in)]
        day = watched.timestamp.dt.day_of_week.map(dict(enumerate(kit.DAYS)))
        bands[objective.key] = watched.groupby(day)["true_value"].quantile([0.01, 0.99]).unstack()
    return bands


def band_of(recording: int, objective: Objective, rule) -> tuple[float, float]:
    """Normal operation on the days `rule` watches: the lowest 1st and highest 99th percentile of those days."""
    band = normal_bands(recording)[objective.key]
    days = [day for day in days_of(rule) if day in band.index]
    expect(bool(days), "rule {rule.name!r} watches {objective.pair} only on days without production", rule=rule,
           objective=objective)
    return float(band.loc[days, 0.01].min()), float(band.loc[days, 0.99].max())


@VERDICTS.cell("lab3_alerts_thresholds_test")
def thresholds(evidence: Evidence, variant: Variant) -> None:
    """For each objective, rules on its sensor and side, covering the working week in regimes that do not overlap,
    each threshold between the variant's normal operation on the days it watches and the brief's limit, a clear
    threshold giving some hysteresis, a pending period and the fault's states."""
    rules = read_rules(evidence["rules"])
    for objective in OBJECTIVES:
        for rule in rules_for(rules, objective):
            scenario = objective.scenarios[0]
            if objective.direction == "above":
                expect(rule.direction == objective.direction, "rule {rule.name!r} ({objective.pair}): the fault of "
                       "{scenario} raises the value: the rule's direction is wrong", rule=rule, objective=objective,
                       scenario=scenario)
            else:
                expect(rule.direction == objective.direction, "rule {rule.name!r} ({objective.pair}): the fault of "
                       "{scenario} lowers the value: the rule's direction is wrong", rule=rule, objective=objective,
                       scenario=scenario)
            low, high = band_of(recordings_seed(variant.seed), objective, rule)
            days = ", ".join(rule.days)
            if objective.direction == "above":
                if rule.days:
                    expect(rule.threshold > high,
                           "rule {rule.name!r} ({objective.pair}): threshold {rule.threshold:g} lies within normal "
                           "operation of your plant on {days} over last week (a healthy machine reaches it on some "
                           "day): derive it from the whole history of the days it watches, or give each operating "
                           "regime its own rule", rule=rule, objective=objective, days=days)
                else:
                    expect(rule.threshold > high,
                           "rule {rule.name!r} ({objective.pair}): threshold {rule.threshold:g} lies within normal "
                           "operation of your plant over last week (a healthy machine reaches it on some day): derive "
                           "it from the whole history of the days it watches, or give each operating regime its own "
                           "rule", rule=rule, objective=objective)
                expect(rule.threshold <= objective.limit,
                       "rule {rule.name!r} ({objective.pair}): threshold {rule.threshold:g} is beyond the brief's "
                       "limit {objective.limit:g} ({source})", rule=rule, objective=objective,
                       source=objective.limit_source)
                expect(high < rule.clear_threshold < rule.threshold,
                       "rule {rule.name!r} ({objective.pair}): clear threshold {rule.clear_threshold:g} must be below "
                       "the threshold (hysteresis) and above normal operation", rule=rule, objective=objective)
            else:
                if rule.days:
                    expect(rule.threshold < low,
                           "rule {rule.name!r} ({objective.pair}): threshold {rule.threshold:g} lies within normal "
                           "operation of your plant on {days} over last week (a healthy machine reaches it on some "
                           "day): lower it", rule=rule, objective=objective, days=days)
                else:
                    expect(rule.threshold < low,
                           "rule {rule.name!r} ({objective.pair}): threshold {rule.threshold:g} lies within normal "
                           "operation of your plant over last week (a healthy machine reaches it on some day): lower "
                           "it", rule=rule, objective=objective)
                expect(rule.threshold >= objective.limit,
                       "rule {rule.name!r} ({objective.pair}): threshold {rule.threshold:g} is beyond the brief's "
                       "limit {objective.limit:g} ({source})", rule=rule, objective=objective,
                       source=objective.limit_source)
                expect(rule.threshold < rule.clear_threshold < low,
                       "rule {rule.name!r} ({objective.pair}): clear threshold {rule.clear_threshold:g} must be above "
                       "the threshold (hysteresis) and below normal operation", rule=rule, objective=objective)
            expect(2 <= rule.pending_s <= objective.min_lead_min * 60 / 2,
                   "rule {rule.name!r} ({objective.pair}): pending_s {rule.pending_s:g} s: at least 2 s (one sample "
                   "is a spike, not a fault) and at most half of the brief's {objective.min_lead_min:g} min lead time",
                   rule=rule, objective=objective)
            expect(set(objective.shows_in) <= set(rule.states),
                   "rule {rule.name!r} ({objective.pair}): states {states} must include {objective.shows_in}: the "
                   "fault shows in those", rule=rule, objective=objective, states=tuple(rule.states))


# --- the engine on the grader's synthetic streams ---------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    name: str
    machine: str
    sensor: str
    direction: str
    threshold: float
    clear_threshold: float
    pending_s: float
    severity: str
    states: tuple = ("running",)
    days: tuple = ()
    channels: tuple = ("light",)
    recipients: tuple = ()


class ReferenceEngine:
    """The brief's alert engine: pending period, hysteresis, state and day gating, acknowledgement (ISA-18.2)."""

    def __init__(self, rules):
        self.rules = {rule.name: rule for rule in rules}
        self.history = []
        self._since = dict.fromkeys(self.rules)
        self._active = dict.fromkeys(self.rules, False)
        self._acknowledged = dict.fromkeys(self.rules, False)

    def update(self, timestamp, machine, sensor, value, state):
        events = []
        for rule in self.rules.values():
            if (rule.machine, rule.sensor) != (machine, sensor) or state not in rule.states:
                continue
            if rule.days and kit.DAYS[timestamp.weekday()] not in rule.days:
                continue
            name = rule.name
            if self._active[name]:
                holds = value < rule.clear_threshold if rule.direction == "above" else value > rule.clear_threshold
            else:
                holds = value > rule.threshold if rule.direction == "above" else value < rule.threshold
            if not holds:
                self._since[name] = None
                continue
            if self._since[name] is None:
                self._since[name] = timestamp
            if (timestamp - self._since[name]).total_seconds() >= rule.pending_s:
                self._active[name] = not self._active[name]
                self._acknowledged[name] = False
                self._since[name] = None
                events.append(self._record(rule, "firing" if self._active[name] else "cleared", timestamp, value))
        return events

    def acknowledge(self, rule_name, operator, timestamp):
        if not self._active.get(rule_name) or self._acknowledged[rule_name]:
            return False
        self._acknowledged[rule_name] = True
        self._record(self.rules[rule_name], "acknowledged", timestamp, None, operator)
        return True

    def _record(self, rule, event, timestamp, value, operator=None):
        row = {"timestamp": timestamp, "rule": rule.name, "machine": rule.machine, "sensor": rule.sensor,
               "severity": rule.severity, "event": event, "value": value, "operator": operator}
        self.history.append(row)
        return row


def _engine_phase_failed(label: str, kinds: list) -> NoReturn:
    """Fail at the grader's stream checkpoint `label`, where the learner's engine did not record the reference
    engine's events: what the brief asks of an engine there, and the learner's history at that point (`kinds`).
    One literal template per checkpoint, so that the feedback can be translated (locale/README.md)."""
    match label:
        case "spike":
            raise VerdictFailed("a one-sample spike (or a reading of another sensor) raised an alarm: an alarm fires "
                                "only once the condition has held for pending_s (your engine's history at that "
                                "point: {kinds})", kinds=kinds)
        case "interrupted":
            raise VerdictFailed("a condition interrupted by a reading back inside the threshold before pending_s had "
                                "passed raised an alarm: an interrupted condition starts its pending period again "
                                "(your engine's history at that point: {kinds})", kinds=kinds)
        case "fire":
            raise VerdictFailed("a value held beyond the threshold must fire once, pending_s after it first crossed "
                                "(±1 s), with an event naming the rule, machine, sensor and severity and carrying "
                                "the value that fired (your engine's history at that point: {kinds})", kinds=kinds)
        case "hold":
            raise VerdictFailed("between the clear threshold and the threshold an active alarm stays active "
                                "(hysteresis), and readings in states outside rule.states are ignored (your "
                                "engine's history at that point: {kinds})", kinds=kinds)
        case "ack":
            raise VerdictFailed("acknowledging an active alarm adds one 'acknowledged' event naming the operator; a "
                                "second acknowledgement records nothing (your engine's history at that point: "
                                "{kinds})", kinds=kinds)
        case "clear":
            raise VerdictFailed("a value held past the clear threshold must clear the alarm once, pending_s after it "
                                "crossed (±1 s) (your engine's history at that point: {kinds})", kinds=kinds)
        case "ack_cleared":
            raise VerdictFailed("acknowledging a cleared alarm records nothing (your engine's history at that point: "
                                "{kinds})", kinds=kinds)
        case "below":
            raise VerdictFailed("a 'below' rule must fire once when the value stays under its threshold for "
                                "pending_s (your engine's history at that point: {kinds})", kinds=kinds)
        case "other_day":
            raise VerdictFailed("a rule with days ignores the readings stamped on other weekdays (UTC): it fired on "
                                "a day it does not watch (your engine's history at that point: {kinds})",
                                kinds=kinds)
        case "its_day":
            raise VerdictFailed("a rule with days must fire on a day it watches, pending_s after the value crossed "
                                "(±1 s) (your engine's history at that point: {kinds})", kinds=kinds)
    raise KeyError(f"no feedback for the engine checkpoint {label!r}")


def _same_event(mine, reference) -> bool:
    if not isinstance(mine, dict):
        return False
    keys = ("event", "rule", "machine", "sensor", "severity")
    if any(mine.get(key) != reference[key] for key in keys):
        return False
    if not plaindata.is_finite_number(mine.get("t")) or abs(mine["t"] - reference["t"]) > 1.0 + 1e-6:
        return False
    if reference["event"] == "acknowledged":
        return mine.get("operator") == reference["operator"]
    return plaindata.is_finite_number(mine.get("value")) and math.isclose(mine["value"], reference["value"],
                                                                         rel_tol=1e-9, abs_tol=1e-9)


@VERDICTS.cell("lab3_alerts_engine_test")
def engine(evidence: Evidence, variant: Variant) -> None:
    """The learner's engine, run in the kernel on the grader's synthetic 1 Hz streams, records the same
    events as the reference engine at every checkpoint (timestamps within 1 s), and its acknowledgements
    return what the brief says."""
    runs = evidence["runs"]
    cases = grader_inputs(variant)["engine_cases"]
    expect(isinstance(runs, list) and len(runs) == len(cases), "the engine probe did not run every stream")
    for case, run in zip(cases, runs, strict=True):
        expected = kit.run_engine_case(ReferenceEngine, _Rule, case)
        expect(isinstance(run, dict) and isinstance(run.get("events"), list) and isinstance(run.get("marks"), list),
               "the engine probe's result could not be read")
        expect([mark[0] for mark in run["marks"]] == [mark[0] for mark in expected["marks"]],
               "the engine probe stopped before the end of a stream")
        for (label, mine), (_, theirs) in zip(run["marks"], expected["marks"], strict=True):
            events = run["events"][:mine]
            same = len(events) == theirs and all(
                _same_event(event, reference) for event, reference in zip(events, expected["events"], strict=False))
            kinds = [event.get("event") if isinstance(event, dict) else "?" for event in events]
            if not same:
                _engine_phase_failed(label, kinds)
        expect(run.get("acks") == expected["acks"],
               "acknowledge returned {acks}: True for an active, unacknowledged alarm, else False (a second "
               "acknowledgement, a cleared alarm)", acks=run.get("acks"))


# --- replays of the recorded scenarios --------------------------------------------------------------------

def _visible(states: pd.DataFrame, objective: Objective, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether the machine is, at some moment of [start, end), in a state where the fault shows."""
    mine = states[states.machine == objective.machine].sort_values("timestamp", kind="stable")
    before = mine[mine.timestamp <= start]
    if len(before) and before.state.iloc[-1] in objective.shows_in:
        return True
    return bool((mine[(mine.timestamp > start) & (mine.timestamp < end)].state.isin(objective.shows_in)).any())


@functools.lru_cache(maxsize=64)
def fault_window(scenario: str, recording: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the scenario's fault: its repair stop starts at its end."""
    fault = truth_tables(scenario, recording, kit.SHIFT_HOURS, tables=("faults",),
                         plant=kit.PLANT)["faults"].iloc[0]
    return pd.Timestamp(fault.start), pd.Timestamp(fault.end)


@functools.lru_cache(maxsize=64)
def moved_sensors(scenario: str, recording: int) -> frozenset[tuple[str, str]]:
    """The (machine, sensor) pairs the scenario's fault moves (its ground truth): an alarm on one of them during
    the fault is not a false alarm, even when the brief does not ask that sensor to catch that fault."""
    faults = truth_tables(scenario, recording, kit.SHIFT_HOURS, tables=("faults",),
                          plant=kit.PLANT)["faults"]
    return frozenset((row.machine, sensor) for row in faults.itertuples() for sensor in str(row.sensors).split(",")
                     if sensor)


def detectable_lead_min(scenario: str, recording: int, objective: Objective) -> float:
    """Minutes between the first alarm a sound rule would raise on the scenario's fault and the repair stop (0 when
    it raises none): a rule for the whole working week with its threshold halfway between normal operation (on
    the day it is highest) and the brief's limit, the model answer's pending period (REFERENCE_PENDING_S), in the
    states where the fault shows, run on the sensor's noise-free value. A stop resets its pending period, as an
    engine's does: after a breakdown during a cooling failure the spindle restarts cold."""
    start, end = fault_window(scenario, recording)
    truth = truth_tables(scenario, recording, kit.SHIFT_HOURS, tables=("readings_truth",),
                         plant=kit.PLANT)["readings_truth"]
    mine = truth[(truth.machine == objective.machine) & (truth.sensor == objective.sensor)].sort_values("timestamp")
    states = _states(scenario, recording)
    mine = pd.merge_asof(mine, states.loc[states.machine == objective.machine, ["timestamp", "state"]].sort_values(
        "timestamp"), on="timestamp")
    window = mine[(mine.timestamp >= start) & (mine.timestamp < end)]
    band = normal_bands(recording)[objective.key]
    edge = float(band[0.99].max() if objective.direction == "above" else band[0.01].min())
    midway = edge + 0.5 * (objective.limit - edge)
    beyond = ((window.true_value > midway) if objective.direction == "above" else (window.true_value < midway)) & (
        window.state.isin(objective.shows_in))
    pending_s, since = REFERENCE_PENDING_S[objective.key], None
    for moment, held in zip(window.timestamp, beyond, strict=True):
        since = (since or moment) if held else None
        if since is not None and (moment - since).total_seconds() >= pending_s:
            return (end - moment).total_seconds() / 60
    return 0.0


def read_alarms(alarms) -> pd.DataFrame:
    expect(isinstance(alarms, pd.DataFrame), "the replayed alarms could not be read as a table")
    missing = {"scenario", "timestamp", "rule", "event"} - set(alarms.columns)
    expect(not missing, "the replayed alarms lack the columns scenario, timestamp, rule and event")
    replayed = set(alarms.scenario)
    known = {kit.THIS_WEEK, *kit.SCENARIOS}  # named: Babel's extractor splits a message call at such commas
    expect(replayed <= known, "the replayed alarms name unknown scenarios {replayed}",
           replayed=replayed)
    alarms = alarms.assign(timestamp=pd.to_datetime(alarms.timestamp, utc=True))
    return alarms


def _firings(alarms: pd.DataFrame, scenario: str, rules) -> pd.Series:
    names = {rule.name for rule in rules}
    chosen = alarms[(alarms.scenario == scenario) & alarms.rule.isin(names) & (alarms.event == "firing")]
    return chosen.timestamp.sort_values()


def repair_start(scenario: str, recording: int, machine: str) -> pd.Timestamp | None:
    """When the MES recorded the fault's repair stop (`downtime_started` with the fault's kind as its reason), as
    the learner sees it in the scenario's events."""
    events = observed_tables(scenario, recording, kit.SHIFT_HOURS, tables=("events",),
                             plant=kit.PLANT)["events"]
    stops = events[(events.kind == "downtime_started") & (events.machine == machine)
                   & ~events.reason.isin(["breakdown", "maintenance"])]
    return pd.Timestamp(stops.timestamp.min()) if len(stops) else None


@VERDICTS.cell("lab3_alerts_detection_test")
def detection(evidence: Evidence, variant: Variant) -> None:
    """Replaying the variant's fault scenarios, each fault fires its objective's rules during the fault, at least
    the brief's lead time before the repair stop that ends it (fault windows from the variant's truth)."""
    rules = read_rules(evidence["rules"])
    alarms = read_alarms(evidence["alarms"])
    recording = recordings_seed(variant.seed)
    for objective in OBJECTIVES:
        mine = rules_for(rules, objective)
        for scenario in objective.scenarios:
            start, end = fault_window(scenario, recording)
            if not _visible(_states(scenario, recording), objective, start, end):
                continue  # the machine never ran under the fault: nothing to detect
            fired = _firings(alarms, scenario, mine)
            in_window = fired[(fired >= start) & (fired < end)]
            expect(len(in_window) > 0, "{scenario}: the rules of {objective.pair} never fired during the fault: a "
                                       "threshold too far from the normal level of that day, or a pending period "
                                       "too long", scenario=scenario, objective=objective)
            lead_min = (end - in_window.min()).total_seconds() / 60
            expect(lead_min >= objective.min_lead_min,
                   "{scenario}: the first alarm of {objective.pair} came {lead_min:.0f} min before the repair stop, "
                   "the brief asks for at least {objective.min_lead_min:g} min: bring the threshold closer to the "
                   "normal level of the days it watches, or shorten the pending period", scenario=scenario,
                   objective=objective, lead_min=lead_min)


@VERDICTS.cell("lab3_alerts_quiet_test")
def quiet(evidence: Evidence, variant: Variant) -> None:
    """At most the brief's false alarms per week and objective in the week of normal operation, none during the
    network outage or on a sensor the fault does not move, no chattering, and no rule so deaf that it never fires
    during its own fault (which would be trivially quiet)."""
    rules = read_rules(evidence["rules"])
    alarms = read_alarms(evidence["alarms"])
    recording = recordings_seed(variant.seed)
    for objective in OBJECTIVES:
        mine = rules_for(rules, objective)
        week = _firings(alarms, kit.THIS_WEEK, mine)
        expect(len(week) <= MAX_FALSE_ALARMS_PER_WEEK,
               "this week (normal operation): the rules of {objective.pair} fired {count} times, the brief "
               "allows {allowed} false alarm per week: a threshold too close to the normal level "
               "of some day (a regime), a pending period shorter than the transients, or states where the machine "
               "stops", objective=objective, count=len(week), allowed=MAX_FALSE_ALARMS_PER_WEEK)
        for scenario in (*QUIET_SCENARIOS, *FAULT_SCENARIOS):
            fired = _firings(alarms, scenario, mine)
            outside = fired
            if scenario in FAULT_SCENARIOS and (objective.machine, objective.sensor) in moved_sensors(scenario,
                                                                                                        recording):
                start, end = fault_window(scenario, recording)
                outside = fired[(fired < start) | (fired >= end)]
                during = len(fired) - len(outside)
                visible = _visible(_states(scenario, recording), objective, start, end)
                expect(during >= 1 or not visible or scenario not in objective.scenarios,
                       "{scenario}: the rules of {objective.pair} never fired during their fault: a rule that never "
                       "fires is quiet but useless", scenario=scenario, objective=objective)
                expect(during <= MAX_FIRINGS_PER_FAULT,
                       "{scenario}: the rules of {objective.pair} fired {during} times during one fault (at most "
                       "{most}): they chatter; widen the hysteresis or lengthen the pending period",
                       scenario=scenario, objective=objective, during=during, most=MAX_FIRINGS_PER_FAULT)
            expect(outside.empty, "{scenario}: the rules of {objective.pair} fired {count} time(s) with no "
                                  "fault on their sensor: a false alarm; move the threshold away from normal "
                                  "operation, lengthen the pending period, or check the rules' states",
                   scenario=scenario, objective=objective, count=len(outside))


@VERDICTS.cell("lab3_alerts_measures_test")
def measures(evidence: Evidence, variant: Variant) -> None:
    """The learner's performance measures are those of its own replays: per watched sensor, the firings of its
    rules in the week of normal operation (false alarms per week); per fault scenario, the minutes between the
    first firing of the rules of the objectives that must catch it and the repair stop the MES recorded (none if
    no firing came first)."""
    rules = read_rules(evidence["rules"])
    alarms = read_alarms(evidence["alarms"])
    measured = evidence["measures"]
    expect(isinstance(measured, dict) and isinstance(measured.get("false_alarms_per_week"), dict)
           and isinstance(measured.get("lead_time_min"), dict), "the measures could not be read")
    false_alarms, leads = measured["false_alarms_per_week"], measured["lead_time_min"]
    for objective in OBJECTIVES:
        expect(objective.pair in false_alarms, "FALSE_ALARMS_PER_WEEK has no entry for {objective.pair}",
               objective=objective)
        count = len(_firings(alarms, kit.THIS_WEEK, rules_for(rules, objective)))
        expect(plaindata.is_finite_number(false_alarms[objective.pair])
               and math.isclose(false_alarms[objective.pair], count),
               "FALSE_ALARMS_PER_WEEK[{objective.pair!r}] is not the number of times its rules fired in this week's "
               "replay (one week of normal operation: every firing is a false alarm)", objective=objective)
    for scenario in FAULT_SCENARIOS:
        expect(scenario in leads, "LEAD_TIME_MIN has no entry for {scenario}", scenario=scenario)
        catching = [objective for objective in OBJECTIVES if scenario in objective.scenarios]
        mine = [rule for objective in catching for rule in rules_for(rules, objective)]
        repair = repair_start(scenario, recordings_seed(variant.seed), catching[0].machine)
        fired = _firings(alarms, scenario, mine)
        before = fired[fired < repair] if repair is not None else fired.iloc[:0]
        # the sensors named apart, "a and b", so that "and" is the template's word (translated), not a value's
        pairs = [objective.pair for objective in catching]
        others, last = " and ".join(pairs[:-1]), pairs[-1]
        if before.empty:
            if others:
                expect(leads[scenario] is None, "LEAD_TIME_MIN[{scenario!r}]: no alarm of {others} and {last} came "
                       "before the repair stop in that replay: there is no lead time (None)", scenario=scenario,
                       others=others, last=last)
            else:
                expect(leads[scenario] is None, "LEAD_TIME_MIN[{scenario!r}]: no alarm of {last} came before the "
                       "repair stop in that replay: there is no lead time (None)", scenario=scenario, last=last)
            continue
        want = (repair - before.min()).total_seconds() / 60
        right = plaindata.is_finite_number(leads[scenario]) and abs(leads[scenario] - want) <= LEAD_TOLERANCE_MIN
        if others:
            expect(right, "LEAD_TIME_MIN[{scenario!r}] is not the minutes between the first alarm of {others} and "
                   "{last} and the start of the repair stop (the MES's downtime_started whose reason is the fault's)",
                   scenario=scenario, others=others, last=last)
        else:
            expect(right, "LEAD_TIME_MIN[{scenario!r}] is not the minutes between the first alarm of {last} and the "
                   "start of the repair stop (the MES's downtime_started whose reason is the fault's)",
                   scenario=scenario, last=last)


# --- channels ---------------------------------------------------------------------------------------------

@VERDICTS.cell("lab3_alerts_routing_test")
def routing(evidence: Evidence, variant: Variant) -> None:
    """Severities, channels and recipients follow the brief's routing table and its mail rule, for every rule."""
    rules = read_rules(evidence["rules"])
    for objective in OBJECTIVES:
        for rule in rules_for(rules, objective):
            expect(rule.severity == objective.severity,
                   "rule {rule.name!r}: severity {rule.severity!r} is not the brief's for the objective "
                   "{objective.key!r} (see the brief's severity definitions)", rule=rule, objective=objective)
            expected = SEVERITY_CHANNELS[rule.severity]
            expect(set(rule.channels) == set(expected),
                   "rule {rule.name!r}: a {rule.severity} alarm goes to the channels {expected}, got {got}",
                   rule=rule, expected=expected, got=tuple(rule.channels))
            strangers = [address for address in rule.recipients if not address.endswith("@" + MAIL_DOMAIN)]
            expect(not strangers, "rule {rule.name!r}: the mail relay only delivers to @{domain}, not {strangers}",
                   rule=rule, domain=MAIL_DOMAIN, strangers=strangers)
            if "email" in expected:
                expect(objective.recipient in rule.recipients,
                       "rule {rule.name!r}: the brief's recipient for this alarm is missing from {recipients}",
                       rule=rule, recipients=tuple(rule.recipients))


def _addresses(header: str) -> set[str]:
    return {address.strip().lower() for address in str(header).split(",") if address.strip()}


@VERDICTS.cell("lab3_alerts_email_test")
def email(evidence: Evidence, variant: Variant) -> None:
    """The grader's alarm, sent by the learner's function to a local SMTP server in the kernel, arrives as one
    e-mail from the line's sender to the rule's recipients, naming rule, severity and event in its subject and
    machine and sensor in its body."""
    case = grader_inputs(variant)["channel_case"]
    rule = case["rule"]
    messages = evidence["messages"]
    expect(isinstance(messages, list), "the e-mail probe's result could not be read")
    expect(len(messages) > 0, "no e-mail reached the SMTP server at 127.0.0.1 within 5 s: connect with "
                              "smtplib.SMTP(host, port) and send_message")
    expect(len(messages) == 1, "one alarm event must send one e-mail, not {count}", count=len(messages))
    message = messages[0]
    expect(isinstance(message, dict) and all(isinstance(message.get(k), str)
                                             for k in ("from", "to", "subject", "body")),
           "the e-mail probe's result could not be read")
    expect(_addresses(message["to"]) == {r.lower() for r in rule["recipients"]},
           "the e-mail must go to the rule's recipients (rule.recipients), its To: says {to!r}", to=message["to"])
    expect(_addresses(message["from"]) == {SENDER}, "the e-mail must come from {sender}", sender=SENDER)
    subject = message["subject"].lower()
    for word in (rule["name"].lower(), rule["severity"], case["event"]):
        expect(word in subject, "the e-mail's subject must name the rule, the severity and the event; "
                                "{word!r} is missing from {subject!r}", word=word, subject=message["subject"])
    for word in (rule["machine"], rule["sensor"]):
        expect(word in message["body"], "the e-mail's body must name the machine and the sensor; {word!r} is missing",
               word=word)


@VERDICTS.cell("lab3_alerts_mqtt_test")
def mqtt(evidence: Evidence, variant: Variant) -> None:
    """The grader's alarm, published by the learner's function, reaches a subscriber once as a JSON object
    naming its rule, severity, event and value, with the event's time in ISO 8601."""
    case = grader_inputs(variant)["channel_case"]
    rule = case["rule"]
    payloads = evidence["payloads"]
    expect(isinstance(payloads, list) and all(isinstance(p, str) for p in payloads),
           "the MQTT probe's result could not be read")
    expect(len(payloads) > 0, "no message reached the alarm topic within 5 s: publish with "
                              "client.publish(topic, payload, qos=1)")
    expect(len(payloads) == 1, "one alarm event must publish one message, not {count}", count=len(payloads))
    try:
        payload = json.loads(payloads[0])
    except ValueError:
        raise VerdictFailed("the alarm message must be JSON, got {got!r}", got=payloads[0][:80]) from None
    expect(isinstance(payload, dict), "the alarm message must be a JSON object")
    for field in ("rule", "severity", "event", "value", "timestamp"):
        expect(field in payload, "the alarm message must carry {field!r}; it has {fields}", field=field,
               fields=sorted(payload))
    expect((payload["rule"], payload["severity"], payload["event"]) == (rule["name"], rule["severity"], case["event"]),
           "the message names the wrong alarm: rule, severity and event must be the event's")
    expect(plaindata.is_finite_number(payload["value"]) and math.isclose(payload["value"], case["value"],
                                                                         rel_tol=1e-9, abs_tol=1e-9),
           "the message's value must be the event's value, as a number")
    try:
        same_time = pd.Timestamp(payload["timestamp"]) == pd.Timestamp(case["timestamp"])
    except (ValueError, TypeError):
        same_time = False
    expect(same_time, "timestamp must be the event's time in ISO 8601 (UTC), got {got!r}",
           got=str(payload["timestamp"])[:40])


# --- the dashboard's alarm panel --------------------------------------------------------------------------

def panel_state(rules: dict, history) -> tuple[str | None, bool]:
    """(worst active severity or None, whether the horn sounds) after `history` [(rule, event), ...]."""
    active, acknowledged = set(), set()
    for name, event in history:
        if event == "firing":
            active.add(name)
            acknowledged.discard(name)
        elif event == "cleared":
            active.discard(name)
            acknowledged.discard(name)
        elif event == "acknowledged":
            acknowledged.add(name)
    worst = max((rules[name]["severity"] for name in active), key=SEVERITY_RANK.get, default=None)
    return worst, any("sound" in rules[name]["channels"] for name in active - acknowledged)


@VERDICTS.cell("lab3_alerts_panel_test")
def panel(evidence: Evidence, variant: Variant) -> None:
    """The learner's panel, built for the grader's rules and refreshed with the grader's histories, shows every
    rule with its threshold and clear threshold; its light shows the worst active severity's colour and no other
    one; its horn sounds (autoplay) exactly while an active, unacknowledged alarm has the sound channel."""
    case = grader_inputs(variant)["panel_case"]
    result = evidence["panel"]
    expect(isinstance(result, dict) and isinstance(result.get("thresholds"), str)
           and isinstance(result.get("shown"), list) and len(result["shown"]) == len(case["histories"]),
           "the panel probe's result could not be read")
    table = result["thresholds"]
    for rule in case["rules"]:
        expect(rule["name"] in table and f"{rule['threshold']:g}" in table and f"{rule['clear_threshold']:g}" in table,
               "the panel's threshold table must show each rule (here {name!r}) with its threshold and "
               "clear threshold, formatted with :g", name=rule["name"])
    rules = {rule["name"]: rule for rule in case["rules"]}
    for history, shown in zip(case["histories"], result["shown"], strict=True):
        worst, sounding = panel_state(rules, history)
        # an empty history is named by the templates ("no event", translated), not by a value
        events = ", ".join(f"{rules[name]['severity']} {event}" for name, event in history)
        light = str(shown.get("light", "")).lower()
        others = [colour for key, colour in kit.LIGHT_COLOURS.items() if key != worst and colour.lower() in light]
        right_light = kit.LIGHT_COLOURS[worst].lower() in light and not others
        if history:
            expect(right_light, "after [{events}] the light must show LIGHT_COLOURS[{worst!r}] and no other colour of "
                   "LIGHT_COLOURS", events=events, worst=worst)
        else:
            expect(right_light, "after [no event] the light must show LIGHT_COLOURS[{worst!r}] and no other colour of "
                   "LIGHT_COLOURS", worst=worst)
        if sounding:  # an active alarm: the history is not empty
            expect(bool(shown.get("sound")) and bool(shown.get("autoplay")),
                   "after [{events}] an unacknowledged alarm with the sound channel must sound the horn "
                   "(sound.value = horn_wav(), autoplay)", events=events)
        elif history:
            expect(not shown.get("sound"), "after [{events}] the horn must be silent (sound.value = b''): no "
                                           "active, unacknowledged alarm has the sound channel", events=events)
        else:
            expect(not shown.get("sound"), "after [no event] the horn must be silent (sound.value = b''): no "
                                           "active, unacknowledged alarm has the sound channel")
