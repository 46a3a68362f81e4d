"""Verdicts of lab_twin_build: the archive's structure and completeness, the twin's state, its KPIs and its
end-of-shift predictions, judged against the plant's truth on the grader's side.

The truth of a week is the run of the default plant with the week's seed (`simulators.line.simulate`, no
sensors) and its KPIs (`simulators.kpis.compute_kpis`). The graded variant's week and the grader's questions
derive from the variant's seed (labkit/lab_twin_build.py says which); the kernel receives the week's observed
log and, for each prediction question, its own week cut at the twin's last synchronisation, never the rest of
the shift it predicts. The live collection runs in the kernel on the public practice plant, whose export is no
secret: its archive is judged against that plant's run.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from autograde.sqlite_sandbox import SQLiteSandboxError, run_sql
from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect
from labkit import lab_twin_build as kit
from labkit import plaindata
from simulators.kpis import compute_kpis
from simulators.line import LineRun
from simulators.plantfile import load_plant

VERDICTS = LabVerdicts("lab_twin_build")
LEAD_TIME_TOLERANCE_S = 1.0
OEE_TOLERANCE = 0.03
CURVE_TOLERANCE = 0.05
EVENT_KEY = ("timestamp", "kind", "machine", "part_id")


@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """The week's MES export, the grader's probe moments and shifts, and the prediction questions' cut logs."""
    inputs = Path(folder) / "inputs"
    events, states = kit.week_export(variant.seed)
    plaindata.write(inputs, "week_events", events)
    plaindata.write(inputs, "week_states", states)
    plaindata.write(inputs, "twin_state_times", kit.twin_state_times(variant.seed))
    plaindata.write(inputs, "kpi_shifts", kit.kpi_shifts(variant.seed))
    questions = kit.prediction_questions(variant.seed)
    plaindata.write(inputs, "questions", [{"synced_s": q["synced_s"]} for q in questions])  # no week seed
    question_events, question_states = kit.question_logs(variant.seed)
    plaindata.write(inputs, "question_events", question_events)
    plaindata.write(inputs, "question_states", question_states)


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
    """compute_kpis over one shift of the week: good parts, mean lead time (s), and the OEE twice: with the
    plant's nominal ideal cycle (`oee`) and with the ideal cycle estimated from the log as the brief says
    (`oee_estimated`). Both readings are defensible; the estimate runs about 1.4 % low, which alone would fail
    a learner who follows the brief on about one variant in ten."""
    start_s, end_s = kit.week_shifts()[shift_index]
    run = kit.simulated_run(seed)
    cut = LineRun(run.plant, seed, end_s, [s for s in run.state_log if s.t_s <= end_s],
                  [e for e in run.events if e.t_s <= end_s], run.setpoints)
    kpis = compute_kpis(cut, warmup_s=start_s)
    events = kit.week_export(seed)[0]
    estimated_s = estimated_ideal_cycle_s(events[events["t_s"] <= end_s], kpis["oee"]["bottleneck"])
    return {"good_parts": kpis["good_parts"], "mean_lead_time_s": kpis["mean_cycle_time_s"],
            "oee": kpis["oee"]["oee"],
            "oee_estimated": kpis["oee"]["oee"] * estimated_s / kpis["oee"]["ideal_cycle_time_s"]}


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
        outputs.append(sum(1 for event in kit.simulated_run(question["week_seed"]).events
                           if event.kind == "part_completed" and start_s <= event.t_s < end_s))
    return tuple(outputs)


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
               f"the archive's {row.get('type')} {row.get('name')!r} has no CREATE statement")
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
        raise VerdictFailed(f"the archive's schema cannot be rebuilt: {error}; keep to plain tables, indexes and "
                            "constraints") from None
    for result, sql in zip(answer["schema"], statements, strict=True):
        expect("error" not in result, f"the archive's statement {sql.split('(')[0].strip()!r} cannot be rebuilt "
                                      f"({result.get('message')}): keep to plain tables, indexes and constraints")
    tables, columns, before, first, second, after, *bad = answer["statements"]
    expect("error" not in tables, "the archive's tables cannot be listed")
    names = {row[0] for row in tables["rows"]}
    for table in ("events", "states"):
        expect(table in names, f"no table {table!r}; the archive needs 'events' and 'states'")
    for column in PROBE_EVENT:
        expect(column in columns.get("columns", ()),
               f"events: no column {column!r} (columns: {', '.join(columns.get('columns', ()))})")
    expect("error" not in first and "error" not in before and "error" not in after,
           f"events: a well-formed event cannot be stored ({first.get('message') or after.get('message')})")
    expect(second.get("error") in (None, "IntegrityError"), f"events: inserting a row failed with "
                                                           f"{second.get('message')}")
    stored = after["rows"][0][0] - before["rows"][0][0]
    expect(stored == 1, "events: a well-formed event was not stored once" if stored == 0 else
           "events: the same event inserted twice was stored twice: declare a key (PRIMARY KEY or UNIQUE) that "
           "identifies an event, so a redelivered message cannot be stored twice")
    for (field, value), result in zip(BAD_EVENTS, bad, strict=True):
        expect(result.get("error") in (None, "IntegrityError"), f"events: inserting a row failed with "
                                                                f"{result.get('message')}")
        expect(result.get("error") == "IntegrityError",
               f"events: a row with {field} = {value!r} was accepted: add a constraint "
               f"({'CHECK kind IN (...)' if field == 'kind' else 'NOT NULL'}) so bad data is refused")


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
    expect(duplicates == 0, f"archive: {duplicates} event(s) stored more than once up to t={until_s:.0f} s")
    expect(len(missing) == 0, f"archive: {len(missing)} of the plant's {len(expected)} events up to t={until_s:.0f} s "
                              "are missing; fill the gap of the broker restart from the MES export")
    expect(len(invented) == 0, f"archive: {len(invented)} event(s) the plant never sent")


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
        expect(isinstance(got, dict) and "malformed" not in got and {"states", "wip"} <= set(got),
               f"t={t_s:.0f} s: {got.get('malformed') if isinstance(got, dict) and 'malformed' in got else ''}"
               " twin_state must return {'states': {station: state}, 'wip': {station: parts}}")
        want = true_twin_state(variant.seed, t_s)
        expect(got["states"] == want["states"], f"t={t_s:.0f} s: the machine states differ from the plant's "
               "(the last change at or before t_s holds, for every station)")
        wip = got["wip"]
        expect(all(plaindata.is_finite_number(v) for v in wip.values()), f"t={t_s:.0f} s: 'wip' counts must be numbers")
        got_wip = {k: int(v) for k, v in wip.items() if v != 0}
        want_wip = {k: v for k, v in want["wip"].items() if v}
        wrong = sorted(set(got_wip) | set(want_wip), key=str)
        wrong = [k for k in wrong if got_wip.get(k, 0) != want_wip.get(k, 0)]
        expect(not wrong, f"t={t_s:.0f} s: the parts counted at {', '.join(wrong)} differ from the plant's")


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
        where = f"shift {index} ({start_s / 3600:.0f} h to {end_s / 3600:.0f} h)"
        for key in ("good_parts", "mean_lead_time_s", "oee"):
            expect(plaindata.is_finite_number(got.get(key)), f"{where}: {key} is missing or not a finite number")
        want = true_shift_kpis(variant.seed, index)
        expect(got["good_parts"] == want["good_parts"], f"{where}: good_parts differs from the parts the plant "
               "completed in the shift")
        expect(abs(got["mean_lead_time_s"] - want["mean_lead_time_s"]) <= LEAD_TIME_TOLERANCE_S,
               f"{where}: mean_lead_time_s differs from the plant's (release to completion, parts completed in the "
               "shift)")
        expect(min(abs(got["oee"] - want["oee"]), abs(got["oee"] - want["oee_estimated"])) <= OEE_TOLERANCE,
               f"{where}: OEE {got['oee']:.3f} is more than {OEE_TOLERANCE} off the plant's")


def _predictions(values, count: int, what: str) -> np.ndarray:
    expect(isinstance(values, list) and len(values) == count, f"{what}: not one prediction per question: run the "
           "cell unchanged")
    expect(all(plaindata.is_finite_number(v) for v in values), f"{what}: predict_shift_output returned something "
           "that is not a finite number")
    return np.asarray(values, dtype=float)


@VERDICTS.cell("lab_twin_build_prediction_test")
def predictions(evidence: Evidence, variant: Variant) -> None:
    """On the grader's questions (weeks the kernel sees only up to the twin's last synchronisation), the mean
    absolute error of the end-of-shift predictions is within the brief's budget for those shifts."""
    outputs = np.asarray(question_outputs(variant.seed), dtype=float)
    predicted = _predictions(evidence["predictions"], len(outputs), "end-of-shift output")
    error, budget = float(np.abs(predicted - outputs).mean()), kit.error_budget(outputs)
    expect(error <= budget, f"end-of-shift output: the mean absolute error over the grader's {len(outputs)} "
           f"questions is {error:.1f} parts, more than the brief's budget for those shifts. Does the twin start "
           "from the parts already made this shift and the machines' current state?")


@VERDICTS.cell("lab_twin_build_sync_rate_test")
def sync_rate(evidence: Evidence, variant: Variant) -> None:
    """The learner's error curve is their predictor's on the week, and the chosen period is the longest one
    whose error is within the week's budget."""
    outputs = kit.shift_outputs(kit.week_export(variant.seed)[0])  # the week's log, as the kernel read it
    asked = outputs[[index for index, _ in kit.week_questions()]]
    budget = kit.error_budget(outputs)
    by_age = evidence["week_predictions"]
    expect(isinstance(by_age, list) and len(by_age) == len(kit.SYNC_CANDIDATES_S),
           "the predictor was not probed at each candidate period: run the cell unchanged")
    truth = {period_s: float(np.abs(_predictions(values, len(asked), f"period {period_s:g} s") - asked).mean())
             for period_s, values in zip(kit.SYNC_CANDIDATES_S, by_age, strict=True)}
    curve = evidence["curve"]
    expect(isinstance(curve, list) and all(isinstance(p, list) and len(p) == 2 for p in curve),
           "SYNC_CURVE must map each candidate period (s) to a mean absolute error")
    curve = {float(p): e for p, e in curve if plaindata.is_finite_number(p)}
    for period_s, error in truth.items():
        expect(period_s in curve, f"SYNC_CURVE: no entry for the period {period_s:g} s")
        expect(plaindata.is_finite_number(curve[period_s]) and abs(curve[period_s] - error) <= CURVE_TOLERANCE,
               f"SYNC_CURVE: the error at {period_s:g} s is not your predictor's mean absolute error with data "
               "that old")
    within = [period_s for period_s, error in truth.items() if error <= budget]
    expect(bool(within), "no period keeps the error within the budget: improve the predictor first")
    period = evidence["period_s"]
    expect(plaindata.is_finite_number(period) and period == max(within),
           "SYNC_PERIOD_S is not the longest candidate period within the budget (each synchronisation costs a "
           "query to the MES: do not synchronise more often than needed, nor less than the budget allows)")
