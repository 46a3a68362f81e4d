"""Checks of lab_twin_build: the learner's MES export, and the grading of the archive, the twin's
synchronisation, its KPIs and its end-of-shift predictions against the plant's truth.

The plant plays "the real system" (RNCP bloc 4): learners never read its plant file. They get what its
MES would give them, `production_log(seed, hours)`: the events and machine states of the line simulated
alone (no sensors, so a working week takes a fraction of a second), with the same timestamps as the live
stream's payloads, so a live archive and an MES export share their keys. The graders' truth is the same
run (`simulators.line.simulate` with the learner's seed) and its KPIs (`simulators.kpis.compute_kpis`).

A twin's predictor is called with the log cut at the moment it last synchronised (rows with `t_s` at or
before it), never with the future: what it predicts it must infer from the past and the line's state.
"""

import contextlib
import sqlite3
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from simulators.kpis import compute_kpis
from simulators.learner import learner_seed
from simulators.line import LineRun, simulate
from simulators.plantfile import load_plant
from simulators.topics import timestamp

LOG_HOURS = 112.0  # Monday 06:00 to Friday 22:00: the ten shifts of a working week
SHIFT_S = 8 * 3600.0
DAY_S = 24 * 3600.0
QUERY_BEFORE_END_S = (5400.0, 3600.0, 1800.0)  # when the supervisor asks: 90, 60 and 30 min before the end
SYNC_CANDIDATES_S = (60.0, 300.0, 900.0, 1800.0, 3600.0)
# The brief's tolerance on the end-of-shift output (mean absolute error, parts): at most BUDGET_SHARE of the
# planning forecast's error (one figure for every shift, blind to what happens in it), and never asked
# below BUDGET_FLOOR_PARTS, the noise of a week whose shifts all look alike.
BUDGET_SHARE = 0.65
BUDGET_FLOOR_PARTS = 4.5
TWIN_STATE_TIMES_S = (3 * 3600.0 + 17.0, 4 * 3600.0 + 300.0, 9 * 3600.0 + 1234.5, 30 * 3600.0 + 61.0,
                      52 * 3600.0 + 999.0)
KPI_SHIFTS = (0, 3, 7)  # the shifts whose KPIs are checked, by index in the week

Predictor = Callable[[pd.DataFrame, pd.DataFrame, float], float]


# --- what learners get -------------------------------------------------------------------------------


def production_log(seed: int | None = None, hours: float = LOG_HOURS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plant's MES export: (events, states) DataFrames for `hours` from Monday 06:00.

    events: timestamp (UTC ISO, ms, as on the live stream), t_s (s from the start), kind, machine,
    part_id, product, reason. states: timestamp, t_s, machine, state, reason.
    """
    run = _run(learner_seed() if seed is None else seed, float(hours))
    start = run.plant.start
    events = pd.DataFrame(
        [(timestamp(start, e.t_s), round(e.t_s, 3), e.kind, e.machine, e.part_id, e.product, e.reason)
         for e in run.events],
        columns=["timestamp", "t_s", "kind", "machine", "part_id", "product", "reason"],
    ).astype({"part_id": "Int64"})
    states = pd.DataFrame(
        [(timestamp(start, s.t_s), round(s.t_s, 3), s.machine, s.state, s.reason) for s in run.state_log],
        columns=["timestamp", "t_s", "machine", "state", "reason"],
    )
    return events, states


def shift_window(t_s: float) -> tuple[float, float]:
    """(start_s, end_s) of the shift running at `t_s` (the brief's calendar: 06:00-14:00, 14:00-22:00)."""
    day_s = (t_s // DAY_S) * DAY_S
    offset_s = t_s - day_s
    start_s = day_s + (0.0 if offset_s < SHIFT_S else SHIFT_S)
    return start_s, start_s + SHIFT_S


def week_shifts(hours: float = LOG_HOURS) -> list[tuple[float, float]]:
    """The shifts of the log, in order, as (start_s, end_s)."""
    return [(day * DAY_S + k * SHIFT_S, day * DAY_S + (k + 1) * SHIFT_S)
            for day in range(int(hours * 3600.0 // DAY_S) + 1) for k in (0, 1)
            if day * DAY_S + (k + 1) * SHIFT_S <= hours * 3600.0]


# --- the truth ----------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _run(seed: int, hours: float) -> LineRun:
    return simulate(load_plant(), hours=hours, seed=seed)


def true_shift_output(seed: int, t_s: float) -> int:
    """Good parts completed in the shift running at `t_s`, over the whole shift."""
    start_s, end_s = shift_window(t_s)
    run = _run(seed, LOG_HOURS)
    return sum(1 for e in run.events if e.kind == "part_completed" and start_s <= e.t_s < end_s)


def true_twin_state(seed: int, t_s: float) -> dict:
    """The line's state at `t_s` as the twin must mirror it: each station's state, and the parts at each
    station (waiting in its buffer, in process, or finished upstream and waiting to enter it)."""
    run = _run(seed, LOG_HOURS)
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
    """compute_kpis over one shift of the week: good parts, mean lead time (s), OEE."""
    start_s, end_s = week_shifts()[shift_index]
    run = _run(seed, LOG_HOURS)
    cut = LineRun(run.plant, seed, end_s, [s for s in run.state_log if s.t_s <= end_s],
                  [e for e in run.events if e.t_s <= end_s], run.setpoints)
    kpis = compute_kpis(cut, warmup_s=start_s)
    return {"good_parts": kpis["good_parts"], "mean_lead_time_s": kpis["mean_cycle_time_s"],
            "oee": kpis["oee"]["oee"]}


# --- grading ------------------------------------------------------------------------------------------


def check_archive_schema(path) -> None:
    """The archive refuses what would corrupt it: a repeated event, an unknown event kind, a missing time.

    Works on an in-memory copy, so the learner's file is never changed.
    """
    with sqlite3.connect(path) as source:
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in ("events", "states"):
            assert table in tables, f"{path}: no table {table!r}; the archive needs 'events' and 'states'"
        copy = sqlite3.connect(":memory:")
        source.backup(copy)
    columns = [row[1] for row in copy.execute("PRAGMA table_info(events)")]
    for column in ("timestamp", "kind", "machine", "part_id", "product", "reason"):
        assert column in columns, f"events: no column {column!r} (columns: {', '.join(columns)})"
    row = {"timestamp": "2026-01-05T06:00:00.000Z", "kind": "part_released", "machine": None, "part_id": 1,
           "product": "bracket", "reason": None}
    insert = (f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})")
    before = copy.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    for _ in range(2):
        with contextlib.suppress(sqlite3.IntegrityError):
            copy.execute(insert, tuple(row.values()))
    after = copy.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert after - before <= 1, ("events: the same event inserted twice was stored twice: declare a key "
                                 "(PRIMARY KEY or UNIQUE) that identifies an event, so a redelivered "
                                 "message cannot be stored twice")
    for field, bad in (("kind", "part_teleported"), ("timestamp", None)):
        attempt = dict(row, part_id=999_999, **{field: bad})
        try:
            copy.execute(insert, tuple(attempt.values()))
        except sqlite3.IntegrityError:
            continue
        raise AssertionError(f"events: a row with {field} = {bad!r} was accepted: add a constraint "
                             f"({'CHECK kind IN (...)' if field == 'kind' else 'NOT NULL'}) so bad data is refused")
    copy.close()


def archived_events(path, until_s: float, start=None) -> pd.DataFrame:
    """The archive's events up to `until_s` (s from the plant's start), in time order."""
    start = load_plant().start if start is None else start
    with sqlite3.connect(path) as conn:
        events = pd.read_sql_query("SELECT timestamp, kind, machine, part_id, product, reason FROM events", conn)
    moments = pd.to_datetime(events["timestamp"], utc=True)
    events["t_s"] = (moments - pd.Timestamp(start)).dt.total_seconds()
    return events[events["t_s"] <= until_s + 1e-6].sort_values("t_s", kind="stable")


def check_archive_complete(path, until_s: float, seed: int | None = None) -> None:
    """Every MES event up to `until_s` is in the archive exactly once, and nothing else is."""
    seed = learner_seed() if seed is None else seed
    assert until_s > 0, f"collected_until_s must be > 0 (the plant time the archive is complete up to), got {until_s}"
    truth, _ = production_log(seed, hours=until_s / 3600.0 + 0.01)
    truth = truth[truth["t_s"] <= until_s]
    archive = archived_events(path, until_s)

    def keys(frame: pd.DataFrame) -> pd.Series:
        return (frame["timestamp"].astype(str) + "|" + frame["kind"].astype(str) + "|"
                + frame["machine"].fillna("").astype(str) + "|"
                + frame["part_id"].astype("Int64").astype(str).replace("<NA>", ""))

    archived, expected = keys(archive).value_counts(), keys(truth).value_counts()
    duplicates = int((archived[archived > 1] - 1).sum())
    missing = expected.index.difference(archived.index)
    invented = archived.index.difference(expected.index)
    assert duplicates == 0, f"archive: {duplicates} event(s) stored more than once up to t={until_s:.0f} s"
    assert len(missing) == 0, (f"archive: {len(missing)} of the plant's {len(expected)} events up to "
                               f"t={until_s:.0f} s are missing (first: {sorted(missing)[0]}); fill the gap "
                               "of the broker restart from the MES export")
    assert len(invented) == 0, f"archive: {len(invented)} event(s) the plant never sent (first: {sorted(invented)[0]})"


def check_twin_state(twin_state: Callable, seed: int | None = None, times_s=TWIN_STATE_TIMES_S) -> None:
    """twin_state(events, states, t_s), given the log up to t_s, mirrors the line's state at t_s."""
    seed = learner_seed() if seed is None else seed
    events, states = production_log(seed)
    for t_s in times_s:
        got = twin_state(events[events["t_s"] <= t_s], states[states["t_s"] <= t_s], t_s)
        want = true_twin_state(seed, t_s)
        assert isinstance(got, dict) and set(got) >= {"states", "wip"}, (
            f"twin_state must return a dict with keys 'states' and 'wip', got {got!r}")
        got_states = {str(k): str(v) for k, v in dict(got["states"]).items()}
        assert got_states == want["states"], (
            f"t={t_s:.0f} s: machine states {got_states}, the plant shows {want['states']}")
        got_wip = {str(k): int(v) for k, v in dict(got["wip"]).items() if int(v) != 0}
        want_wip = {k: v for k, v in want["wip"].items() if v}
        assert got_wip == want_wip, f"t={t_s:.0f} s: parts per station {got_wip}, the plant holds {want_wip}"


def check_shift_kpis(shift_kpis: Callable, seed: int | None = None) -> None:
    """shift_kpis(events, states, start_s, end_s) gives good parts and lead time exactly, OEE within 0.03."""
    seed = learner_seed() if seed is None else seed
    events, states = production_log(seed)
    for index in KPI_SHIFTS:
        start_s, end_s = week_shifts()[index]
        got = shift_kpis(events[events["t_s"] <= end_s], states[states["t_s"] <= end_s], start_s, end_s)
        want = true_shift_kpis(seed, index)
        where = f"shift {index} ({start_s / 3600:.0f} h to {end_s / 3600:.0f} h)"
        assert int(got["good_parts"]) == want["good_parts"], (
            f"{where}: good_parts {got['good_parts']}, the plant completed {want['good_parts']}")
        assert abs(float(got["mean_lead_time_s"]) - want["mean_lead_time_s"]) <= 1.0, (
            f"{where}: mean_lead_time_s {float(got['mean_lead_time_s']):.0f}, the plant's is "
            f"{want['mean_lead_time_s']:.0f} (release to completion, parts completed in the shift)")
        assert abs(float(got["oee"]) - want["oee"]) <= 0.03, (
            f"{where}: OEE {float(got['oee']):.3f}, the plant's is {want['oee']:.3f} (within 0.03)")


def prediction_errors(predict: Predictor, seed: int | None = None, *, age_s: float = 0.0) -> np.ndarray:
    """|predicted - actual| end-of-shift output at each query time of the week, the twin's data being
    `age_s` old (its last synchronisation was `age_s` before the question)."""
    seed = learner_seed() if seed is None else seed
    events, states = production_log(seed)
    errors = []
    for start_s, end_s in week_shifts():
        for before_s in QUERY_BEFORE_END_S:
            synced_s = end_s - before_s - age_s
            predicted = predict(events[events["t_s"] <= synced_s], states[states["t_s"] <= synced_s], synced_s)
            errors.append(abs(float(predicted) - true_shift_output(seed, start_s)))
    return np.asarray(errors)


def planning_forecast_error(seed: int | None = None) -> float:
    """Mean absolute error of the planning forecast: the week's mean shift output, for every question."""
    seed = learner_seed() if seed is None else seed
    outputs = np.asarray([true_shift_output(seed, start_s) for start_s, _ in week_shifts()], dtype=float)
    return float(np.abs(outputs - outputs.mean()).mean())


def error_budget(seed: int | None = None) -> float:
    """The largest mean absolute error (parts) the brief accepts from the twin for this plant's week."""
    return max(BUDGET_FLOOR_PARTS, BUDGET_SHARE * planning_forecast_error(seed))


def check_predictions(predict: Predictor, seed: int | None = None) -> None:
    """The synchronised twin predicts each shift's output within the brief's error budget."""
    error, budget = float(prediction_errors(predict, seed).mean()), error_budget(seed)
    assert error <= budget, (
        f"end-of-shift output: mean absolute error {error:.1f} parts over the week's "
        f"{len(week_shifts()) * len(QUERY_BEFORE_END_S)} questions; the brief allows {budget:.1f}. "
        "Does the twin start from the parts already made this shift and the machines' current state?")


def error_curve(predict: Predictor, seed: int | None = None) -> dict[float, float]:
    """Mean absolute prediction error for each candidate synchronisation period (worst-case data age)."""
    return {period_s: float(prediction_errors(predict, seed, age_s=period_s).mean())
            for period_s in SYNC_CANDIDATES_S}


def check_sync_rate(predict: Predictor, curve: dict, sync_period_s: float, seed: int | None = None) -> None:
    """The learner's error curve is right and the chosen period is the longest one within the budget."""
    truth, budget = error_curve(predict, seed), error_budget(seed)
    for period_s, error in truth.items():
        assert period_s in curve, f"error curve: no entry for the period {period_s:g} s"
        assert abs(float(curve[period_s]) - error) <= 0.05, (
            f"error curve: {float(curve[period_s]):.2f} parts at {period_s:g} s, your predictor gives {error:.2f}")
    within = [period_s for period_s, error in truth.items() if error <= budget]
    assert within, f"no period keeps the error within {budget:.1f} parts: improve the predictor first"
    assert sync_period_s == max(within), (
        f"sync_period_s = {sync_period_s:g} s; the longest period within the budget is {max(within):g} s "
        "(each synchronisation costs a query to the MES: do not synchronise more often than needed)")
