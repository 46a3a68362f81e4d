"""The learner's kit of lab_twin_build: the plant's MES export, the shift calendar, the line's model, and the
probes of the hidden test cells.

The plant plays "the real system" (RNCP bloc 4): learners get what its MES would give them:
`production_log()`, the events and machine states of a working week (Monday 06:00 to Friday 22:00), with the
same timestamps as the live stream's payloads, so a live archive and an MES export share their keys;
`mes_export(until_s)`, the export of the live plant the notebook collects from (the documented default plant,
public, run in the kernel by `simulators.live.LivePlant`). The plant the week and the questions come from is the
learner's own: the variant of lab_model_line (`labkit.lab_model_line.plant_variant(seed)`: process times,
MTBF/MTTR and scrap scaled by seeded factors). When the notebook is graded, the week and the grader's questions
are read from the learner's graded variant (`FACTORYLAB_VARIANT`), written on the grader's side from a seed the
kernel never sees; otherwise they are simulated here from the public practice seed (`learner_seed()`).

The twin is the learner's SimPy model of the line restarted from the synchronised state. Its parameters are
`line_model()`, the line's model as lab_model_line validated it on the learner's plant (read from the graded
variant when graded: the kernel gets the model, never the seed of the plant), so the twin's error is the error
of its synchronisation alone. A synchronised state is plain data (`sync_state` in the notebook says its form);
the grader probes the learner's twin on states of its own (`twin_probe`), built here from a seed without reading
any log, so nothing here computes a state from a log (that is the learner's work).

The end-of-shift predictions are graded on *questions*: each question is a week of its own (its own seed,
derived from the variant's) cut at the moment the twin last synchronised. The kernel receives only that cut
log, never the rest of the shift it must predict; the grader simulates the rest and judges. The week's own
outputs (`shift_outputs`) and `error_budget` are for the learner's experiment on the synchronisation interval:
they read the week's outputs from the week's log.
"""

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from labkit.lab_model_line import plant_variant
from labkit.variant import graded_input
from simulators.distributions import parse_distribution
from simulators.learner import learner_seed
from simulators.line import LineRun, simulate
from simulators.plantfile import Plant, load_plant
from simulators.seeding import stream
from simulators.topics import timestamp

LOG_HOURS = 112.0  # Monday 06:00 to Friday 22:00: the ten shifts of a working week
SHIFT_S = 8 * 3600.0
DAY_S = 24 * 3600.0
QUERY_BEFORE_END_S = (5400.0, 3600.0, 1800.0)  # when the supervisor asks: 90, 60 and 30 min before the end
SYNC_CANDIDATES_S = (60.0, 600.0, 1800.0, 3600.0)  # the intervals the notebook tries first
# The intervals the grader reruns the learner's experiment at: one short, one long (never more than 2 h: a
# twin synchronised earlier would start before the break of the shift it predicts).
GRADER_INTERVALS_S = ((300.0, 600.0, 1200.0), (3600.0, 5400.0, 7200.0))
MAX_INTERVAL_S = 7200.0
PROBE_RATE_PER_H = 25.0  # the recording predictor's rate (parts per working hour): a plain, known forecast
BREAK_AFTER_S, BREAK_S = 4 * 3600.0, 15 * 60.0  # each shift's break: 15 min, four hours after its start
TWIN_PROBE_RUNS = 40  # seeds per state when the grader probes the twin
# The brief's tolerance on the end-of-shift output (mean absolute error, parts): at most BUDGET_SHARE of the
# planning forecast's error (one figure for every shift, blind to what happens in it), and never asked
# below BUDGET_FLOOR_PARTS, the noise of a week whose shifts all look alike.
BUDGET_SHARE = 0.65
BUDGET_FLOOR_PARTS = 4.5
TWIN_STATE_PROBES = 5  # moments of the week at which the twin's state is compared with the plant's
KPI_PROBES = 3  # shifts of the week whose KPIs are compared with the plant's
EVENT_COLUMNS = ["timestamp", "t_s", "kind", "machine", "part_id", "product", "reason"]
STATE_COLUMNS = ["timestamp", "t_s", "machine", "state", "reason"]

Predictor = Callable[[pd.DataFrame, pd.DataFrame, float], float]


# --- the calendar ------------------------------------------------------------------------------------------


def shift_window(t_s: float) -> tuple[float, float]:
    """(start_s, end_s) of the shift running at `t_s` (the brief's calendar: 06:00-14:00, 14:00-22:00)."""
    day_s = (t_s // DAY_S) * DAY_S
    offset_s = t_s - day_s
    start_s = day_s + (0.0 if offset_s < SHIFT_S else SHIFT_S)
    return start_s, start_s + SHIFT_S


def working_seconds(from_s: float, to_s: float) -> float:
    """Planned production seconds between `from_s` and `to_s` within the shift running at `from_s` (its break
    excluded; nothing after the shift's end)."""
    start_s, end_s = shift_window(from_s)
    pieces = ((start_s, start_s + BREAK_AFTER_S), (start_s + BREAK_AFTER_S + BREAK_S, end_s))
    return sum(max(0.0, min(high, to_s) - max(low, from_s)) for low, high in pieces)


def week_shifts(hours: float = LOG_HOURS) -> list[tuple[float, float]]:
    """The shifts of the log, in order, as (start_s, end_s)."""
    return [(day * DAY_S + k * SHIFT_S, day * DAY_S + (k + 1) * SHIFT_S)
            for day in range(int(hours * 3600.0 // DAY_S) + 1) for k in (0, 1)
            if day * DAY_S + (k + 1) * SHIFT_S <= hours * 3600.0]


# --- the MES ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def simulated_run(seed: int, hours: float = LOG_HOURS, week_seed: int | None = None) -> LineRun:
    """The run (events and states, no sensors) of the plant variant of `seed` over `hours` from Monday 06:00: the
    week of `week_seed` (one of the plant's other weeks), or the variant's own week when not given."""
    return simulate(plant_variant(int(seed)), hours=float(hours), seed=int(seed if week_seed is None else week_seed))


@lru_cache(maxsize=4)
def live_run(seed: int, hours: float) -> LineRun:
    """The run of the live plant the notebook collects from (`LivePlant(seed=...)`: the documented default plant)."""
    return simulate(load_plant(), hours=float(hours), seed=int(seed))


def mes_tables(run: LineRun, until_s: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export (events, states) of `run`, rows at or before `until_s` only when given.

    events: timestamp (UTC ISO, ms, as on the live stream), t_s (s from the start), kind, machine,
    part_id, product, reason. states: timestamp, t_s, machine, state, reason.
    """
    until_s = float("inf") if until_s is None else until_s
    start = run.plant.start
    events = pd.DataFrame(
        [(timestamp(start, e.t_s), round(e.t_s, 3), e.kind, e.machine, e.part_id, e.product, e.reason)
         for e in run.events if e.t_s <= until_s],
        columns=EVENT_COLUMNS,
    ).astype({"part_id": "Int64"})
    states = pd.DataFrame(
        [(timestamp(start, s.t_s), round(s.t_s, 3), s.machine, s.state, s.reason)
         for s in run.state_log if s.t_s <= until_s],
        columns=STATE_COLUMNS,
    )
    return events, states


def production_log() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plant's MES export of a working week (events, states): the graded variant's when graded."""
    events = graded_input("week_events", practice=lambda: week_export(learner_seed())[0])
    states = graded_input("week_states", practice=lambda: week_export(learner_seed())[1])
    return events.copy(), states.copy()


def mes_export(until_s: float, seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export of the live plant (seed `learner_seed()` unless given) from its start to `until_s`."""
    seed = learner_seed() if seed is None else seed
    return mes_tables(live_run(seed, until_s / 3600.0 + 0.01), until_s)


@lru_cache(maxsize=4)
def week_export(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export (events, states) of the working week of `seed`, shared: copy it before changing it."""
    return mes_tables(simulated_run(seed))


# --- the line's model ---------------------------------------------------------------------------------------


def line_model() -> dict:
    """The line's model in lab_model_line's form (conwip, mix, routings, process_times, stations), as the methods
    team validated it on the learner's plant: the graded variant's when graded, else the practice variant's."""
    return graded_input("line_model", practice=lambda: variant_model(learner_seed()))


def variant_model(seed: int) -> dict:
    """The model of the plant variant of `seed` (its own settings: the methods team's fits of it)."""
    return plant_model(plant_variant(seed))


def plant_model(plant: Plant) -> dict:
    """`plant`'s settings in lab_model_line's form, with each station's speed."""
    return {
        "conwip": plant.release.wip_cap,
        "mix": {name: product.mix for name, product in plant.products.items()},
        "routings": {name: [step.station for step in product.routing] for name, product in plant.products.items()},
        "process_times": {name: {step.station: {"dist": step.time.kind, **step.time.params} for step in product.routing}
                          for name, product in plant.products.items()},
        "stations": {name: {"buffer": station.input_buffer, "speed": station.speed,
                            "mtbf_hours": station.breakdowns.mtbf_hours if station.breakdowns else None,
                            "mttr_hours": station.breakdowns.mttr_hours if station.breakdowns else None,
                            "scrap_rate": station.scrap_rate}
                     for name, station in plant.stations.items()},
    }


# --- what the week's log says about predictions (for learning: the week's outputs are in its log) --------------


def shift_outputs(events: pd.DataFrame) -> np.ndarray:
    """Good parts completed in each shift of the week, from the log."""
    done = events.loc[events["kind"] == "part_completed", "t_s"].to_numpy()
    return np.asarray([((done >= start_s) & (done < end_s)).sum() for start_s, end_s in week_shifts()], dtype=float)


def week_questions(age_s: float = 0.0) -> list[tuple[int, float]]:
    """(shift index, moment the twin last synchronised) of each supervisor's question of the week (90, 60 and
    30 min before each shift's end), the twin's data being `age_s` old."""
    return [(index, end_s - before_s - age_s) for index, (_, end_s) in enumerate(week_shifts())
            for before_s in QUERY_BEFORE_END_S]


def planning_forecast_error(outputs: np.ndarray) -> float:
    """Mean absolute error of the planning forecast (the mean shift output, for every question)."""
    outputs = np.asarray(outputs, dtype=float)
    return float(np.abs(outputs - outputs.mean()).mean())


def error_budget(outputs: np.ndarray | None = None) -> float:
    """The largest mean absolute error (parts) the brief accepts from the twin for these shifts' outputs
    (the week's, from `production_log()`, unless given)."""
    outputs = shift_outputs(production_log()[0]) if outputs is None else outputs
    return max(BUDGET_FLOOR_PARTS, BUDGET_SHARE * planning_forecast_error(outputs))


# --- the grader's questions and probes ----------------------------------------------------------------------


def twin_state_times(seed: int) -> list[float]:
    """The moments of the week at which the twin's state is probed, chosen from `seed`."""
    rng = stream(seed, "twin_build", "twin_state_times")
    return sorted(round(float(t), 1) for t in rng.uniform(1800.0, LOG_HOURS * 3600.0 - 60.0, TWIN_STATE_PROBES))


def kpi_shifts(seed: int) -> list[int]:
    """The shifts of the week (by index) whose KPIs are probed, chosen from `seed`."""
    rng = stream(seed, "twin_build", "kpi_shifts")
    return sorted(int(i) for i in rng.choice(len(week_shifts()), KPI_PROBES, replace=False))


def prediction_questions(seed: int) -> list[dict]:
    """The grader's questions: for each, the seed of its own week, the shift asked about and the moment the
    twin last synchronised (90, 60 or 30 min before that shift's end), chosen from `seed`."""
    rng = stream(seed, "twin_build", "prediction_questions")
    return [{"week_seed": int(rng.integers(1, 2**31 - 1)), "shift": index, "synced_s": end_s - before_s}
            for index, (_, end_s) in enumerate(week_shifts()) for before_s in QUERY_BEFORE_END_S]


@lru_cache(maxsize=2)
def question_logs(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The logs the kernel gets for the questions of `seed`: each question's week cut at its `synced_s`, as
    (events, states) with a `question` column (the question's index)."""
    tables = []
    for number, question in enumerate(prediction_questions(seed)):
        events, states = mes_tables(simulated_run(seed, week_seed=question["week_seed"]), question["synced_s"])
        tables.append((events.assign(question=number), states.assign(question=number)))
    return (pd.concat([e for e, _ in tables], ignore_index=True),
            pd.concat([s for _, s in tables], ignore_index=True))


def probe_twin_state(twin_state: Callable) -> list[dict]:
    """`twin_state` at the grader's moments, given the week's log up to each: plain data for `record`."""
    events, states = production_log()
    answers = []
    for t_s in graded_input("twin_state_times", practice=lambda: twin_state_times(learner_seed())):
        got = twin_state(events[events["t_s"] <= t_s], states[states["t_s"] <= t_s], t_s)
        answers.append({"t_s": float(t_s), "answer": _plain_state(got)})
    return answers


def probe_shift_kpis(shift_kpis: Callable) -> list[dict]:
    """`shift_kpis` on the grader's shifts, given the week's log up to each shift's end: plain data."""
    events, states = production_log()
    shifts = week_shifts()
    answers = []
    for index in graded_input("kpi_shifts", practice=lambda: kpi_shifts(learner_seed())):
        start_s, end_s = shifts[int(index)]
        got = shift_kpis(events[events["t_s"] <= end_s], states[states["t_s"] <= end_s], start_s, end_s)
        answers.append({"shift": int(index), **{key: _number(dict(got).get(key))
                                                for key in ("good_parts", "mean_lead_time_s", "oee")}})
    return answers


def probe_predictions(predict: Predictor) -> list[float]:
    """`predict` on each of the grader's questions (its week cut at `synced_s`), in the questions' order."""
    questions = graded_input("questions", practice=lambda: prediction_questions(learner_seed()))
    events = graded_input("question_events", practice=lambda: question_logs(learner_seed())[0].copy())
    states = graded_input("question_states", practice=lambda: question_logs(learner_seed())[1].copy())
    by_question_events = dict(tuple(events.groupby("question", sort=False)))
    by_question_states = dict(tuple(states.groupby("question", sort=False)))
    predictions = []
    for number, question in enumerate(questions):
        mine_events = by_question_events.get(number, events.iloc[:0]).drop(columns="question").reset_index(drop=True)
        mine_states = by_question_states.get(number, states.iloc[:0]).drop(columns="question").reset_index(drop=True)
        predictions.append(_number(predict(mine_events, mine_states, float(question["synced_s"]))))
    return predictions


def sync_intervals(seed: int) -> list[float]:
    """The synchronisation intervals (s) at which the grader reruns the learner's experiment, chosen from `seed`."""
    rng = stream(seed, "twin_build", "sync_intervals")
    return [float(rng.choice(group)) for group in GRADER_INTERVALS_S]


def recorded_forecast(events: pd.DataFrame, t_s: float) -> float:
    """The recording predictor's forecast: the shift's good parts so far plus PROBE_RATE_PER_H per working hour
    left (plain on purpose: the grader checks the experiment with it, not the twin)."""
    start_s, end_s = shift_window(t_s)
    done = int(((events["kind"] == "part_completed") & (events["t_s"] >= start_s) & (events["t_s"] <= t_s)).sum())
    return done + PROBE_RATE_PER_H * working_seconds(t_s, end_s) / 3600.0


class RecordingPredictor:
    """A predictor the grader hands to the learner's experiment: it forecasts with `recorded_forecast` and
    records, at each call, the moment it was asked to synchronise at and what of the log it was given."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, events: pd.DataFrame, states: pd.DataFrame, t_s: float) -> float:
        self.calls.append({"t_s": float(t_s), "events": len(events), "states": len(states)})
        return recorded_forecast(events, float(t_s))


def probe_sync_curve(forecast_errors: Callable) -> list[dict]:
    """The learner's experiment `forecast_errors(predict, interval_s)` run with a RecordingPredictor at each of
    the grader's intervals: its errors and the predictor's calls, as plain data for `record`."""
    intervals = graded_input("sync_intervals", practice=lambda: sync_intervals(learner_seed()))
    answers = []
    for interval_s in intervals:
        predictor = RecordingPredictor()
        errors = forecast_errors(predictor, float(interval_s))
        answers.append({"interval_s": float(interval_s),
                        "errors": [_number(value) for value in np.asarray(errors, dtype=float).ravel()],
                        "calls": predictor.calls})
    return answers


def twin_probe(seed: int) -> dict:
    """The grader's questions to a twin: synchronised states of its own, each with the moment to simulate until,
    and the seeds of the runs. Four states of the line at a moment after a shift's break, each telling a
    simulation from an extrapolated rate: the line refilled (every part waiting at its first station: the first
    good part is minutes away), the line full downstream (every part at or before its last station: parts are
    about to come out), the bottleneck down, and a line in steady flow. Built from the line's model, not from
    a log; the products are drawn by the mix among those whose routing passes the station. The model is the
    plant variant's of `seed`, as `line_model()` gives it to the kernel."""
    params = variant_model(seed)
    rng = stream(seed, "twin_build", "twin_probe")
    routings, cap = params["routings"], int(params["conwip"])
    stations = list(params["stations"])
    load = {name: 0.0 for name in stations}
    for product, share in params["mix"].items():
        for station, law in params["process_times"][product].items():
            load[station] += share * parse_distribution(law, f"process_times.{product}.{station}").mean_s
    slowest = max(load, key=load.get)
    day, shift = int(rng.integers(0, 5)), int(rng.integers(0, 2))
    t_s = day * DAY_S + shift * SHIFT_S + round(float(rng.uniform(4.5, 6.0)) * 3600.0, 1)

    def state(slots, down=None):
        """A synchronised state from (station, status) slots, one part each, in FIFO order."""
        parts = []
        for number, (station, status) in enumerate(slots):
            visiting = [product for product in routings if station in routings[product]]
            shares = np.array([params["mix"][product] for product in visiting], dtype=float)
            product = visiting[int(rng.choice(len(visiting), p=shares / shares.sum()))]
            since_s = t_s if status == "processing" else t_s - 60.0 * (len(slots) - number)
            parts.append({"part_id": 1000 + number, "product": product, "station": station, "status": status,
                          "since_s": since_s})
        busy = {part["station"] for part in parts if part["status"] == "processing"}
        table = {name: {"state": "running" if name in busy else "starved", "since_s": t_s - 120.0}
                 for name in stations}
        if down is not None:
            table[down] = {"state": "down", "since_s": t_s - 600.0}
            for part in parts:
                if part["station"] == down and part["status"] == "processing":
                    part["since_s"] = t_s - 700.0
        return {"t_s": t_s, "done": int(rng.integers(100, 160)), "stations": table, "parts": parts}

    first, last = routings[next(iter(routings))][0], routings[next(iter(routings))][-1]
    last_room = 1 + int(params["stations"][last]["buffer"] or cap)
    at_last = [(last, "processing")] + [(last, "queued")] * (min(cap, last_room) - 1)
    before_last = [(routings[product][-2], "queued") for product in routings][: cap - len(at_last)]
    before_last += [(first, "queued")] * (cap - len(at_last) - len(before_last))
    steady = [(first, "processing"), (slowest, "processing"), (slowest, "queued"), (slowest, "queued"),
              (last, "processing"), (last, "queued")]
    cases = [
        {"case": "refilled", "sync": state([(first, "processing")] + [(first, "queued")] * (cap - 1)),
         "until_s": t_s + 300.0},
        {"case": "full_downstream", "sync": state(at_last + before_last), "until_s": t_s + 480.0},
        {"case": "bottleneck_down",
         "sync": state([(first, "processing"), (first, "queued"), (slowest, "processing")]
                       + [(slowest, "queued")] * (cap - 3), down=slowest),
         "until_s": t_s + 1200.0},
        {"case": "steady", "sync": state((steady + [(first, "queued")] * cap)[:cap]), "until_s": t_s + 3600.0},
    ]
    return {"params": params, "cases": cases,
            "seeds": [int(value) for value in rng.choice(10**6, TWIN_PROBE_RUNS, replace=False)]}


def probe_twin(run_twin: Callable) -> list[dict]:
    """`run_twin(params, sync, until_s=..., seed=...)` on each of the grader's states and seeds: plain data."""
    probe = graded_input("twin_probe", practice=lambda: twin_probe(learner_seed()))
    answers = []
    for case in probe["cases"]:
        outputs = [_number(run_twin(probe["params"], case["sync"], until_s=float(case["until_s"]), seed=int(seed)))
                   for seed in probe["seeds"]]
        answers.append({"case": case["case"], "outputs": outputs})
    return answers


def archive_schema(conn) -> list[dict]:
    """The archive's declared structure (`sqlite_master`: tables, indexes, triggers) as plain data."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return [{"type": kind, "name": name, "tbl_name": table, "sql": sql} for kind, name, table, sql in rows]


def archive_events(conn) -> pd.DataFrame:
    """The archive's events table (timestamp, kind, machine, part_id, product, reason) as a DataFrame."""
    events = pd.read_sql_query("SELECT timestamp, kind, machine, part_id, product, reason FROM events", conn)
    return events.astype({"timestamp": "string", "kind": "string", "machine": "string", "part_id": "Float64",
                          "product": "string", "reason": "string"})


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _plain_state(got) -> dict:
    if not isinstance(got, dict) or not {"states", "wip"} <= set(got):
        return {"malformed": f"twin_state returned {type(got).__name__}, not a dict with 'states' and 'wip'"}
    try:
        return {"states": {str(k): str(v) for k, v in dict(got["states"]).items()},
                "wip": {str(k): _number(v) for k, v in dict(got["wip"]).items()}}
    except (TypeError, ValueError):
        return {"malformed": "'states' and 'wip' must be dicts keyed by station"}
