"""Verdicts of lab_architecture: the digital production architecture of the virtual plant (RNCP bloc 2), judged
on the grader's side.

Most cells judge the learner's functions on inputs chosen for the learner's graded variant
(labkit/lab_architecture.py `variant_inputs`): sizing cases, other lines' topologies, task graphs, FMEA tables,
accounts and the line whose topics the access probes use, samples of messages. The references here (sizing,
critical path, ranking, payload contract, duplicates, completeness) are the brief's rules written once.

Two cells need real systems. The access protocol is tried on a real Mosquitto that this process starts (TLS only,
certificates made for the trial) with the learner's password and ACL files as text, checked first to hold only
Mosquitto's own directives (`labkit.lab_architecture.run_access_trial`): nothing the kernel wrote is executed here.
The recovery drill and the acceptance bench run in the kernel on the public practice plant, whose MES records
are no secret: their archives are judged against that plant's run (`mes_events`), and the acceptance database's
schema is rebuilt in the sandboxed SQLite of autograde/sqlite_sandbox.py.
"""

import itertools
import json
import math
import operator
import re
from collections import deque
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from paho.mqtt.client import topic_matches_sub

from autograde.sqlite_sandbox import SQLiteSandboxError, run_sql
from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect, phrase
from labkit import lab_architecture as kit
from labkit import plaindata
from simulators.plantfile import load_plant
from simulators.records import EVENT_KINDS, STATES
from simulators.sensors import sensor_metadata

VERDICTS = LabVerdicts("lab_architecture")
RELATIVE = 1e-6  # how far a learner's computed figure may sit from the reference (rounding, summation order)
CAPACITY_CEILING = 2.0  # a specified capacity may exceed the sized need (headroom included) at most this much
EVENT_KEY = ["timestamp", "kind", "machine", "part_id"]
COMPARATORS = {"<=": operator.le, ">=": operator.ge}


@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """Every input of the hidden test cells, drawn for the variant's seed."""
    for name, value in kit.variant_inputs(variant.seed).items():
        plaindata.write(Path(folder) / "inputs", name, value)


def _inputs(variant: Variant) -> dict:
    return kit.variant_inputs(variant.seed)


def _close(value, reference: float, relative: float = RELATIVE) -> bool:
    return plaindata.is_finite_number(value) and math.isclose(value, reference, rel_tol=relative, abs_tol=1e-9)


def _frame(value, name: str, columns) -> pd.DataFrame:
    """`value`, a DataFrame with `columns`; `name` is the artefact's name (code) or words marked phrase(...)."""
    expect(isinstance(value, pd.DataFrame), "{name}: a DataFrame with columns {columns}", name=name,
           columns=", ".join(columns))
    missing = [column for column in columns if column not in value.columns]
    expect(not missing, "{name}: missing column(s) {missing}", name=name, missing=missing)
    return value


# --- A2.1: needs and sizing -----------------------------------------------------------------------------------------

def _wrong_figure(index: int, lines, name: str) -> VerdictFailed:
    """The failure of a wrong figure of case `index`, saying what the figure counts: one literal template per figure,
    so that the whole sentence is translated (locale/README.md)."""
    failures = {
        "readings_per_s": VerdictFailed(
            "case {index} ({lines} line(s)): readings_per_s is wrong: every sensor of every line at its own period "
            "(1 / period_s)", index=index, lines=lines),
        "mes_messages_per_hour": VerdictFailed(
            "case {index} ({lines} line(s)): mes_messages_per_hour is wrong: the export's MES events and state "
            "changes per observed hour, for every line", index=index, lines=lines),
        "peak_messages_per_s": VerdictFailed(
            "case {index} ({lines} line(s)): peak_messages_per_s is wrong: readings, MES messages and status messages "
            "per second", index=index, lines=lines),
        "bandwidth_kbit_s": VerdictFailed(
            "case {index} ({lines} line(s)): bandwidth_kbit_s is wrong: each kind of message at its size on the wire, "
            "in kbit/s (1 kbit = 1000 bits), with the headroom", index=index, lines=lines),
        "storage_gb_per_year": VerdictFailed(
            "case {index} ({lines} line(s)): storage_gb_per_year is wrong: a year of raw readings (sensors stream day "
            "and night), of aggregates and of MES records (working hours only), in GB (10^9 bytes)",
            index=index, lines=lines),
        "storage_gb": VerdictFailed(
            "case {index} ({lines} line(s)): storage_gb is wrong: raw readings for their retention, aggregates and "
            "MES records for theirs, with the headroom", index=index, lines=lines),
    }
    return failures[name]


def reference_sizing(sensors: pd.DataFrame, events: pd.DataFrame, states: pd.DataFrame, policy: dict) -> dict:
    """The brief's sizing rules (see the notebook's Part 1)."""
    lines = policy["lines"]
    readings_per_s = lines * float((1.0 / sensors["period_s"].astype(float)).sum())
    mes_per_hour = lines * (len(events) + len(states)) / policy["observed_hours"]
    mes_per_s = mes_per_hour / 3600.0
    status_per_s = lines / policy["status_period_s"]
    wire, rows = policy["message_bytes"], policy["row_bytes"]
    year_s = 365 * 86400.0
    raw_year = readings_per_s * year_s * rows["reading"]
    aggregates_year = lines * len(sensors) * year_s / policy["aggregate_period_s"] * rows["aggregate"]
    mes_year = mes_per_hour * policy["working_hours_per_year"] * rows["mes"]
    return {
        "readings_per_s": readings_per_s,
        "mes_messages_per_hour": mes_per_hour,
        "peak_messages_per_s": readings_per_s + mes_per_s + status_per_s,
        "bandwidth_kbit_s": policy["headroom"] * 8.0 * (readings_per_s * wire["reading"] + mes_per_s * wire["mes"]
                                                        + status_per_s * wire["status"]) / 1000.0,
        "storage_gb_per_year": (raw_year + aggregates_year + mes_year) / 1e9,
        "storage_gb": policy["headroom"] * (readings_per_s * policy["raw_retention_days"] * 86400.0 * rows["reading"]
                                            + aggregates_year * policy["aggregate_retention_years"]
                                            + mes_year * policy["mes_retention_years"]) / 1e9,
    }


def case_sizing(variant: Variant, index: int) -> dict:
    inputs = _inputs(variant)
    return reference_sizing(*(inputs[f"sizing{index}_{part}"] for part in ("sensors", "events", "states", "policy")))


@VERDICTS.cell("architecture_sizing_test")
def sizing(evidence: Evidence, variant: Variant) -> None:
    """The learner's sizing of the grader's three cases equals the brief's rules."""
    answers = evidence["sizing"]
    expect(isinstance(answers, list) and len(answers) == 3, "sizing: one result per case of kit.sizing_cases()")
    for index, answer in enumerate(answers):
        expect(isinstance(answer, dict), "case {index}: size_needs must return a dict", index=index)
        policy = _inputs(variant)[f"sizing{index}_policy"]
        for name, reference in case_sizing(variant, index).items():
            expect(name in answer, "case {index}: no {name!r} in the result of size_needs", index=index, name=name)
            if not _close(answer[name], reference):
                raise _wrong_figure(index, policy["lines"], name)


# --- the inventory and its schema -----------------------------------------------------------------------------------

# Which component kind publishes each topic family to the broker, and which kinds must receive it (the brief).
ROUTES = {
    "readings": ("iiot_gateway", ("historian", "twin", "dashboard")),
    "metadata": ("iiot_gateway", ("historian",)),
    "states": ("iiot_gateway", ("historian", "mes", "twin", "dashboard")),
    "events": ("iiot_gateway", ("historian", "mes", "twin")),
    "setpoints": ("iiot_gateway", ("historian",)),
    "status": ("iiot_gateway", ("dashboard",)),
    "commands": ("scada", ("iiot_gateway",)),
    "replies": ("iiot_gateway", ("scada",)),
    "twin": ("twin", ("dashboard",)),
}
COMMAND_READERS = ("iiot_gateway", "scada")


def plant_topology() -> dict:
    """The real plant's line: its topic prefix and each machine's sensors."""
    metadata = sensor_metadata(load_plant())
    machines: dict[str, list] = {}
    for meta in metadata:
        machines.setdefault(meta["machine"], []).append(meta["sensor"])
    prefix = metadata[0]["topic"].rsplit("/", 2)[0]
    return {"prefix": prefix, "machines": {machine: sorted(sensors) for machine, sensors in machines.items()}}


def _topics(topology: dict) -> dict[str, list[str]]:
    """Every concrete topic of each family on this line."""
    prefix = topology["prefix"]
    line_path = prefix.split("/", 1)[1]
    topics = {family: [] for family in kit.TOPIC_FAMILIES}
    for machine, sensors in topology["machines"].items():
        for sensor in sensors:
            for family in ("readings", "metadata"):
                topics[family].append(kit.TOPIC_FAMILIES[family].format(prefix=prefix, machine=machine, sensor=sensor,
                                                                        line_path=line_path))
        topics["states"].append(f"{prefix}/{machine}/_state")
        topics["maintenance"].append(f"maintenance/{line_path}/{machine}")
    for family in ("events", "setpoints", "status", "commands", "replies", "twin"):
        topics[family].append(kit.TOPIC_FAMILIES[family].format(prefix=prefix, line_path=line_path, machine="",
                                                                sensor=""))
    return topics


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def inventory_problems(inventory, topology: dict) -> list[VerdictFailed]:
    """What the inventory lacks, for the line `topology` ({"prefix", "machines"}), against the brief: one failure per
    problem, each a literal template, so that every sentence is translated whole (locale/README.md)."""
    if not isinstance(inventory, dict) or not isinstance(inventory.get("components"), list) \
            or not isinstance(inventory.get("flows"), list):
        return [VerdictFailed("an inventory is a dict with a list of 'components' and a list of 'flows'")]
    components, problems = {}, []
    for number, component in enumerate(inventory["components"]):
        if not isinstance(component, dict) or not _text(component.get("id")):
            return [VerdictFailed("component {number}: a dict with an 'id'", number=number)]
        name = component["id"]
        if name in components:
            problems.append(VerdictFailed("component {name!r} is listed twice", name=name))
        components[name] = component
        if component.get("kind") not in kit.COMPONENT_KINDS:
            problems.append(VerdictFailed("component {name!r}: kind must be one of {kinds}", name=name,
                                          kinds=", ".join(kit.COMPONENT_KINDS)))
        level = component.get("level")
        if not (isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 4):
            problems.append(VerdictFailed("component {name!r}: level must be its ISA-95 level, 0 to 4", name=name))
        if not _text(component.get("hardware")):
            problems.append(VerdictFailed("component {name!r}: say what hardware it needs ('hardware')", name=name))
        if not _text(component.get("software")):
            problems.append(VerdictFailed("component {name!r}: say what software it needs ('software')", name=name))
    kinds = {kind: [c for c in components.values() if c.get("kind") == kind] for kind in kit.COMPONENT_KINDS}
    missing = [kind for kind in kit.REQUIRED_KINDS if not kinds[kind]]
    if missing:
        problems.append(VerdictFailed("no component of kind {missing}: the brief's architecture has each",
                                      missing=missing))
    plcs = {c.get("machine"): c for c in kinds["plc"]}
    for machine, sensors in topology["machines"].items():
        plc = plcs.get(machine)
        if plc is None:
            problems.append(VerdictFailed("no PLC for machine {machine!r}: one plc component per machine, with its "
                                          "'machine' and 'points'", machine=machine))
        elif sorted(plc.get("points") or []) != sorted(sensors):
            problems.append(VerdictFailed("the PLC of {machine!r} does not list exactly the machine's sensors in "
                                          "'points'", machine=machine))
    unknown_machines = sorted(set(plcs) - set(topology["machines"]), key=str)
    if unknown_machines:
        problems.append(VerdictFailed("PLCs of machines the line does not have: {machines}",
                                      machines=unknown_machines))
    flows = []
    for number, flow in enumerate(inventory["flows"]):
        if not isinstance(flow, dict) or flow.get("source") not in components or flow.get("target") not in components:
            problems.append(VerdictFailed("flow {number}: 'source' and 'target' must be ids of components",
                                          number=number))
            continue
        if flow.get("protocol") not in kit.PROTOCOLS:
            problems.append(VerdictFailed("flow {source} -> {target}: protocol must be one of {protocols}",
                                          source=flow["source"], target=flow["target"],
                                          protocols=", ".join(kit.PROTOCOLS)))
            continue
        filters = flow.get("topics", [])
        if flow["protocol"] == "mqtt" and not (isinstance(filters, list) and filters
                                               and all(isinstance(f, str) and f for f in filters)):
            problems.append(VerdictFailed("flow {source} -> {target}: an MQTT flow lists its topic filters in "
                                          "'topics'", source=flow["source"], target=flow["target"]))
            continue
        flows.append(flow)
    if problems:
        return problems
    kind_of = {name: component["kind"] for name, component in components.items()}

    def linked(source_kind, target_kind, protocol, source=None, target=None) -> bool:
        return any(kind_of[f["source"]] == source_kind and kind_of[f["target"]] == target_kind
                   and f["protocol"] == protocol and source in (None, f["source"]) and target in (None, f["target"])
                   for f in flows)

    for source_kind, target_kind, protocol in kit.REQUIRED_INTERFACES:
        if "plc" in (source_kind, target_kind):
            for plc in kinds["plc"]:
                ends = {"source": plc["id"]} if source_kind == "plc" else {"target": plc["id"]}
                if not linked(source_kind, target_kind, protocol, **ends):
                    problems.append(VerdictFailed("no {protocol} flow {source_kind} -> {target_kind} for {plc!r} "
                                                  "(the brief's interfaces)", protocol=protocol,
                                                  source_kind=source_kind, target_kind=target_kind, plc=plc["id"]))
        elif not linked(source_kind, target_kind, protocol):
            problems.append(VerdictFailed("no {protocol} flow from a {source_kind} to a {target_kind} (the brief's "
                                          "interfaces)", protocol=protocol, source_kind=source_kind,
                                          target_kind=target_kind))

    def carried(topic, source_kind, target_kind) -> bool:
        return any(kind_of[f["source"]] == source_kind and kind_of[f["target"]] == target_kind
                   and f["protocol"] == "mqtt" and any(_matches(sub, topic) for sub in f["topics"]) for f in flows)

    topics = _topics(topology)
    for family, (publisher, readers) in ROUTES.items():
        for topic in topics[family]:
            if not carried(topic, publisher, "broker"):
                problems.append(VerdictFailed("{topic} ({family}): no MQTT flow from the {publisher} to the broker "
                                              "carries it", topic=topic, family=family, publisher=publisher))
                break
            lacking = [reader for reader in readers if not carried(topic, "broker", reader)]
            if lacking:
                problems.append(VerdictFailed("{topic} ({family}): no MQTT flow from the broker to the {reader} "
                                              "carries it", topic=topic, family=family, reader=lacking[0]))
                break
    for topic in topics["commands"]:
        for flow in flows:
            if flow["protocol"] == "mqtt" and any(_matches(sub, topic) for sub in flow["topics"]):
                if kind_of[flow["source"]] == "broker":
                    if kind_of[flow["target"]] not in COMMAND_READERS:
                        problems.append(VerdictFailed("{topic}: commands reach {target!r}; only the gateway (and the "
                                                      "SCADA) may receive them", topic=topic, target=flow["target"]))
                elif kind_of[flow["source"]] != "scada":
                    problems.append(VerdictFailed("{topic}: {source!r} publishes commands; only the SCADA does",
                                                  topic=topic, source=flow["source"]))
    return problems


def _joined(failures: list[VerdictFailed]) -> VerdictFailed:
    """Several failures as one value, "; " between them. Each stays a failure of its own, so that the feedback
    translates every one (a text joined here would stay English in every language)."""
    joined = failures[-1]
    for failure in reversed(failures[:-1]):
        joined = VerdictFailed("{failure}; {more}", failure=failure, more=joined)
    return joined


def _matches(subscription: str, topic: str) -> bool:
    try:
        return topic_matches_sub(subscription, topic)
    except (ValueError, TypeError):
        return False


def _inventories(evidence: Evidence, variant: Variant) -> list[tuple[dict, dict]]:
    """(inventory, topology) for the real plant and the grader's two other lines."""
    plant, others = evidence["plant_inventory"], evidence["grader_inventories"]
    expect(isinstance(others, list) and len(others) == 2, "one inventory per line of kit.grader_topologies()")
    return [(plant, plant_topology()), *zip(others, _inputs(variant)["topologies"], strict=True)]


@VERDICTS.cell("architecture_inventory_test")
def inventory(evidence: Evidence, variant: Variant) -> None:
    """The inventory of the plant and of the grader's two lines list every system, PLC and sensor, the brief's
    interfaces, and flows that carry each topic from its publisher to its readers."""
    for inventory_, topology in _inventories(evidence, variant):
        problems = inventory_problems(inventory_, topology)
        if problems:
            raise VerdictFailed("inventory of {prefix}: {problems}", prefix=topology["prefix"],
                                problems=_joined(problems[:3]))


EDGE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*-->\s*\|([^|]*)\|\s*([A-Za-z0-9_]+)")


@VERDICTS.cell("architecture_schema_test")
def schema(evidence: Evidence, variant: Variant) -> None:
    """Each diagram (Mermaid flowchart) shows every component of its inventory and every flow, labelled with its
    protocol."""
    diagrams = evidence["diagrams"]
    pairs = _inventories(evidence, variant)
    expect(isinstance(diagrams, list) and len(diagrams) == len(pairs), "one diagram per inventory")
    for text, (inventory_, topology) in zip(diagrams, pairs, strict=True):
        prefix = topology["prefix"]
        expect(isinstance(text, str) and re.match(r"\s*(flowchart|graph)\b", text) is not None,
               "diagram of {prefix}: Mermaid text starting with 'flowchart'", prefix=prefix)
        expect(not inventory_problems(inventory_, topology), "diagram of {prefix}: its inventory is incomplete (see "
                                                             "the inventory's cell)", prefix=prefix)
        tokens = set(re.findall(r"[A-Za-z0-9_]+", text))
        absent = [c["id"] for c in inventory_["components"] if c["id"] not in tokens]
        expect(not absent, "diagram of {prefix}: components not drawn: {absent}", prefix=prefix, absent=absent[:4])
        edges = {(m.group(1), m.group(3)): m.group(2).lower() for line in text.splitlines()
                 if (m := EDGE.match(line))}
        for flow in inventory_["flows"]:
            label = edges.get((flow["source"], flow["target"]))
            expect(label is not None, "diagram of {prefix}: no edge {source} -->|...| {target}", prefix=prefix,
                   source=flow["source"], target=flow["target"])
            expect(flow["protocol"] in label, "diagram of {prefix}: the edge {source} --> {target} does not name its "
                   "protocol ({protocol})", prefix=prefix, source=flow["source"], target=flow["target"],
                   protocol=flow["protocol"])


@VERDICTS.cell("architecture_specification_test")
def specification(evidence: Evidence, variant: Variant) -> None:
    """Every component of the plant's inventory is specified (characteristics, environment), and the broker, the
    historian and the gateway's link are specified at the sized need, with the headroom and within the budget."""
    plan = _frame(evidence["specification"], phrase("specification"),
                  ("component", "characteristics", "environment", "capacity", "unit"))
    plant_inventory = evidence["plant_inventory"]
    expect(not inventory_problems(plant_inventory, plant_topology()), "the plant's inventory is incomplete (see "
                                                                       "the inventory's cell)")
    rows = {row["component"]: row for _, row in plan.iterrows()}
    for component in plant_inventory["components"]:
        row = rows.get(component["id"])
        expect(row is not None, "specification: no row for {component!r}: specify every component",
               component=component["id"])
        for column in ("characteristics", "environment"):
            expect(_text(row[column]), "specification of {component!r}: empty {column}", component=component["id"],
                   column=column)
    sized = case_sizing(variant, 0)
    headroom = _inputs(variant)["sizing0_policy"]["headroom"]
    needs = {"broker": (sized["peak_messages_per_s"] * headroom, "msg/s"),
             "historian": (sized["storage_gb"], "GB"),
             "iiot_gateway": (sized["bandwidth_kbit_s"], "kbit/s")}
    kind_of = {c["id"]: c["kind"] for c in plant_inventory["components"]}
    for kind, (need, unit) in needs.items():
        specified = [row for name, row in rows.items() if kind_of.get(name) == kind and plaindata.is_finite_number(
            row["capacity"])]
        expect(specified, "specification: the {kind}'s capacity ({unit}) is not given", kind=kind, unit=unit)
        for row in specified:
            expect(row["unit"] == unit, "specification of {component!r}: capacity in {unit}",
                   component=row["component"], unit=unit)
            if not need * (1 - 1e-6) <= row["capacity"] <= CAPACITY_CEILING * need:
                raise _capacity_failed(kind, row["component"])


def _capacity_failed(kind: str, component: str) -> VerdictFailed:
    """A capacity off the sized need of its kind, naming that need: one literal template per kind, so that the whole
    sentence is translated (locale/README.md)."""
    failures = {
        "broker": VerdictFailed(
            "specification of {component!r}: its capacity must cover the peak message rate sized in Part 1, headroom "
            "included, and stay within {ceiling:g} times it (the budget)", component=component,
            ceiling=CAPACITY_CEILING),
        "historian": VerdictFailed(
            "specification of {component!r}: its capacity must cover the storage under the retention policy sized in "
            "Part 1, headroom included, and stay within {ceiling:g} times it (the budget)", component=component,
            ceiling=CAPACITY_CEILING),
        "iiot_gateway": VerdictFailed(
            "specification of {component!r}: its capacity must cover the bandwidth sized in Part 1, headroom "
            "included, and stay within {ceiling:g} times it (the budget)", component=component,
            ceiling=CAPACITY_CEILING),
    }
    return failures[kind]


# --- A2.2: the deployment plan --------------------------------------------------------------------------------------


def reference_schedule(tasks: list[dict]) -> tuple[float, dict[str, float], dict[str, float]]:
    """(project duration, earliest start and slack of each task) by the critical path method."""
    by_name = {task["task"]: task for task in tasks}
    indegree = {name: len(set(task["depends_on"])) for name, task in by_name.items()}
    followers: dict[str, list[str]] = {name: [] for name in by_name}
    for name, task in by_name.items():
        for before in set(task["depends_on"]):
            followers[before].append(name)
    order, ready = [], deque(sorted(name for name, count in indegree.items() if count == 0))
    while ready:
        name = ready.popleft()
        order.append(name)
        for after in followers[name]:
            indegree[after] -= 1
            if indegree[after] == 0:
                ready.append(after)
    if len(order) != len(by_name):
        raise ValueError("the dependencies form a cycle")
    finish = {}
    for name in order:
        start = max((finish[before] for before in by_name[name]["depends_on"]), default=0.0)
        finish[name] = start + float(by_name[name]["duration_days"])
    duration = max(finish.values(), default=0.0)
    late_finish = {}
    for name in reversed(order):
        late_finish[name] = min((late_finish[after] - float(by_name[after]["duration_days"])
                                 for after in followers[name]), default=duration)
    starts = {name: finish[name] - float(by_name[name]["duration_days"]) for name in order}
    return duration, starts, {name: late_finish[name] - finish[name] for name in order}


def _check_path(path, tasks: list[dict], duration: float, slack: dict, index: int) -> None:
    """The critical path the learner gave for graph `index` follows the dependencies through tasks without slack."""
    by_name = {task["task"]: task for task in tasks}
    expect(isinstance(path, list) and path and all(name in by_name for name in path),
           "graph {index}: critical_path must list task names, first to last", index=index)
    expect(not by_name[path[0]]["depends_on"], "graph {index}: a critical path starts with a task that depends on "
           "nothing", index=index)
    for before, after in itertools.pairwise(path):
        expect(before in by_name[after]["depends_on"], "graph {index}: {after} does not depend on {before}: a path "
               "follows the dependencies", index=index, after=after, before=before)
    expect(not any(abs(slack[name]) > 1e-6 for name in path), "graph {index}: a critical path holds only tasks "
           "without slack", index=index)
    expect(math.isclose(sum(by_name[name]["duration_days"] for name in path), duration, abs_tol=1e-6),
           "graph {index}: the critical path's durations must add up to the project's duration", index=index)


@VERDICTS.cell("architecture_critical_path_test")
def critical_path(evidence: Evidence, variant: Variant) -> None:
    """On the grader's task graphs: the project duration, each task's slack and a critical path by the CPM."""
    answers = evidence["schedules"]
    graphs = _inputs(variant)["task_graphs"]
    expect(isinstance(answers, list) and len(answers) == len(graphs), "one result per graph of kit.task_graphs()")
    for index, (answer, tasks) in enumerate(zip(answers, graphs, strict=True)):
        fields = {"duration_days", "early_start_days", "slack_days", "critical_path"}
        expect(isinstance(answer, dict) and fields <= set(answer),
               "graph {index}: critical_path must return {fields}", index=index, fields=", ".join(sorted(fields)))
        duration, starts, slack = reference_schedule(tasks)
        expect(_close(answer["duration_days"], duration), "graph {index}: the project duration is wrong: a task "
                                                          "starts when the last of all its dependencies ends",
               index=index)
        for field, reference in (("early_start_days", starts), ("slack_days", slack)):
            given = answer[field]
            expect(isinstance(given, dict) and set(given) == set(reference),
                   "graph {index}: {field} gives a value for each task, by its name", index=index, field=field)
            wrong = [name for name in reference if not (plaindata.is_finite_number(given[name])
                                                        and abs(given[name] - reference[name]) <= 1e-6)]
            expect(not wrong or field != "early_start_days", "graph {index}: early_start_days of {tasks} is wrong "
                   "(the latest earliest finish of all its dependencies)", index=index, tasks=sorted(wrong)[:3])
            expect(not wrong or field != "slack_days", "graph {index}: slack_days of {tasks} is wrong (latest finish "
                   "- earliest finish, the latest finish from the tasks that depend on it)", index=index,
                   tasks=sorted(wrong)[:3])
        _check_path(answer["critical_path"], tasks, duration, slack, index)


def _ancestors(tasks: dict, name: str) -> set:
    seen, pending = set(), list(tasks[name]["depends_on"])
    while pending:
        before = pending.pop()
        if before not in seen:
            seen.add(before)
            pending.extend(tasks[before]["depends_on"])
    return seen


@VERDICTS.cell("architecture_deployment_test")
def deployment(evidence: Evidence, variant: Variant) -> None:
    """The plan covers every component, ends with acceptance, training and go-live in that logic, meets the
    deadline by the grader's own CPM, and states that duration."""
    plan, plant_inventory = evidence["plan"], evidence["plant_inventory"]
    expect(isinstance(plan, list) and plan and all(isinstance(task, dict) for task in plan),
           "the plan is a list of tasks (dicts)")
    for task in plan:
        expect(_text(task.get("task")) and plaindata.is_finite_number(task.get("duration_days"))
               and task["duration_days"] > 0 and isinstance(task.get("depends_on"), list)
               and isinstance(task.get("components", []), list),
               "task {name!r}: task, duration_days > 0, depends_on (list) and components (list)",
               name=task.get("task"))
    tasks = {task["task"]: task for task in plan}
    expect(len(tasks) == len(plan), "the plan names a task twice")
    unknown = sorted({d for task in plan for d in task["depends_on"] if d not in tasks})
    expect(not unknown, "the plan depends on tasks it does not have: {unknown}", unknown=unknown[:3])
    try:
        duration, _, _ = reference_schedule(plan)
    except ValueError:
        raise VerdictFailed("the plan's dependencies form a cycle") from None
    expect(isinstance(plant_inventory, dict) and isinstance(plant_inventory.get("components"), list),
           "the plant's inventory was not recorded: run the cell unchanged")
    covered = {name for task in plan for name in task.get("components", [])}
    uncovered = [c["id"] for c in plant_inventory["components"] if c.get("id") not in covered]
    expect(not uncovered, "no task deploys {uncovered}: name each component in a task's 'components'",
           uncovered=uncovered[:4])
    for milestone in kit.MILESTONES:
        expect(milestone in tasks, "the plan has no {milestone!r} task", milestone=milestone)
    deploying = {task["task"] for task in plan if task.get("components")}
    before_acceptance = _ancestors(tasks, "acceptance")
    expect(deploying <= before_acceptance, "acceptance comes after every deployment task; not after {tasks}",
           tasks=sorted(deploying - before_acceptance)[:3])
    # no {…} literal inside expect(…): Babel takes its comma for one between arguments and extracts "training"
    before_go_live = _ancestors(tasks, "go_live")
    expect("acceptance" in before_go_live and "training" in before_go_live, "go_live comes after acceptance and "
           "training")
    expect(duration <= kit.DEADLINE_DAYS, "the plan takes longer than the {deadline:g} working days the plant "
           "manager allows: shorten the critical path (parallel work)", deadline=kit.DEADLINE_DAYS)
    expect(_close(evidence["duration_days"], duration), "the plan's stated duration is not its critical path's")


# --- A2.3: security, continuity, recovery ---------------------------------------------------------------------------


def _access_failure(row) -> VerdictFailed:
    """The failure of one access check (kit.access_probes) whose outcome goes against the brief's matrix: one literal
    template per action and outcome, so that each sentence is translated whole (locale/README.md). Publishing and
    receiving name their topic; logging in has none."""
    role, username, topic = row["role"], row["username"], row["topic"]
    failures = {
        ("publish", True): VerdictFailed("{role} {username!r} cannot publish on {topic}: the brief allows it",
                                         role=role, username=username, topic=topic),
        ("publish", False): VerdictFailed("{role} {username!r} can publish on {topic}: the brief forbids it",
                                          role=role, username=username, topic=topic),
        ("read", True): VerdictFailed("{role} {username!r} cannot receive {topic}: the brief allows it", role=role,
                                      username=username, topic=topic),
        ("read", False): VerdictFailed("{role} {username!r} can receive {topic}: the brief forbids it", role=role,
                                       username=username, topic=topic),
        ("login", True): VerdictFailed("{role} {username!r} cannot log in: the brief allows it", role=role,
                                       username=username),
        ("login", False): VerdictFailed("{role} {username!r} can log in: the brief forbids it", role=role,
                                        username=username),
        ("wrong_password", True): VerdictFailed("{role} {username!r} cannot log in with a wrong password: the brief "
                                                "allows it", role=role, username=username),
        ("wrong_password", False): VerdictFailed("{role} {username!r} can log in with a wrong password: the brief "
                                                 "forbids it", role=role, username=username),
    }
    return failures[row["action"], bool(row["expected"])]


@VERDICTS.cell("architecture_security_test")
def security(evidence: Evidence, variant: Variant) -> None:
    """The learner's password and ACL files for the grader's accounts, on a real Mosquitto with TLS: every
    account logs in (and not with a wrong password), and may publish and receive exactly what the matrix says."""
    passwords, acl = evidence["password_file"], evidence["acl_file"]
    expect(isinstance(passwords, str) and isinstance(acl, str), "password_file and acl_file return text")
    accounts = _inputs(variant)["security_accounts"]
    probes = kit.access_probes(accounts, _inputs(variant)["security_line"])
    try:
        results = kit.run_access_trial(passwords, acl, accounts, probes)
    except kit.TrialUnavailable as error:
        raise VerdictFailed("the grader's machine could not run the broker trial ({error}): tell your trainer, who "
                            "grades it again once it can", error=error) from None
    except kit.AccessTrialError as error:
        raise VerdictFailed("the broker trial could not use your files: {error}", error=error) from None
    wrong = results[results["expected"] != results["allowed"]]
    if not wrong.empty:
        # listed outside the raise: Babel reads a `_` inside the call as a gettext call and would drop the message
        failures = [_access_failure(row) for _, row in wrong.head(4).iterrows()]
        raise VerdictFailed("{count} of {total} access checks fail: {failures}", count=len(wrong),
                            total=len(results), failures=_joined(failures))


CONTINUITY_KINDS = tuple(kit.MAX_OUTAGE_H)


@VERDICTS.cell("architecture_continuity_test")
def continuity(evidence: Evidence, variant: Variant) -> None:
    """Every component the line's production depends on has a degraded mode, a detection, an owner among the
    brief's actors and a maximum outage within the production manager's."""
    table = _frame(evidence["continuity"], phrase("continuity"),
                   ("component", "failure", "degraded_mode", "detection", "owner", "max_outage_h"))
    plant_inventory = evidence["plant_inventory"]
    expect(isinstance(plant_inventory, dict) and isinstance(plant_inventory.get("components"), list),
           "the plant's inventory was not recorded: run the cell unchanged")
    kind_of = {c.get("id"): c.get("kind") for c in plant_inventory["components"]}
    for component, kind in kind_of.items():
        if kind not in CONTINUITY_KINDS:
            continue
        rows = table[table["component"] == component]
        expect(not rows.empty, "continuity: no row for {component!r} ({kind}): the line depends on it",
               component=component, kind=kind)
        for _, row in rows.iterrows():
            for column in ("failure", "degraded_mode", "detection"):
                expect(_text(row[column]), "continuity of {component!r}: empty {column}", component=component,
                       column=column)
            expect(row["owner"] in kit.ACTORS, "continuity of {component!r}: the owner must be one of the brief's "
                                               "actors ({actors})", component=component, actors=", ".join(kit.ACTORS))
            expect(plaindata.is_finite_number(row["max_outage_h"])
                   and 0 < row["max_outage_h"] <= kit.MAX_OUTAGE_H[kind],
                   "continuity of {component!r}: its degraded mode must hold within the {limit:g} h the production "
                   "manager tolerates for a {kind}", component=component, limit=kit.MAX_OUTAGE_H[kind], kind=kind)


def _keys(frame: pd.DataFrame) -> pd.Series:
    part = pd.to_numeric(frame["part_id"], errors="coerce").astype("Float64").round().astype("Int64")
    return (frame["timestamp"].astype(str) + "|" + frame["kind"].astype(str) + "|"
            + frame["machine"].astype(object).where(frame["machine"].notna(), "").astype(str) + "|"
            + part.astype(str).replace("<NA>", ""))


def _archive(value, name: str) -> pd.DataFrame:
    frame = _frame(value, name, [*EVENT_KEY, "t_s"])
    expect(not frame.empty, "{name}: the archive is empty", name=name)
    return frame


@lru_cache(maxsize=8)
def _export(seed: int, until_s: float) -> pd.DataFrame:
    """The MES export of the live plant of `seed` up to `until_s`: what the kernel's plant really sent."""
    return kit.mes_events(seed, until_s)


def _truth(seed: int, until_s: float) -> pd.DataFrame:
    truth = _export(seed, until_s)
    return truth.assign(key=_keys(truth)).set_index("key")


def _is_seed(seed) -> bool:
    return isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32


@VERDICTS.cell("architecture_recovery_drill_test")
def recovery_drill(evidence: Evidence, variant: Variant) -> None:
    """The restored archive is a consistent copy (every event up to its newest one), the data lost stays within
    the RPO and collection restarts within the RTO, and the learner's measures are those the archives show."""
    seed = evidence["live_seed"]
    expect(_is_seed(seed), "the live plant's seed was not recorded: run the cell unchanged")
    disaster_s, until_s = evidence["disaster_t_s"], evidence["until_s"]
    planned = _inputs(variant)["drill"]["disaster_at_s"]
    expect(plaindata.is_finite_number(disaster_s) and planned <= disaster_s <= planned + 600.0,
           "the disaster must strike when kit.drill_plan() says: run the drill's cell unchanged")
    expect(plaindata.is_finite_number(until_s) and disaster_s < until_s <= disaster_s + 4 * kit.RESUME_FOR_S,
           "until_s is the plant time at the end of the drill")
    restored, final = _archive(evidence["restored"], "restored"), _archive(evidence["final"], "final")
    truth = _truth(seed, float(until_s) + 10.0)
    restored_keys, final_keys = _keys(restored), _keys(final)
    expect(restored_keys.is_unique, "the restored archive holds an event twice")
    expect(restored_keys.isin(truth.index).all(), "the restored archive holds events the plant never sent")
    expect(final_keys.is_unique, "the final archive holds an event twice")
    expect(final_keys.isin(truth.index).all(), "the final archive holds events the plant never sent")
    restore_point = float(truth.loc[restored_keys, "t_s"].max())
    expect(restore_point <= disaster_s, "the restored archive holds events after the disaster: it is not a backup")
    before = truth.index[truth["t_s"] <= restore_point]
    expect(before.isin(restored_keys).all(), "the restored archive misses events older than its newest one: the "
                                             "backup was not a consistent copy (use sqlite3's backup API)")
    expect(restored_keys.isin(final_keys).all(), "the final archive lost events the restored one held")
    new = final_keys[~final_keys.isin(restored_keys)]
    expect(not new.empty, "nothing was collected after the recovery: restart the collection")
    resumed_from = float(truth.loc[new, "t_s"].min())
    newest = float(truth.loc[final_keys, "t_s"].max())
    after = truth.index[(truth["t_s"] >= resumed_from) & (truth["t_s"] <= newest)]
    expect(after.isin(final_keys).all(), "events are missing after the collection restarted")
    lost = int((~truth.index[truth["t_s"] <= newest].isin(final_keys)).sum())
    report = evidence["report"]
    expect(isinstance(report, dict), "recovery_report returns a dict")
    measured = {"restore_point_s": restore_point, "rpo_s": disaster_s - restore_point,
                "resumed_from_s": resumed_from, "rto_s": resumed_from - disaster_s, "lost_events": lost}
    # what each measure is, in the message of a wrong one: one literal text each, translated whole
    wrong = {"restore_point_s": VerdictFailed("recovery_report: restore_point_s is not what the archives show (the "
                                              "newest event of the restored archive, plant seconds)"),
             "rpo_s": VerdictFailed("recovery_report: rpo_s is not what the archives show (from the restored "
                                    "archive's newest event to the disaster, plant seconds)"),
             "resumed_from_s": VerdictFailed("recovery_report: resumed_from_s is not what the archives show (the first "
                                             "event stored after the recovery, plant seconds)"),
             "rto_s": VerdictFailed("recovery_report: rto_s is not what the archives show (from the disaster to the "
                                    "first event stored after the recovery, plant seconds)"),
             "lost_events": VerdictFailed("recovery_report: lost_events is not what the archives show (how many "
                                          "of the MES export's events, up to the final archive's newest one, it "
                                          "lacks)")}
    for name, value in measured.items():
        if not (name in report and plaindata.is_finite_number(report[name])
                and abs(report[name] - value) <= 1e-3 * max(1.0, abs(value))):
            raise wrong[name]
    expect(measured["rpo_s"] <= kit.RPO_TARGET_S, "the drill lost {lost:.0f} s of records, more than the {target:g} s "
           "RPO: back up more often", lost=measured["rpo_s"], target=kit.RPO_TARGET_S)
    expect(measured["rto_s"] <= kit.RTO_TARGET_S, "collection restarted later than the RTO allows")
    expect(newest >= resumed_from + 60.0, "the drill stopped too soon after the recovery: collect for a while")


# --- A2.4: FMEA and acceptance ---------------------------------------------------------------------------------------


def reference_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """The brief's ranking: RPN = S x O x D, highest first; ties by severity, then occurrence, then table order;
    an action is required from RPN 100 or for a severity of 9 or 10."""
    ranked = table.assign(rpn=table["severity"] * table["occurrence"] * table["detection"],
                          position=np.arange(len(table)))
    ranked = ranked.sort_values(["rpn", "severity", "occurrence", "position"], ascending=[False, False, False, True])
    return ranked.assign(rank=np.arange(1, len(ranked) + 1),
                         action_required=(ranked["rpn"] >= 100) | (ranked["severity"] >= 9)).drop(columns="position")


def _check_ranking(answer, table: pd.DataFrame, index: int | None) -> None:
    """`answer` ranks `table` by the brief's rule: the grader's table `index`, or (None) the architecture's own FMEA.
    Each message is written for both, so that each is translated whole (locale/README.md)."""
    own = index is None
    if not isinstance(answer, pd.DataFrame) or not {"mode", "rpn", "rank", "action_required"} <= set(answer.columns):
        raise (VerdictFailed("the architecture's FMEA: a DataFrame with the table's columns and rpn, rank, "
                             "action_required") if own else
               VerdictFailed("table {index}: a DataFrame with the table's columns and rpn, rank, action_required",
                             index=index))
    reference = reference_ranking(table)
    if sorted(answer["mode"]) != sorted(reference["mode"]):
        raise (VerdictFailed("the architecture's FMEA: the ranking must keep every failure mode once") if own else
               VerdictFailed("table {index}: the ranking must keep every failure mode once", index=index))
    rpn = dict(zip(answer["mode"], answer["rpn"], strict=True))
    if any(rpn[mode] != value for mode, value in zip(reference["mode"], reference["rpn"], strict=True)):
        raise (VerdictFailed("the architecture's FMEA: an RPN is wrong (severity x occurrence x detection)") if own
               else VerdictFailed("table {index}: an RPN is wrong (severity x occurrence x detection)", index=index))
    if list(answer["mode"]) != list(reference["mode"]):
        raise (VerdictFailed("the architecture's FMEA: the rows are not ranked by RPN, highest first, ties broken by "
                             "severity, then occurrence, then the table's order") if own else
               VerdictFailed("table {index}: the rows are not ranked by RPN, highest first, ties broken by severity, "
                             "then occurrence, then the table's order", index=index))
    if list(answer["rank"]) != list(range(1, len(answer) + 1)):
        raise (VerdictFailed("the architecture's FMEA: rank numbers the rows 1, 2, 3... in that order") if own else
               VerdictFailed("table {index}: rank numbers the rows 1, 2, 3... in that order", index=index))
    if list(answer["action_required"].astype(bool)) != list(reference["action_required"]):
        raise (VerdictFailed("the architecture's FMEA: action_required is wrong (RPN 100 and over, or a severity of 9 "
                             "or 10)") if own else
               VerdictFailed("table {index}: action_required is wrong (RPN 100 and over, or a severity of 9 or 10)",
                             index=index))


FMEA_KINDS = ("plc", "scada", "iiot_gateway", "broker", "historian", "mes", "twin", "erp", "dashboard")
FMEA_COLUMNS = ("component", "mode", "effect", "severity", "occurrence", "detection", "action", "owner")


@VERDICTS.cell("architecture_fmea_test")
def fmea(evidence: Evidence, variant: Variant) -> None:
    """The learner's ranking of the grader's FMEA tables follows the brief's rule, and the architecture's own FMEA
    rates failures of every kind of component, ranked the same way, with an action and an owner where required."""
    for index in range(2):
        _check_ranking(evidence[f"ranking{index}"], _inputs(variant)[f"fmea{index}"], index)
    own = evidence["fmea"]  # _frame's checks, with the table named in the text (translated whole)
    expect(isinstance(own, pd.DataFrame), "the architecture's FMEA: a DataFrame with columns {columns}",
           columns=", ".join(FMEA_COLUMNS))
    missing = [column for column in FMEA_COLUMNS if column not in own.columns]
    expect(not missing, "the architecture's FMEA: missing column(s) {missing}", missing=missing)
    for column in ("severity", "occurrence", "detection"):
        values = pd.to_numeric(own[column], errors="coerce")
        expect(values.notna().all() and values.between(1, 10).all() and (values == values.round()).all(),
               "the architecture's FMEA: {column} is a whole number from 1 to 10", column=column)
    expect(own["mode"].is_unique, "the architecture's FMEA: name each failure mode once")
    _check_ranking(own, own, None)  # ranked already: its order breaks no tie
    kind_of = {c.get("id"): c.get("kind") for c in evidence["plant_inventory"].get("components", [])}
    rated = {kind_of.get(component) for component in own["component"]}
    missing = [kind for kind in FMEA_KINDS if kind not in rated]
    expect(not missing, "the architecture's FMEA rates no failure of a component of kind {kind}: every kind of "
                        "component of the inventory fails somehow", kind=missing[0] if missing else "")
    for _, row in own[own["action_required"].astype(bool)].iterrows():
        expect(_text(row["action"]) and row["owner"] in kit.ACTORS,
               "the architecture's FMEA, {mode!r}: an action and an owner among the brief's actors", mode=row["mode"])


TABLE_COLUMNS = {
    "requirements": ("req_id", "category", "statement", "comparator", "threshold", "unit"),
    "test_runs": ("run_id", "req_id", "run_at", "measured", "passed", "evidence"),
    "corrections": ("correction_id", "run_id", "action", "owner", "due", "status"),
}
REFERENCES = {"test_runs": ("req_id", "requirements", "req_id"), "corrections": ("run_id", "test_runs", "run_id")}


def _schema_statements(schema) -> list[str]:
    expect(isinstance(schema, list) and schema and all(isinstance(row, dict) for row in schema),
           "the acceptance database is missing or empty: create it at ACCEPTANCE_DB")
    order = {"table": 0, "index": 1, "view": 2, "trigger": 3}
    rows = sorted((row for row in schema if row.get("type") in order), key=lambda row: order[row["type"]])
    for row in rows:
        expect(isinstance(row.get("sql"), str) and row["sql"].lstrip().upper().startswith("CREATE"),
               "the database's {type} {name!r} has no CREATE statement", type=row.get("type"), name=row.get("name"))
    return [row["sql"] for row in rows]


def _insert(table: str, row: dict) -> tuple[str, list]:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())


GOOD = {"requirements": {"req_id": "T-01", "category": "performance", "statement": "probe", "comparator": "<=",
                         "threshold": 1.0, "unit": "s"},
        "test_runs": {"run_id": 1, "req_id": "T-01", "run_at": "2026-01-05T06:00:00Z", "measured": 0.5, "passed": 1,
                      "evidence": "probe"},
        "corrections": {"correction_id": 1, "run_id": 1, "action": "probe", "owner": "probe", "due": "2026-02-01",
                        "status": "open"}}
BAD = [  # (table, field, value, the failure when the table accepts it: what the constraint must say)
    ("requirements", "req_id", "T-01", VerdictFailed("table requirements accepts a row it should refuse: a requirement "
                                                     "is identified by its req_id (PRIMARY KEY)")),
    ("requirements", "category", "misc", VerdictFailed("table requirements accepts a row it should refuse: category "
                                                       "is performance, robustness or interoperability (CHECK)")),
    ("requirements", "comparator", "~", VerdictFailed("table requirements accepts a row it should refuse: comparator "
                                                      "is '<=' or '>=' (CHECK)")),
    ("requirements", "threshold", None, VerdictFailed("table requirements accepts a row it should refuse: a "
                                                      "requirement has a threshold (NOT NULL)")),
    ("test_runs", "passed", 2, VerdictFailed("table test_runs accepts a row it should refuse: passed is 0 or 1 "
                                             "(CHECK)")),
    ("test_runs", "measured", None, VerdictFailed("table test_runs accepts a row it should refuse: a run has a "
                                                  "measured value (NOT NULL)")),
    ("corrections", "status", "forgotten", VerdictFailed("table corrections accepts a row it should refuse: status is "
                                                         "open, in progress or done (CHECK)")),
    ("corrections", "owner", None, VerdictFailed("table corrections accepts a row it should refuse: a correction has "
                                                 "an owner (NOT NULL)")),
]


@VERDICTS.cell("architecture_acceptance_schema_test")
def acceptance_schema(evidence: Evidence, variant: Variant) -> None:
    """The acceptance database, rebuilt in a sandboxed SQLite from its CREATE statements: its three tables, keys and
    references, and constraints that refuse a result that could not be right."""
    statements = _schema_statements(evidence["schema"])
    probes = [("SELECT name FROM sqlite_master WHERE type = 'table'", [])]
    probes += [(f"SELECT * FROM {table} LIMIT 0", []) for table in TABLE_COLUMNS]
    probes += [_insert(table, row) for table, row in GOOD.items()]
    bad_rows = []
    for number, (table, column, value, _) in enumerate(BAD, start=2):
        key = TABLE_COLUMNS[table][0]  # a key of its own, so that only the bad value can be refused
        row = {**GOOD[table], key: f"T-{number:02d}" if table == "requirements" else number, column: value}
        bad_rows.append(_insert(table, row))
    try:
        answer = run_sql(statements, probes + bad_rows)
    except SQLiteSandboxError as error:
        raise VerdictFailed("the database's schema cannot be rebuilt: {error}; keep to plain tables, indexes and "
                            "constraints", error=error) from None
    for result, sql in zip(answer["schema"], statements, strict=True):
        expect("error" not in result, "the statement {statement!r} cannot be rebuilt ({error})",
               statement=sql.split("(")[0].strip(), error=result.get("message"))
    tables, *rest = answer["statements"]
    names = {row[0] for row in tables.get("rows", [])}
    columns_of = dict(zip(TABLE_COLUMNS, rest[: len(TABLE_COLUMNS)], strict=True))
    for table, columns in TABLE_COLUMNS.items():
        expect(table in names, "the database has no table {table!r}", table=table)
        missing = [column for column in columns if column not in columns_of[table].get("columns", [])]
        expect(not missing, "table {table}: no column(s) {missing}", table=table, missing=missing)
    for (table, _row), result in zip(GOOD.items(), rest[len(TABLE_COLUMNS): len(TABLE_COLUMNS) + len(GOOD)],
                                     strict=True):
        expect("error" not in result, "table {table}: a well-formed row is refused ({error})", table=table,
               error=result.get("message"))
    for (_table, _column, _value, accepted), result in zip(BAD, rest[len(TABLE_COLUMNS) + len(GOOD):], strict=True):
        if result.get("error") != "IntegrityError":
            raise accepted.with_traceback(None)  # a shared instance: no traceback of an earlier grading kept
    declared = {row.get("name"): row.get("sql", "") for row in evidence["schema"] if row.get("type") == "table"}
    for table, (column, parent, key) in REFERENCES.items():
        target = rf"REFERENCES\s+\"?{parent}\"?(\s*\(\s*\"?{key}\"?\s*\))?"
        pattern = rf"\b{column}\b[^,]*\b{target}|FOREIGN\s+KEY\s*\(\s*\"?{column}\"?\s*\)\s*{target}"
        expect(re.search(pattern, declared.get(table, ""), re.IGNORECASE) is not None,
               "table {table}: {column} must be a FOREIGN KEY referencing {parent}({key})", table=table, column=column,
               parent=parent, key=key)


# The acceptance book's measures, recomputed from what the bench observed.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _optional_text(value) -> bool:
    return value is None or isinstance(value, str)


def reference_conforms(topic: str, payload: str) -> bool:
    """The documented payload contract (simulators/topics.py) of a reading, a machine state or an MES event:
    JSON objects with these fields (more may follow)."""
    try:
        data = json.loads(payload)
    except (ValueError, TypeError):
        return False
    if not isinstance(data, dict) or not (isinstance(data.get("timestamp"), str)
                                          and TIMESTAMP.match(data["timestamp"])):
        return False
    last = topic.rsplit("/", 1)[-1]
    if last == "_events":
        part = data.get("part_id")
        return (data.get("kind") in EVENT_KINDS and all(key in data for key in ("machine", "part_id", "product",
                                                                               "reason"))
                and all(_optional_text(data[key]) for key in ("machine", "product", "reason"))
                and (part is None or (isinstance(part, int) and not isinstance(part, bool))))
    if last == "_state":
        return data.get("state") in STATES and "reason" in data and _optional_text(data["reason"])
    value = data.get("value", "absent")
    return ((value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                               and math.isfinite(value)))
            and isinstance(data.get("unit"), str) and data.get("quality") in ("good", "bad"))


def reference_duplicate_share(readings: pd.DataFrame) -> float:
    """The share of readings that repeat an earlier one's topic and timestamp."""
    return float(readings.duplicated(["topic", "timestamp"]).sum() / len(readings)) if len(readings) else 0.0


def reference_completeness(archived: pd.DataFrame, exported: pd.DataFrame) -> float:
    """The share of the export's events (by timestamp, kind, machine, part) that the archive holds."""
    wanted = set(_keys(exported))
    return len(wanted & set(_keys(archived))) / len(wanted) if wanted else 1.0


def _bench_readings(messages: pd.DataFrame) -> pd.DataFrame:
    readings = messages[~messages["topic"].str.rsplit("/", n=1).str[-1].str.startswith("_")]
    stamps = [json.loads(payload).get("timestamp") for payload in readings["payload"]]
    return pd.DataFrame({"topic": readings["topic"].to_numpy(), "timestamp": stamps})


def bench_measures(evidence: Evidence, variant: Variant) -> dict[str, float]:
    """What each requirement of the acceptance book measures on the bench's observations."""
    measures = evidence["bench_measures"]
    expect(isinstance(measures, dict), "the bench's observations were not recorded: run the cell unchanged")
    messages = _frame(evidence["bench_messages"], "bench_messages", ("topic", "payload"))
    archive = _frame(evidence["bench_archive"], "bench_archive", EVENT_KEY)
    start_s, end_s = evidence["bench_window"]
    expect(plaindata.is_finite_number(start_s) and plaindata.is_finite_number(end_s) and 0 <= start_s < end_s
           <= 3 * 3600.0, "the bench's window was not recorded: run the cell unchanged")
    seed = evidence["bench_seed"]
    expect(_is_seed(seed), "the bench's seed was not recorded: run the cell unchanged")
    export = _export(seed, float(end_s))
    export = export[export["t_s"] >= start_s]
    replies = {reply.get("id"): reply for reply in evidence["bench_replies"] if isinstance(reply, dict)}
    sent, received = measures["command_sent_s"], measures["reply_received_s"]
    round_trip = received.get("bench-in-range", math.inf) - sent.get("bench-in-range", 0.0)
    refused = replies.get("bench-out-of-range", {}).get("ok") is False
    return {
        "PERF-01": float(np.percentile(measures["latency_ms"], 95)),
        "PERF-02": measures["burst_received"] / measures["burst_s"],
        "ROB-01": float(measures["reconnect_s"]),
        "ROB-02": float(len(archive) - _keys(archive).nunique()),
        "ROB-03": 1.0 if measures["stored_after_malformed"] > 0 else 0.0,
        "ROB-04": 1.0 if refused else 0.0,
        "INT-01": float(np.mean([reference_conforms(t, p) for t, p in zip(messages["topic"], messages["payload"],
                                                                          strict=True)])),
        "INT-02": reference_duplicate_share(_bench_readings(messages)),
        "INT-03": float(round_trip),
        "INT-04": reference_completeness(archive, export),
    }


def _book_problems(evidence: Evidence, variant: Variant, category_prefixes: tuple[str, ...]) -> None:
    """The database holds the book's requirements (PERF-02 at the sized peak), a run of each with the measure the
    bench shows and a verdict that follows the comparator, and a correction for each failed run."""
    requirements = _frame(evidence.artefacts.get("requirements"), phrase("table requirements"),
                          TABLE_COLUMNS["requirements"]).set_index("req_id")
    runs = _frame(evidence.artefacts.get("test_runs"), phrase("table test_runs"), TABLE_COLUMNS["test_runs"])
    corrections = _frame(evidence.artefacts.get("corrections"), phrase("table corrections"),
                         TABLE_COLUMNS["corrections"])
    measures = bench_measures(evidence, variant)
    sized = case_sizing(variant, 0)
    peak = sized["peak_messages_per_s"] * _inputs(variant)["sizing0_policy"]["headroom"]
    for _, book in kit.ACCEPTANCE_BOOK.iterrows():
        req = book["req_id"]
        if not req.startswith(category_prefixes):
            continue
        expect(req in requirements.index, "requirements: no {req} (the acceptance book)", req=req)
        row = requirements.loc[req]
        threshold = peak if req == "PERF-02" else book["threshold"]
        expect(row["category"] == book["category"] and row["comparator"] == book["comparator"],
               "requirements: {req}'s category and comparator are the book's", req=req)
        right = _close(row["threshold"], threshold, 1e-3)
        expect(right or req != "PERF-02", "requirements: PERF-02's threshold is not the book's (the headroom times the "
               "peak message rate sized in Part 1)")
        expect(right, "requirements: {req}'s threshold is not the book's", req=req)
        mine = runs[runs["req_id"] == req]
        expect(not mine.empty, "test_runs: no run of {req}", req=req)
        latest = mine.loc[mine["run_id"].idxmax()]
        expect(_close(latest["measured"], measures[req], 1e-6),
               "test_runs: the measure of {req} is not what the bench observed", req=req)
        passed = COMPARATORS[book["comparator"]](latest["measured"], threshold)
        expect(int(latest["passed"]) == int(passed), "test_runs: {req}'s verdict does not follow its comparator",
               req=req)
        if not passed:
            fixes = corrections[corrections["run_id"] == latest["run_id"]]
            expect(not fixes.empty, "corrections: {req} failed and no correction opens the correction phase",
                   req=req)
            for _, fix in fixes.iterrows():
                expect(_text(fix["action"]) and fix["owner"] in kit.ACTORS
                       and not pd.isna(pd.to_datetime(fix["due"], errors="coerce")),
                       "corrections of {req}: an action, an owner among the brief's actors and a due date", req=req)


@VERDICTS.cell("architecture_acceptance_results_test")
def acceptance_results(evidence: Evidence, variant: Variant) -> None:
    """Performance and robustness: the book's requirements, measured on the bench, judged, corrected."""
    _book_problems(evidence, variant, ("PERF-", "ROB-"))


@VERDICTS.cell("architecture_interoperability_test")
def interoperability(evidence: Evidence, variant: Variant) -> None:
    """The learner's contract, duplicate and completeness measures on the grader's samples, and the book's
    interoperability requirements measured on the bench, judged and corrected."""
    samples = {name: _inputs(variant)[f"interop_{name}"] for name in ("messages", "readings", "exported", "archived")}
    verdicts = evidence["conformance"]
    messages = samples["messages"]
    expect(isinstance(verdicts, list) and len(verdicts) == len(messages),
           "conformance: one True/False per message of kit.interop_samples()['messages']")
    for (_, row), given in zip(messages.iterrows(), verdicts, strict=True):
        expect(given is reference_conforms(row["topic"], row["payload"]),
               "conforms({topic!r}, {payload!r}) is wrong: check the documented fields, their types and the "
               "timestamp's form", topic=row["topic"].rsplit("/", 1)[-1], payload=row["payload"][:70])
    expect(_close(evidence["duplicates"], reference_duplicate_share(samples["readings"])),
           "duplicate_share is wrong: the share of readings whose topic and timestamp came before")
    expect(_close(evidence["completeness"], reference_completeness(samples["archived"], samples["exported"])),
           "completeness is wrong: the share of the export's distinct events found in the archive")
    _book_problems(evidence, variant, ("INT-",))
