"""Verdicts of lab_twin_build: the archive's structure and completeness, the twin's state, its KPIs and its
end-of-shift predictions, judged against the plant's truth on the grader's side.

The truth of a week is the run of the learner's plant, the variant of lab_model_line drawn from the graded
variant's seed (`labkit.lab_model_line.plant_variant(variant.seed)`), with the week's seed
(`simulators.line.simulate`, no sensors) and its KPIs (`simulators.kpis.compute_kpis`); the grader's twin runs
that plant's model. The graded variant's week and the grader's questions derive from the variant's seed
(labkit/lab_twin_build.py says which); the kernel receives the week's observed log, the plant's model and, for
each prediction question, its own week cut at the twin's last synchronisation, never the rest of the shift it
predicts, nor a seed. The live collection runs in the kernel on the public default plant, whose export is no
secret: its archive is judged against that plant's run.
"""

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from autograde.sqlite_sandbox import SQLiteSandboxError, run_sql
from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect, phrase
from labkit import lab_twin_build as kit
from labkit import plaindata
from simulators.distributions import parse_distribution
from simulators.kpis import compute_kpis
from simulators.line import LineRun
from simulators.plantfile import load_plant
from simulators.seeding import stream

VERDICTS = LabVerdicts("lab_twin_build")
LEAD_TIME_TOLERANCE_S = 1.0
OEE_TOLERANCE = 0.03
EVENT_KEY = ("timestamp", "kind", "machine", "part_id")


@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """The week's MES export, the grader's probe moments and shifts, and the prediction questions' cut logs."""
    inputs = Path(folder) / "inputs"
    events, states = kit.week_export(variant.seed)
    plaindata.write(inputs, "week_events", events)
    plaindata.write(inputs, "week_states", states)
    plaindata.write(inputs, "line_model", kit.variant_model(variant.seed))
    plaindata.write(inputs, "twin_state_times", kit.twin_state_times(variant.seed))
    plaindata.write(inputs, "kpi_shifts", kit.kpi_shifts(variant.seed))
    questions = kit.prediction_questions(variant.seed)
    plaindata.write(inputs, "questions", [{"synced_s": q["synced_s"]} for q in questions])  # no week seed
    question_events, question_states = kit.question_logs(variant.seed)
    plaindata.write(inputs, "question_events", question_events)
    plaindata.write(inputs, "question_states", question_states)
    plaindata.write(inputs, "twin_probe", kit.twin_probe(variant.seed))
    plaindata.write(inputs, "sync_intervals", kit.sync_intervals(variant.seed))


# --- the truth ----------------------------------------------------------------------------------------------


def true_twin_state(seed: int, t_s: float) -> dict:
    """The line's state at `t_s` as the twin must mirror it: each station's state, and the parts at each
    station (waiting in its buffer, in process, or finished upstream and waiting to enter it)."""
    run = kit.simulated_run(seed)
    routings = {name: [step.station for step in product.routing] for name, product in run.plant.products.items()}
    states = {}
    for change in run.state_log:
        if change.t_s > t_s:
            break
        states[change.machine] = change.state
    where: dict[int, str] = {}
    for event in run.events:
        if event.t_s > t_s:
            break
        if event.kind == "part_released":
            where[event.part_id] = routings[event.product][0]
        elif event.kind == "part_started":
            where[event.part_id] = event.machine
        elif event.kind == "part_finished":
            steps = routings[event.product]
            index = steps.index(event.machine)
            where[event.part_id] = steps[index + 1] if index + 1 < len(steps) else event.machine
        elif event.kind in ("part_completed", "part_scrapped"):
            where.pop(event.part_id, None)
    wip = dict.fromkeys(run.plant.stations, 0)
    for station in where.values():
        wip[station] += 1
    return {"states": states, "wip": wip}


def true_shift_kpis(seed: int, shift_index: int) -> dict:
    """compute_kpis over one shift of the week: good parts, mean lead time (s), and the OEE at the bottleneck
    twice: by the plant's standard definition (`oee`: its fastest cycles, its own good parts, simulators/kpis.py)
    and by the brief's (`oee_estimated`: the ideal cycle estimated from the log as the brief says, times the
    parts the line completed in the shift, over the shift less the bottleneck's planned stops). Both readings
    are defensible; the brief's is the one the notebook asks for."""
    start_s, end_s = kit.week_shifts()[shift_index]
    run = kit.simulated_run(seed)
    cut = LineRun(run.plant, seed, end_s, [s for s in run.state_log if s.t_s <= end_s],
                  [e for e in run.events if e.t_s <= end_s], run.setpoints)
    kpis = compute_kpis(cut, warmup_s=start_s)
    rated = kpis["oee"]["bottleneck"]
    events = kit.week_export(seed)[0]
    estimated_s = estimated_ideal_cycle_s(events[events["t_s"] <= end_s], rated)
    planned_s = (end_s - start_s) - kpis["stations"][rated]["state_time_s"]["planned_stop"]
    return {"good_parts": kpis["good_parts"], "mean_lead_time_s": kpis["mean_cycle_time_s"],
            "oee": kpis["oee"]["oee"], "oee_estimated": estimated_s * kpis["good_parts"] / planned_s}


def estimated_ideal_cycle_s(events: pd.DataFrame, machine: str) -> float:
    """The brief's estimate of `machine`'s ideal cycle from the log: its mean processing time per part, the
    longest 3 % of durations (those a stop interrupted) left out."""
    at = events[events["machine"] == machine]
    started = at[at["kind"] == "part_started"].set_index("part_id")["t_s"]
    finished = at[at["kind"] == "part_finished"].set_index("part_id")["t_s"]
    durations = (finished - started.reindex(finished.index)).dropna()
    return float(durations[durations < durations.quantile(0.97)].mean())


@lru_cache(maxsize=16)
def question_outputs(seed: int) -> tuple[int, ...]:
    """The true end-of-shift output of each of the grader's questions for `seed` (good parts completed in the
    shift asked about, in the question's own week)."""
    outputs = []
    for question in kit.prediction_questions(seed):
        start_s, end_s = kit.week_shifts()[question["shift"]]
        outputs.append(sum(1 for event in kit.simulated_run(seed, week_seed=question["week_seed"]).events
                           if event.kind == "part_completed" and start_s <= event.t_s < end_s))
    return tuple(outputs)


# --- the grader's twin: the line's model restarted from a synchronised state ----------------------------------


def true_sync_state(seed: int, t_s: float) -> dict:
    """The synchronised state of the week of `seed` at `t_s`, in the form the notebook's `sync_state` returns
    (each station's state and since when, each part in the line with its product, station and status, the
    good parts of the shift so far), read from the plant's own run."""
    run = kit.simulated_run(seed)
    routings = {name: [step.station for step in product.routing] for name, product in run.plant.products.items()}
    stations = {}
    for change in run.state_log:
        if change.t_s > t_s:
            break
        if stations.get(change.machine, {}).get("state") != change.state:
            stations[change.machine] = {"state": change.state, "since_s": change.t_s}
    start_s, _ = kit.shift_window(t_s)
    parts: dict[int, dict] = {}
    done = 0
    for event in run.events:
        if event.t_s > t_s:
            break
        if event.kind == "part_released":
            parts[event.part_id] = {"part_id": event.part_id, "product": event.product,
                                    "station": routings[event.product][0], "status": "queued", "since_s": event.t_s}
        elif event.kind == "part_started":
            parts[event.part_id].update(station=event.machine, status="processing", since_s=event.t_s)
        elif event.kind == "part_finished":
            steps = routings[event.product]
            index = steps.index(event.machine)
            if index + 1 < len(steps):
                parts[event.part_id].update(station=steps[index + 1], status="queued", since_s=event.t_s)
        elif event.kind in ("part_completed", "part_scrapped"):
            parts.pop(event.part_id, None)
            done += event.kind == "part_completed" and event.t_s >= start_s
    return {"t_s": t_s, "done": done, "stations": stations,
            "parts": sorted(parts.values(), key=lambda part: part["since_s"])}


def reference_twin(params: dict, sync: dict, until_s: float, seed: int) -> int:
    """Good parts the line's model completes from sync["t_s"] to `until_s` (working time: the break is cut
    out), restarted from `sync`: parts in their buffers in FIFO order, a part in process finishing a fresh draw
    of its time less what it has already had (up to its station's breakdown if the station is down), a down
    station repaired after a fresh exponential repair time (memoryless), CONWIP releases as parts leave."""
    env = simpy.Environment()
    names = list(params["stations"])
    spec = params["stations"]
    buffers = {name: simpy.Store(env, capacity=spec[name]["buffer"] or math.inf) for name in names}
    laws = {(product, station): parse_distribution(law, f"{product}.{station}")
            for product, steps in params["process_times"].items() for station, law in steps.items()}
    draw = {key: stream(seed, "grader_twin", "process", *key) for key in laws}
    products = list(params["mix"])
    shares = np.array([params["mix"][product] for product in products], dtype=float)
    mix = stream(seed, "grader_twin", "mix")
    routings = params["routings"]
    down: dict[str, simpy.Event] = {}
    busy: dict[str, simpy.Process] = {}
    done = [0]

    def process_time(product, station):
        return laws[product, station].sample(draw[product, station]) / (spec[station].get("speed") or 1.0)

    def release():
        product = products[int(np.searchsorted(np.cumsum(shares) / shares.sum(), mix.random(), side="right"))]
        buffers[routings[product][0]].put({"product": product, "step": 0})

    def work(name, remaining_s):
        while remaining_s > 0:
            if name in down:
                yield down[name]
            busy[name] = env.active_process
            start_s = env.now
            try:
                yield env.timeout(remaining_s)
                remaining_s = 0.0
            except simpy.Interrupt:
                remaining_s -= env.now - start_s
            del busy[name]

    def station(name, current):
        scrap = stream(seed, "grader_twin", "scrap", name)
        while True:
            if current is None:
                part = yield buffers[name].get()
                remaining_s = process_time(part["product"], name)
            else:
                (part, remaining_s), current = current, None
            yield from work(name, remaining_s)
            if scrap.random() < (spec[name]["scrap_rate"] or 0.0):
                release()
                continue
            part["step"] += 1
            if part["step"] == len(routings[part["product"]]):
                done[0] += 1
                release()
            else:
                yield buffers[routings[part["product"]][part["step"]]].put(part)

    def failures(name, repairing):
        rng = stream(seed, "grader_twin", "breakdowns", name)
        while True:
            if not repairing:
                yield env.timeout(rng.exponential(spec[name]["mtbf_hours"] * 3600.0))
                down[name] = env.event()
                if name in busy:
                    busy[name].interrupt()
            repairing = False
            yield env.timeout(rng.exponential(spec[name]["mttr_hours"] * 3600.0))
            down.pop(name).succeed()

    status = sync["stations"]
    current = {}
    for part in sync["parts"]:
        item = {"product": part["product"], "step": routings[part["product"]].index(part["station"])}
        if part["status"] == "processing":
            stopped_s = sync["t_s"]
            if status.get(part["station"], {}).get("state") == "down":
                stopped_s = min(stopped_s, status[part["station"]]["since_s"])
            had_s = max(0.0, stopped_s - part["since_s"])
            current[part["station"]] = (item, max(0.0, process_time(part["product"], part["station"]) - had_s))
        else:
            buffers[part["station"]].put(item)
    for _ in range(int(params["conwip"]) - len(sync["parts"])):
        release()
    for name in names:
        repairing = status.get(name, {}).get("state") == "down" and bool(spec[name].get("mtbf_hours"))
        if repairing:
            down[name] = env.event()
        env.process(station(name, current.get(name)))
        if spec[name].get("mtbf_hours"):
            env.process(failures(name, repairing))
    env.run(until=kit.working_seconds(sync["t_s"], until_s))
    return done[0]


REFERENCE_TWIN_RUNS = 30  # runs per forecast of the grader's twin
REFERENCE_PROBE_RUNS = 200  # runs per state when the grader judges a learner's twin on its probe


def reference_forecast(seed: int, synced_s: float) -> float:
    """The grader's twin's end-of-shift forecast in the week of `seed`, synchronised at `synced_s` (its runs'
    seeds differ from one forecast to the next, so the forecasts of a week do not share their luck)."""
    sync = true_sync_state(seed, synced_s)
    _, end_s = kit.shift_window(synced_s)
    params = kit.variant_model(seed)
    first = 1_000 * int(synced_s // 60)
    return sync["done"] + float(np.mean([reference_twin(params, sync, end_s, first + run)
                                         for run in range(REFERENCE_TWIN_RUNS)]))


@lru_cache(maxsize=16)
def reference_errors(seed: int, interval_s: float) -> np.ndarray:
    """|forecast - actual| of the grader's twin at each of the week's supervisor's questions, synchronised
    `interval_s` before each (the notebook's experiment, rerun by the grader on the week of `seed`)."""
    outputs = kit.shift_outputs(kit.week_export(seed)[0])
    return np.asarray([abs(reference_forecast(seed, synced_s) - outputs[shift])
                       for shift, synced_s in kit.week_questions(interval_s)])


@lru_cache(maxsize=8)
def reference_probe(seed: int) -> dict[str, np.ndarray]:
    """The grader's twin's outputs on each state of the twin probe of `seed` (seeds of its own)."""
    probe = kit.twin_probe(seed)
    return {case["case"]: np.asarray([reference_twin(probe["params"], case["sync"], case["until_s"], 50_000 + run)
                                      for run in range(REFERENCE_PROBE_RUNS)], dtype=float)
            for case in probe["cases"]}


# --- the archive --------------------------------------------------------------------------------------------


def schema_statements(schema) -> list[str]:
    """The archive's CREATE statements, tables first (then indexes, views, triggers), as the kernel read them
    from `sqlite_master`: data to hand to the sandboxed SQLite (autograde/sqlite_sandbox.py), never run here."""
    expect(isinstance(schema, list) and all(isinstance(row, dict) for row in schema),
           "the archive's schema was not recorded: run the cell unchanged")
    order = {"table": 0, "index": 1, "view": 2, "trigger": 3}
    rows = sorted((row for row in schema if row.get("type") in order), key=lambda row: order[row["type"]])
    for row in rows:
        sql = row.get("sql")
        expect(isinstance(sql, str) and sql.lstrip().upper().startswith("CREATE"),
               "the archive's {kind} {name!r} has no CREATE statement", kind=row.get("type"), name=row.get("name"))
    return [row["sql"] for row in rows]


PROBE_EVENT = {"timestamp": "2026-01-05T06:00:00.000Z", "kind": "part_released", "machine": None, "part_id": 1,
               "product": "bracket", "reason": None}
BAD_EVENTS = (("kind", "part_teleported"), ("timestamp", None))


def _insert(event: dict) -> tuple[str, list]:
    return f"INSERT INTO events ({', '.join(event)}) VALUES ({', '.join('?' * len(event))})", list(event.values())


@VERDICTS.cell("lab_twin_build_archive_schema_test")
def archive_schema(evidence: Evidence, variant: Variant) -> None:
    """The archive refuses what would corrupt it: a repeated event, an unknown event kind, a missing time."""
    statements = schema_statements(evidence["schema"])
    count = ("SELECT COUNT(*) FROM events", [])
    probes = [("SELECT name FROM sqlite_master WHERE type='table'", []), ("SELECT * FROM events LIMIT 0", []),
              count, _insert(PROBE_EVENT), _insert(PROBE_EVENT), count,
              *(_insert(dict(PROBE_EVENT, part_id=999_999, **{field: bad})) for field, bad in BAD_EVENTS)]
    try:
        answer = run_sql(statements, probes)
    except SQLiteSandboxError as error:
        raise VerdictFailed("the archive's schema cannot be rebuilt: {error}; keep to plain tables, indexes and "
                            "constraints", error=str(error)) from None
    for result, sql in zip(answer["schema"], statements, strict=True):
        expect("error" not in result, "the archive's statement {statement!r} cannot be rebuilt ({error}): keep to "
                                      "plain tables, indexes and constraints",
               statement=sql.split("(")[0].strip(), error=result.get("message"))
    tables, columns, before, first, second, after, *bad = answer["statements"]
    expect("error" not in tables, "the archive's tables cannot be listed")
    names = {row[0] for row in tables["rows"]}
    for table in ("events", "states"):
        expect(table in names, "no table {table!r}; the archive needs 'events' and 'states'", table=table)
    for column in PROBE_EVENT:
        expect(column in columns.get("columns", ()),
               "events: no column {column!r} (columns: {columns})",
               column=column, columns=", ".join(columns.get("columns", ())))
    expect("error" not in first and "error" not in before and "error" not in after,
           "events: a well-formed event cannot be stored ({error})",
           error=first.get("message") or after.get("message"))
    expect(second.get("error") in (None, "IntegrityError"), "events: inserting a row failed with {error}",
           error=second.get("message"))
    stored = after["rows"][0][0] - before["rows"][0][0]
    expect(stored != 0, "events: a well-formed event was not stored once")
    expect(stored == 1, "events: the same event inserted twice was stored twice: declare a key (PRIMARY KEY or UNIQUE) "
           "that identifies an event, so a redelivered message cannot be stored twice")
    for (field, value), result in zip(BAD_EVENTS, bad, strict=True):
        expect(result.get("error") in (None, "IntegrityError"), "events: inserting a row failed with {error}",
               error=result.get("message"))
        expect(result.get("error") == "IntegrityError",
               "events: a row with {field} = {value!r} was accepted: add a constraint ({constraint}) so bad data "
               "is refused",
               field=field, value=value, constraint="CHECK kind IN (...)" if field == "kind" else "NOT NULL")


def _event_keys(frame: pd.DataFrame) -> pd.Series:
    part = pd.to_numeric(frame["part_id"], errors="coerce").astype("Float64").round().astype("Int64")
    return (frame["timestamp"].astype(str) + "|" + frame["kind"].astype(str) + "|"
            + frame["machine"].astype(object).where(frame["machine"].notna(), "").astype(str) + "|"
            + part.astype(str).replace("<NA>", ""))


@VERDICTS.cell("lab_twin_build_archive_live_test")
def archive_live(evidence: Evidence, variant: Variant) -> None:
    """Every MES event of the live plant up to `until_s` is in the archive exactly once, and nothing else is."""
    until_s, seed, archive = evidence["until_s"], evidence["live_seed"], evidence["events"]
    expect(plaindata.is_finite_number(until_s) and until_s > 0,
           "collected_until_s must be the plant time (s, > 0) the archive is complete up to")
    expect(isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32,
           "the live plant's seed was not recorded: run the cell unchanged")
    expect(until_s <= kit.LOG_HOURS * 3600.0, "collected_until_s is longer than a working week")
    expect(isinstance(archive, pd.DataFrame) and set(EVENT_KEY) <= set(archive.columns),
           "the archive's events table lacks timestamp, kind, machine or part_id")
    truth, _ = kit.mes_export(float(until_s), int(seed))
    moments = pd.to_datetime(archive["timestamp"].astype(str), utc=True, errors="coerce")
    expect(not moments.isna().any(), "events: some timestamps are not ISO 8601 times")
    t_s = (moments - pd.Timestamp(load_plant().start)).dt.total_seconds()
    archive = archive[(t_s <= until_s + 1e-6).to_numpy()]
    archived, expected = _event_keys(archive).value_counts(), _event_keys(truth).value_counts()
    duplicates = int((archived[archived > 1] - 1).sum())
    missing = expected.index.difference(archived.index)
    invented = archived.index.difference(expected.index)
    expect(duplicates == 0, "archive: {duplicates} event(s) stored more than once up to t={until_s:.0f} s",
           duplicates=duplicates, until_s=until_s)
    expect(len(missing) == 0, "archive: {missing} of the plant's {expected} events up to t={until_s:.0f} s are "
                              "missing; fill the gap of the broker restart from the MES export",
           missing=len(missing), expected=len(expected), until_s=until_s)
    expect(len(invented) == 0, "archive: {invented} event(s) the plant never sent", invented=len(invented))


# --- the twin -----------------------------------------------------------------------------------------------


@VERDICTS.cell("lab_twin_build_twin_state_test")
def twin_state(evidence: Evidence, variant: Variant) -> None:
    """twin_state(events, states, t_s), given the week's log up to t_s, mirrors the line's state at t_s."""
    answers = evidence["answers"]
    times = kit.twin_state_times(variant.seed)
    expect(isinstance(answers, list) and len(answers) == len(times) and all(isinstance(a, dict) for a in answers),
           "twin_state was not probed at each of the grader's moments: run the cell unchanged")
    for t_s, answer in zip(times, answers, strict=True):
        expect(plaindata.is_finite_number(answer.get("t_s")) and abs(answer["t_s"] - t_s) < 1e-6,
               "twin_state was probed at moments other than the grader's: run the cell unchanged")
        got = answer.get("answer")
        answered = isinstance(got, dict) and "malformed" not in got and {"states", "wip"} <= set(got)
        expect(answered,
               "t={t_s:.0f} s: {malformed} twin_state must return {{'states': {{station: state}}, "
               "'wip': {{station: parts}}}}",
               t_s=t_s, malformed=got.get("malformed") if isinstance(got, dict) and "malformed" in got else "")
        want = true_twin_state(variant.seed, t_s)
        expect(got["states"] == want["states"], "t={t_s:.0f} s: the machine states differ from the plant's "
               "(the last change at or before t_s holds, for every station)", t_s=t_s)
        wip = got["wip"]
        expect(all(plaindata.is_finite_number(v) for v in wip.values()), "t={t_s:.0f} s: 'wip' counts must be numbers",
               t_s=t_s)
        got_wip = {k: int(v) for k, v in wip.items() if v != 0}
        want_wip = {k: v for k, v in want["wip"].items() if v}
        wrong = sorted(set(got_wip) | set(want_wip), key=str)
        wrong = [k for k in wrong if got_wip.get(k, 0) != want_wip.get(k, 0)]
        expect(not wrong, "t={t_s:.0f} s: the parts counted at {stations} differ from the plant's",
               t_s=t_s, stations=", ".join(wrong))


@VERDICTS.cell("lab_twin_build_kpis_test")
def shift_kpis(evidence: Evidence, variant: Variant) -> None:
    """shift_kpis(events, states, start_s, end_s) gives good parts exactly, lead time within 1 s, OEE within 0.03
    (of the OEE with the nominal ideal cycle or with the brief's estimate of it)."""
    answers = evidence["answers"]
    shifts = kit.kpi_shifts(variant.seed)
    expect(isinstance(answers, list) and [a.get("shift") if isinstance(a, dict) else None for a in answers] == shifts,
           "shift_kpis was not probed on the grader's shifts: run the cell unchanged")
    for index, got in zip(shifts, answers, strict=True):
        start_s, end_s = kit.week_shifts()[index]
        start_h, end_h = start_s / 3600, end_s / 3600
        for key in ("good_parts", "mean_lead_time_s", "oee"):
            expect(plaindata.is_finite_number(got.get(key)),
                   "shift {index} ({start_h:.0f} h to {end_h:.0f} h): {key} is missing or not a finite number",
                   index=index, start_h=start_h, end_h=end_h, key=key)
        want = true_shift_kpis(variant.seed, index)
        expect(got["good_parts"] == want["good_parts"], "shift {index} ({start_h:.0f} h to {end_h:.0f} h): good_parts "
               "differs from the parts the plant completed in the shift", index=index, start_h=start_h, end_h=end_h)
        expect(abs(got["mean_lead_time_s"] - want["mean_lead_time_s"]) <= LEAD_TIME_TOLERANCE_S,
               "shift {index} ({start_h:.0f} h to {end_h:.0f} h): mean_lead_time_s differs from the plant's (release "
               "to completion, parts completed in the shift)", index=index, start_h=start_h, end_h=end_h)
        expect(min(abs(got["oee"] - want["oee"]), abs(got["oee"] - want["oee_estimated"])) <= OEE_TOLERANCE,
               "shift {index} ({start_h:.0f} h to {end_h:.0f} h): OEE {oee:.3f} is more than {tolerance} off the "
               "plant's", index=index, start_h=start_h, end_h=end_h, oee=got["oee"], tolerance=OEE_TOLERANCE)


def _predictions(values, count: int) -> np.ndarray:
    expect(isinstance(values, list) and len(values) == count, "end-of-shift output: not one prediction per question: "
           "run the cell unchanged")
    expect(all(plaindata.is_finite_number(v) for v in values), "end-of-shift output: predict_shift_output returned "
           "something that is not a finite number")
    return np.asarray(values, dtype=float)


TWIN_CASE_HINTS = {  # per case: the state it starts from, and what to check when the twin misses it (translated)
    "refilled": (phrase("every part waiting at its first station (the line refilled)"),
                 phrase("a part counts only once it has gone through every station of its routing: does the twin "
                        "start from the parts where the state puts them and simulate their way through the line?")),
    "full_downstream": (phrase("every part at or just before the last station"),
                        phrase("parts about to come out come out within minutes: does the twin start from the parts "
                               "where the state puts them?")),
    "bottleneck_down": (phrase("the bottleneck down at the synchronisation"),
                        phrase("a station down at the synchronisation first finishes its repair, a fresh exponential "
                               "draw of its MTTR (repairs are memoryless), and processes nothing meanwhile")),
    "steady": (phrase("a line in steady flow"),
               phrase("check the twin's rules: routings, blocking, breakdowns interrupting operations, scrap, CONWIP "
                      "releases, working time to the end")),
}
TWIN_TOLERANCE_PARTS = 0.5  # how far the twin's mean output may sit from the grader's twin's, at least
# Identical outputs over every seed prove a twin does not simulate only where a simulation would seldom make them:
# where the grader's twin makes one output nearly always (a part out within minutes of a refill), they are likely.
IDENTICAL_CHANCE = 1e-3
TWIN_SIGMAS = 4.0


@VERDICTS.cell("lab_twin_build_twin_model_test")
def twin_model(evidence: Evidence, variant: Variant) -> None:
    """run_twin(params, sync, until_s, seed), on the grader's synchronised states and seeds, simulates: its
    output varies with the seed (where the grader's twin's does enough that identical outputs are unlikely) and its
    mean is the grader's twin's (the line's model restarted from the same state), within the sampling error of
    both."""
    answers = evidence["answers"]
    probe = kit.twin_probe(variant.seed)
    expect(isinstance(answers, list) and [a.get("case") if isinstance(a, dict) else None for a in answers]
           == [case["case"] for case in probe["cases"]],
           "run_twin was not probed on each of the grader's states: run the cell unchanged")
    reference = reference_probe(variant.seed)
    for answer in answers:
        case = answer["case"]
        outputs = answer.get("outputs")
        what, hint = TWIN_CASE_HINTS[case]
        expect(isinstance(outputs, list) and len(outputs) == len(probe["seeds"])
               and all(plaindata.is_finite_number(value) and value >= 0 for value in outputs),
               "run_twin, from a state with {what}: it must return the number of good parts completed (a number "
               "≥ 0) for every seed", what=what)
        mine, truth = np.asarray(outputs, dtype=float), reference[case]
        shares = np.unique(truth, return_counts=True)[1] / len(truth)
        expect(len(set(mine)) > 1 or float((shares ** len(mine)).sum()) > IDENTICAL_CHANCE,
               "run_twin, from a state with {what}: the same output whatever the seed. The twin must simulate the "
               "line (process times, breakdowns, scrap drawn from generators made from `seed`), not apply a rate",
               what=what)
        error = math.sqrt(mine.var(ddof=1) / len(mine) + truth.var(ddof=1) / len(truth))
        allowed = max(TWIN_TOLERANCE_PARTS, TWIN_SIGMAS * error)
        within = abs(mine.mean() - truth.mean()) <= allowed
        expect(within or not mine.mean() > truth.mean(),
               "run_twin, from a state with {what}: the twin completes too many parts on average; {hint}",
               what=what, hint=hint)
        expect(within, "run_twin, from a state with {what}: the twin completes too few parts on average; {hint}",
               what=what, hint=hint)


@VERDICTS.cell("lab_twin_build_prediction_test")
def predictions(evidence: Evidence, variant: Variant) -> None:
    """On the grader's questions (weeks the kernel sees only up to the twin's last synchronisation), the mean
    absolute error of the end-of-shift predictions is within the brief's budget for those shifts."""
    outputs = np.asarray(question_outputs(variant.seed), dtype=float)
    predicted = _predictions(evidence["predictions"], len(outputs))
    error, budget = float(np.abs(predicted - outputs).mean()), kit.error_budget(outputs)
    expect(error <= budget, "end-of-shift output: the mean absolute error over the grader's {count} questions is "
           "{error:.1f} parts, more than the brief's budget for those shifts. Does the twin start from the parts "
           "already made this shift and the machines' current state?", count=len(outputs), error=error)


BUDGET_SLACK_PARTS = 0.5  # the chosen interval's error on the grader's rerun may exceed the budget by this


@VERDICTS.cell("lab_twin_build_sync_curve_test")
def sync_curve(evidence: Evidence, variant: Variant) -> None:
    """The learner's experiment, run in the kernel at the grader's intervals with a predictor that records its
    calls, is the grader's own rerun of it: one forecast per supervisor's question of the week (90, 60 and 30 min
    before each shift's end), the twin synchronised `interval_s` before it and given the log up to then only,
    its error |forecast - output of the shift|."""
    curve = evidence["curve"]
    intervals = kit.sync_intervals(variant.seed)
    expect(isinstance(curve, list) and [c.get("interval_s") if isinstance(c, dict) else None for c in curve]
           == intervals, "forecast_errors was not run at the grader's intervals: run the cell unchanged")
    events, states = kit.week_export(variant.seed)
    outputs = kit.shift_outputs(events)
    for point in curve:
        interval_s = point["interval_s"]
        moments = kit.week_questions(interval_s)
        calls = point.get("calls")
        expect(isinstance(calls, list) and all(isinstance(call, dict) for call in calls),
               "forecast_errors(predict, {interval_s:g}): the predictor's calls were not recorded: run the cell "
               "unchanged", interval_s=interval_s)
        asked = sorted(float(call.get("t_s")) for call in calls if plaindata.is_finite_number(call.get("t_s")))
        expect(len(asked) == len(calls) == len(moments),
               "forecast_errors(predict, {interval_s:g}): call `predict` once per question of the week ({count}: 90, "
               "60 and 30 min before each shift's end), no more", interval_s=interval_s, count=len(moments))
        synced = np.allclose(asked, sorted(t for _, t in moments), atol=1e-6)
        expect(synced,
               "forecast_errors(predict, {interval_s:g}): the twin must be synchronised `interval_s` before each "
               "question: call predict(events, states, t_s) with t_s = the question's moment - interval_s",
               interval_s=interval_s)
        for call in calls:
            t_s = float(call["t_s"])
            for table, rows in (("events", events), ("states", states)):
                given = call.get(table)
                before, until = int((rows["t_s"] < t_s).sum()), int((rows["t_s"] <= t_s).sum())
                complete = isinstance(given, int) and before <= given <= until
                expect(complete or not (isinstance(given, int) and given > until),
                       "forecast_errors(predict, {interval_s:g}): at t_s = {t_s:.0f} s the predictor must get the "
                       "week's {table} up to t_s, all of them and nothing later (it saw the future)",
                       interval_s=interval_s, t_s=t_s, table=table)
                expect(complete,
                       "forecast_errors(predict, {interval_s:g}): at t_s = {t_s:.0f} s the predictor must get the "
                       "week's {table} up to t_s, all of them and nothing later (some were missing)",
                       interval_s=interval_s, t_s=t_s, table=table)
        errors = point.get("errors")
        expect(isinstance(errors, list) and len(errors) == len(moments)
               and all(plaindata.is_finite_number(v) for v in errors),
               "forecast_errors(predict, {interval_s:g}): return one error per question of the week ({count} "
               "numbers)", interval_s=interval_s, count=len(moments))
        want = sorted(abs(kit.recorded_forecast(events, t_s) - outputs[shift]) for shift, t_s in moments)
        expect(np.allclose(sorted(errors), want, atol=1e-6),
               "forecast_errors(predict, {interval_s:g}): each error must be |forecast - good parts the plant "
               "completed in that shift| (the week's log gives the outputs: shift_outputs(events))",
               interval_s=interval_s)


@VERDICTS.cell("lab_twin_build_sync_rate_test")
def sync_rate(evidence: Evidence, variant: Variant) -> None:
    """The chosen synchronisation interval is one the learner's experiment measured, its error there is within
    the brief's budget, and the grader's twin, rerun on the week at that interval, stays within it too (it
    guarantees supervision mode)."""
    outputs = kit.shift_outputs(kit.week_export(variant.seed)[0])  # the week's log, as the kernel read it
    budget = kit.error_budget(outputs)
    curve = evidence["curve"]
    expect(isinstance(curve, list) and all(isinstance(p, list) and len(p) == 2 for p in curve),
           "SYNC_CURVE must map each interval tried (s) to the twin's mean absolute error")
    curve = {float(p): e for p, e in curve if plaindata.is_finite_number(p)}
    expect(len(curve) >= 3, "SYNC_CURVE: try at least three synchronisation intervals")
    period = evidence["period_s"]
    expect(plaindata.is_finite_number(period) and float(period) in curve,
           "SYNC_PERIOD_S must be one of the intervals of your experiment (a key of SYNC_CURVE)")
    period = float(period)
    expect(0 < period <= kit.MAX_INTERVAL_S, "SYNC_PERIOD_S must be positive and at most {hours:g} h",
           hours=kit.MAX_INTERVAL_S / 3600)
    expect(plaindata.is_finite_number(curve[period]) and curve[period] <= budget,
           "SYNC_PERIOD_S: your own curve puts the twin's error at this interval above the brief's budget")
    rerun = float(reference_errors(variant.seed, period).mean())
    expect(rerun <= budget + BUDGET_SLACK_PARTS,
           "SYNC_PERIOD_S: rerun by the grader on this week, the twin's error at this interval exceeds the brief's "
           "budget: synchronise more often")
