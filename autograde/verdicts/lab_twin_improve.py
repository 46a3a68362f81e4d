"""Verdicts of lab_twin_improve: the gap analysis, the recalibrated twin's fidelity, the action plan, the
monitoring plan, the test plan and its setpoints, their application to the live plant and the dashboards, judged
on the grader's side.

The plant is the learner's own: the variant of lab_model_line drawn from the graded variant's seed
(`labkit.lab_model_line.plant_variant(variant.seed)`), whose parameters never leave the grader. The variant's week
(lab_twin_build's `week_export(seed)`), its stale twin (`stale_twin(seed)`), the plant's good parts over the
fidelity weeks and the trial weeks' exports (what the plant's MES would send, not its parameters) are written into
the variant's folder by the preparer; the kernel never sees the seed. The recalibrated twin is recorded as plain
data (its parameters) and run here, after bounds checks, against the plant over the same weeks. The test plan is
replayed on the plant (GRADER_REPLICATIONS weeks, common random numbers) in the learner's own context,
and a setpoint is accepted when its true contribution is within REGRET_TOLERANCE_EUR of the best level of its sweep,
for today's line and for the line with a second CNC (the capacity project), whose bottleneck moves to the saw: the
CONWIP cap and CNC speed that pay then differ, and only a simulation of the new line finds them.
"""

import math
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect
from labkit import lab_twin_build as week
from labkit import lab_twin_improve as kit
from labkit import plaindata
from labkit.lab_model_line import ProductionLog, distribution_moments
from labkit.lab_scenarios import net_process_times
from simulators.distributions import parse_distribution
from simulators.seeding import stream

VERDICTS = LabVerdicts("lab_twin_improve")
GRADER_REPLICATIONS = 6
GRADER_SEED = 9000  # replication r of the grader's sweeps uses seed GRADER_SEED + r
REGRET_TOLERANCE_EUR = 400.0
LAW_MEAN_RANGE = (0.5, 2.0)  # a recalibrated law's mean, relative to the methods team's (bounds the grader's work)
RELIABILITY_RANGE = (0.25, 4.0)  # the same for MTBF and MTTR
PARAMS_KEYS = {"mix", "process_times", "stations"}  # a twin's params dict (twin_params()) has at least these


@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """The week's MES export, the variant's stale twin, the plant's side of the fidelity check, the trial weeks'
    exports for every setpoint pair of the test plan and the dashboards' probe moments."""
    inputs = Path(folder) / "inputs"
    events, states = week.week_export(variant.seed)
    plaindata.write(inputs, "week_events", events)
    plaindata.write(inputs, "week_states", states)
    plaindata.write(inputs, "twin_params", kit.stale_twin(variant.seed))
    plaindata.write(inputs, "fidelity_reference", kit.fidelity_reference(variant.seed))
    trial_seed = int(stream(variant.seed, "twin_improve", "trial").integers(1, 2**31))
    plaindata.write(inputs, "trial_weeks", kit.trial_weeks(variant.seed, trial_seed))
    plaindata.write(inputs, "dashboard_cuts", kit.dashboard_cuts(variant.seed))


# --- the truth ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def reference_gaps(seed: int) -> pd.DataFrame:
    """Per (product, station): the twin's mean process time, the plant's (from the week's log: the mean net
    process time, lab_model_line's), the gap."""
    params = kit.stale_twin(seed)
    events, states = week.week_export(seed)
    log = ProductionLog(hours=kit.LOG_HOURS, work_hours=float("nan"), events=events, states=states,
                        setpoints=pd.DataFrame())  # net_process_times reads hours, events and states only
    plant_mean = net_process_times(log).groupby(["product", "station"])["net_s"].mean()
    rows = []
    for product, steps in params["process_times"].items():
        for station, dist in steps.items():
            twin_s = distribution_moments(dist)[0]
            plant_s = float(plant_mean[(product, station)])
            rows.append((product, station, twin_s, plant_s, twin_s / plant_s - 1.0))
    gaps = pd.DataFrame(rows, columns=["product", "station", "twin_mean_s", "plant_mean_s", "gap"])
    gaps["significant"] = gaps["gap"].abs() > kit.GAP_THRESHOLD
    return gaps.set_index(["product", "station"])


def monitoring_values(events: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """The monitored parameters for each working hour without a break, indexed by the hour's start (s)."""
    hours = [day * kit.DAY_S + h * 3600.0 for day in range(5) for h in range(16) if h not in (4, 12)]
    released = events[events["kind"] == "part_released"].set_index("part_id")["t_s"]
    completed = events[events["kind"] == "part_completed"]
    cnc = states[states["machine"] == "cnc"]
    t = np.append(cnc["t_s"].to_numpy(), kit.LOG_HOURS * 3600.0)
    starved_s = np.concatenate([[0.0], np.cumsum(np.diff(t) * (cnc["state"] == "starved").to_numpy())])
    rows = []
    for start_s in hours:
        end_s = start_s + 3600.0
        done = completed[(completed["t_s"] >= start_s) & (completed["t_s"] < end_s)]
        lead_s = done["t_s"].to_numpy() - released.reindex(done["part_id"]).to_numpy()
        starved = float(np.interp(end_s, t, starved_s) - np.interp(start_s, t, starved_s)) / 3600.0
        rows.append((start_s, len(done), float(lead_s.mean()) if len(done) else float("nan"), starved))
    return pd.DataFrame(rows, columns=["hour_start_s", *kit.MONITORED]).set_index("hour_start_s")


def reference_limits(values: pd.DataFrame) -> pd.DataFrame:
    """Individuals-chart limits per parameter from the reference days: CL = mean, sigma = mean moving range /
    1.128, limits CL +/- 3 sigma, the lower one not below 0."""
    reference = values[values.index < kit.REFERENCE_DAYS * kit.DAY_S]
    rows = {}
    for name in kit.MONITORED:
        series = reference[name].dropna()
        centre = float(series.mean())
        sigma = float(series.diff().abs().mean()) / 1.128
        rows[name] = {"lcl": max(0.0, centre - 3 * sigma), "cl": centre, "ucl": centre + 3 * sigma}
    return pd.DataFrame(rows).T


@lru_cache(maxsize=512)
def true_contribution(seed: int, conwip: int, cnc_speed: float, cnc_machines: int = 1) -> float:
    """The mean weekly contribution of the plant variant of `seed` with these setpoints (the CNC buffer as today)
    over the grader's weeks."""
    setpoints = {"conwip": conwip, "cnc_speed": cnc_speed, "cnc_machines": cnc_machines}
    plant = kit.true_plant(seed, setpoints)
    good = np.mean([kit.good_parts(plant, GRADER_SEED + r) for r in range(GRADER_REPLICATIONS)])
    return kit.contribution_eur(float(good), setpoints)


def true_sweep(seed: int, parameter: str, context: dict) -> pd.Series:
    """The mean weekly contribution of the plant variant of `seed` at each level of `parameter`, the others as in
    `context`."""
    values = {}
    for level in kit.SWEEPS[parameter]:
        point = {**kit.CURRENT_SETPOINTS, **context, parameter: level}
        values[level] = true_contribution(seed, int(point["conwip"]), round(float(point["cnc_speed"]), 2),
                                          int(point["cnc_machines"]))
    return pd.Series(values, name=parameter)


def regrets(seed: int, recommended: dict, base: dict) -> Iterator[tuple[str, float]]:
    """Each setpoint of `recommended`, replayed on the plant variant of `seed` in the test plan's order from `base`
    (one factor at a time), with what it earns a week less than the best level of its sweep. A generator, so that a
    verdict stopping at the first setpoint beyond REGRET_TOLERANCE_EUR runs no further sweep; each verdict holds its
    own message, which names its line."""
    context = dict(base)
    for name in kit.SWEEPS:
        curve = true_sweep(seed, name, context)
        level = next(lv for lv in kit.SWEEPS[name] if math.isclose(lv, recommended[name]))
        yield name, float(curve.max() - curve[level])
        context[name] = level


def true_dashboard(seed: int, until_s: float, rate_per_h: float) -> dict:
    """What the three dashboards must show after the week's stream up to `until_s` (the dashboards' clock is the
    last message's time: what a subscriber knows of the plant's time)."""
    events, states = week.week_export(seed)
    until_s = max(float(events.loc[events["t_s"] <= until_s, "t_s"].max()),
                  float(states.loc[states["t_s"] <= until_s, "t_s"].max()))
    known = events[events["t_s"] <= until_s]
    current = week.week_shifts().index(kit.shift_window(until_s))
    outputs = [int(count) for count in week.shift_outputs(known)[:current + 1]]
    last = states[states["t_s"] <= until_s].groupby("machine").tail(1)
    return {"shift_output": outputs[-1],
            "states": dict(zip(last["machine"], last["state"], strict=True)),
            "shift_outputs": outputs,
            "week_projection": (int((known["kind"] == "part_completed").sum())
                                + rate_per_h * kit.working_seconds(until_s, kit.LOG_HOURS * 3600.0) / 3600.0)}


# --- Part 1: gaps, fidelity, action plan ------------------------------------------------------------------------


@VERDICTS.cell("lab_twin_improve_gaps_test")
def gaps(evidence: Evidence, variant: Variant) -> None:
    """The learner's gap table: each pair's twin and plant mean process time, and the significant flag."""
    table = evidence["gaps"]
    expect(isinstance(table, pd.DataFrame), "GAPS must be a DataFrame indexed by (product, station)")
    missing = {"product", "station", "twin_mean_s", "plant_mean_s", "gap", "significant"} - set(table.columns)
    expect(not missing, "GAPS: missing column(s) {columns} (index: product, station)", columns=sorted(missing))
    truth = reference_gaps(variant.seed)
    mine = table.drop_duplicates(["product", "station"]).set_index(["product", "station"])
    absent = sorted(set(truth.index) - set(mine.index))
    expect(not absent, "GAPS: no row for {rows} (index: product, station)", rows=absent[:3])
    for key, row in truth.iterrows():
        got = mine.loc[key]
        for column in ("twin_mean_s", "plant_mean_s"):
            expect(plaindata.is_finite_number(_float(got[column])) and _float(got[column]) > 0,
                   "GAPS {key}: {column} is not a positive number", key=key, column=column)
        expect(abs(float(got["twin_mean_s"]) / row["twin_mean_s"] - 1) <= 1e-3,
               "GAPS {key}: twin_mean_s is not the mean of the twin's law", key=key)
        expect(abs(float(got["plant_mean_s"]) / row["plant_mean_s"] - 1) <= 0.01,
               "GAPS {key}: plant_mean_s is not the log's mean net process time; count only the station's up time "
               "between part_started and part_finished (breakdowns and stops pause it)", key=key)
        expect(bool(got["significant"]) == bool(row["significant"]),
               "GAPS {key}: significant is {significant} for a gap of {gap:+.1%} "
               "(threshold {threshold:.0%} of the plant's mean)",
               key=key, significant=bool(got["significant"]), gap=float(got["gap"]), threshold=kit.GAP_THRESHOLD)


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(value: float | None, want: float) -> bool:
    return value is not None and abs(value - want) <= 1e-3 * max(1.0, abs(want))


def _checked_params(params, reference: dict) -> dict:
    """`params` if it has the twin's form and sane values near the methods team's (else VerdictFailed)."""
    expect(isinstance(params, dict) and set(params) >= PARAMS_KEYS,
           "CALIBRATED must be a params dict like twin_params() (mix, process_times, stations)")
    expect(isinstance(params["mix"], dict) and set(params["mix"]) == set(reference["mix"])
           and all(plaindata.is_finite_number(v) and v > 0 for v in params["mix"].values()),
           "CALIBRATED['mix']: one positive share per product")
    expect(plaindata.is_finite_number(params.get("conwip", 1)), "CALIBRATED['conwip'] must be a number")
    laws = params["process_times"]
    for product, steps in reference["process_times"].items():
        for station, law in steps.items():
            where = f"CALIBRATED['process_times'][{product!r}][{station!r}]"
            mine = laws.get(product, {}).get(station) if isinstance(laws.get(product), dict) else None
            expect(isinstance(mine, dict) and "dist" in mine,
                   "CALIBRATED['process_times'][{product!r}][{station!r}]: missing (a law like twin_params()'s)",
                   product=product, station=station)
            try:
                parse_distribution(mine, where)
                mean_s, sd_s = distribution_moments(mine)
            except Exception as error:  # a malformed law: the simulator's own message names it
                raise VerdictFailed("CALIBRATED['process_times'][{product!r}][{station!r}]: not a valid law ({error})",
                                    product=product, station=station, error=str(error)) from None
            low, high = LAW_MEAN_RANGE
            expect(math.isfinite(mean_s) and math.isfinite(sd_s)
                   and low <= mean_s / distribution_moments(law)[0] <= high,
                   "CALIBRATED['process_times'][{product!r}][{station!r}]: its mean is far outside any recalibration "
                   "of the twin's law", product=product, station=station)
    stations = params["stations"]
    for name, station in reference["stations"].items():
        mine = stations.get(name) if isinstance(stations, dict) else None
        expect(isinstance(mine, dict), "CALIBRATED['stations'][{name!r}]: missing", name=name)
        expect(plaindata.is_finite_number(mine.get("buffer")) and 1 <= mine["buffer"] <= 1000,
               "CALIBRATED['stations'][{name!r}]['buffer'] must be 1 to 1000 places", name=name)
        expect(plaindata.is_finite_number(mine.get("scrap_rate") or 0.0) and 0 <= (mine.get("scrap_rate") or 0) < 0.5,
               "CALIBRATED['stations'][{name!r}]['scrap_rate'] must be a share below 0.5", name=name)
        for key in ("mtbf_hours", "mttr_hours"):
            if station.get(key) is None:
                continue
            value = mine.get(key)
            expect(not value or (plaindata.is_finite_number(value) and RELIABILITY_RANGE[0]
                                 <= value / station[key] <= RELIABILITY_RANGE[1]),
                   "CALIBRATED['stations'][{name!r}][{key!r}] is far outside any recalibration of the twin's",
                   name=name, key=key)
    return params


@VERDICTS.cell("lab_twin_improve_fidelity_test")
def twin_fidelity(evidence: Evidence, variant: Variant) -> None:
    """The recalibrated twin's process times are within GAP_THRESHOLD of the plant's (the week's log) and, run here,
    it makes the plant's output within FIDELITY_TOLERANCE at CONWIP 3 and 6."""
    reference = kit.stale_twin(variant.seed)
    params = _checked_params(evidence["params"], reference)
    expect(params["process_times"] != reference["process_times"], "CALIBRATED still has the stale twin's process "
           "times: recalibrate the significant gaps")
    for (product, station), row in reference_gaps(variant.seed).iterrows():  # the brief: within 5 % of the plant's
        gap = distribution_moments(params["process_times"][product][station])[0] / row["plant_mean_s"] - 1.0
        expect(abs(gap) <= kit.GAP_THRESHOLD,
               "CALIBRATED['process_times'][{product!r}][{station!r}]: its mean is {gap:+.1%} off the plant's mean net "
               "process time in the week's log (allowed: {allowed:.0%}); recalibrate it from the log",
               product=product, station=station, gap=gap, allowed=kit.GAP_THRESHOLD)
    for conwip, gap in kit.fidelity(params, kit.fidelity_reference(variant.seed)).items():
        expect(abs(gap) <= kit.FIDELITY_TOLERANCE,
               "with CONWIP {conwip}, the twin makes {gap:+.1%} good parts against the plant over the same weeks "
               "(allowed: {allowed:.0%}); recalibrate every significant process time, and keep each "
               "law's family and spread (at a low CONWIP the variability of the CNC decides the output)",
               conwip=conwip, gap=gap, allowed=kit.FIDELITY_TOLERANCE)


@VERDICTS.cell("lab_twin_improve_action_plan_test")
def action_plan(evidence: Evidence, variant: Variant) -> None:
    """At least three actions, each with an objective, an owner and a deadline, covering every significant gap."""
    plan = evidence["plan"]
    expect(isinstance(plan, pd.DataFrame) and len(plan) >= 3, "ACTION_PLAN: a DataFrame of at least 3 actions")
    missing = {"action", "gap", "objective", "owner", "deadline"} - set(plan.columns)
    expect(not missing, "ACTION_PLAN: missing column(s) {columns}", columns=sorted(missing))
    for column in ("action", "objective", "owner"):
        empty = plan[column].astype(str).str.strip().isin(["", "nan", "None", "<NA>"])
        expect(not empty.any(), "ACTION_PLAN: the action on row {number} (counting from 1) has no {column}",
               number=int(empty.to_numpy().argmax()) + 1, column=column)
    deadlines = pd.to_datetime(plan["deadline"].astype(str).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    expect(deadlines.notna().all(), "ACTION_PLAN: each deadline must be a date (YYYY-MM-DD)")
    truth = reference_gaps(variant.seed)
    significant = {f"{product}/{station}" for product, station in truth.index[truth["significant"]]}
    covered = set(plan["gap"].astype(str))
    expect(significant <= covered, "ACTION_PLAN: a significant gap of GAPS has no action (column gap: "
           "'product/station')")
    stray = covered - {f"{product}/{station}" for product, station in truth.index} - {"model", "data", "process"}
    expect(not stray, "ACTION_PLAN: unknown gap(s) {gaps}: use 'product/station', or model/data/process",
           gaps=sorted(stray))


# --- Part 2: monitoring ---------------------------------------------------------------------------------------


@VERDICTS.cell("lab_twin_improve_monitoring_test")
def monitoring(evidence: Evidence, variant: Variant) -> None:
    """At least 3 monitored parameters with the brief's limits, and a log of every check from Wednesday on."""
    plan, log = evidence["plan"], evidence["log"]
    values = monitoring_values(*week.week_export(variant.seed))
    limits = reference_limits(values)
    expect(isinstance(plan, dict) and len(plan) >= 3, "MONITORING_PLAN: at least 3 parameters")
    missing = sorted(set(kit.MONITORED) - set(plan))
    expect(not missing, "MONITORING_PLAN: no entry for {missing}", missing=missing)
    for name in kit.MONITORED:
        entry = plan[name]
        expect(isinstance(entry, dict), "MONITORING_PLAN[{name!r}] must be a dict", name=name)
        for key in ("lcl", "cl", "ucl", "setpoint", "reaction"):
            expect(key in entry, "MONITORING_PLAN[{name!r}]: missing {key!r}", name=name, key=key)
        expect(entry["setpoint"] in kit.SETPOINTS, "MONITORING_PLAN[{name!r}]['setpoint'] must be one of "
               "{setpoints}: the setpoint that acts on it", name=name, setpoints=sorted(kit.SETPOINTS))
        expect(isinstance(entry["reaction"], str) and entry["reaction"].strip() != "",
               "MONITORING_PLAN[{name!r}]['reaction'] must say who reacts and how", name=name)
        for key in ("lcl", "cl", "ucl"):
            want = limits.loc[name, key]
            expect(plaindata.is_finite_number(entry[key]) and abs(entry[key] - want) <= 1e-3 * max(1.0, abs(want)),
                   "MONITORING_PLAN[{name!r}][{key!r}] is not the reference days' limit: individuals chart, sigma = "
                   "mean moving range / 1.128, limits at 3 sigma, the lower one not below 0", name=name, key=key)
    expect(isinstance(log, pd.DataFrame), "MONITORING_LOG must be a DataFrame")
    need = {"hour_start_s", "parameter", "value", "out_of_control"}
    expect(need <= set(log.columns), "MONITORING_LOG: needs the columns {columns}", columns=sorted(need))
    checked = values[values.index >= kit.REFERENCE_DAYS * kit.DAY_S]
    for name in kit.MONITORED:
        mine = log[log["parameter"] == name].drop_duplicates("hour_start_s").set_index("hour_start_s")
        expected = checked[name].dropna()
        expect(len(log[log["parameter"] == name]) == len(expected) and set(mine.index) == set(expected.index),
               "MONITORING_LOG: the checks of {name} are not one per working hour without a break from Wednesday on",
               name=name)
        wrong = [h for h in expected.index if not _close(_float(mine.loc[h, "value"]), expected[h])]
        if wrong:
            raise VerdictFailed("MONITORING_LOG: {name} at hour_start_s={hour:g} is not the log's value",
                                name=name, hour=wrong[0])
        flags = (expected < limits.loc[name, "lcl"]) | (expected > limits.loc[name, "ucl"])
        mismatched = [h for h in expected.index if bool(mine.loc[h, "out_of_control"]) != bool(flags[h])]
        if mismatched:
            raise VerdictFailed("MONITORING_LOG: {name} at hour_start_s={hour:g}: out_of_control is wrong for this "
                                "value and the plan's limits", name=name, hour=mismatched[0])


# --- Part 3: test plan, setpoints, application ------------------------------------------------------------------


def _recommended(value, name: str = "RECOMMENDED") -> dict:
    """`name`, if it sets each setpoint to one of the test plan's levels (the kit's check of a trial)."""
    expect(isinstance(value, dict) and all(plaindata.is_finite_number(v) for v in value.values()),
           "{name} must map exactly {setpoints} to numbers", name=name, setpoints=sorted(kit.SWEEPS))
    try:
        return kit.checked_setpoints(value)
    except ValueError as error:
        raise VerdictFailed("{name}: {error}", name=name, error=str(error)) from None


@VERDICTS.cell("lab_twin_improve_test_plan_test")
def test_plan(evidence: Evidence, variant: Variant) -> None:
    """The test plan's table: every level of each sweep, replications, Student-t 95 % CI, and the recommended
    setpoint of each parameter is its sweep's best mean."""
    results, recommended = evidence["results"], _recommended(evidence["recommended"])
    need = {"parameter", "level", "replications", "mean_eur", "sd_eur", "ci_low_eur", "ci_high_eur"}
    expect(isinstance(results, pd.DataFrame) and need <= set(results.columns),
           "TEST_RESULTS must be a DataFrame with the columns {columns}", columns=sorted(need))
    for name, levels in kit.SWEEPS.items():
        rows = results[results["parameter"] == name]
        numbers = rows[sorted(need - {"parameter"})].apply(pd.to_numeric, errors="coerce")
        expect(len(rows) > 0 and bool(np.isfinite(numbers.to_numpy(dtype=float)).all()),
               "TEST_RESULTS: the rows of {name} must hold finite numbers", name=name)
        expect(sorted(round(float(v), 2) for v in rows["level"]) == sorted(round(float(v), 2) for v in levels),
               "TEST_RESULTS: the levels of {name} must be {levels}", name=name, levels=levels)
        replications = numbers["replications"]
        expect(bool((replications >= kit.MIN_REPLICATIONS).all()),
               "TEST_RESULTS: at least {minimum} replications per level ({name})",
               minimum=kit.MIN_REPLICATIONS, name=name)
        half = stats.t.ppf(0.975, replications - 1) * numbers["sd_eur"] / np.sqrt(replications)
        expect(bool(np.allclose(numbers["ci_low_eur"], numbers["mean_eur"] - half, rtol=1e-6, atol=1e-3)
                    and np.allclose(numbers["ci_high_eur"], numbers["mean_eur"] + half, rtol=1e-6, atol=1e-3)),
               "TEST_RESULTS: the CI of {name} is not mean +/- t(0.975, n-1) x sd / sqrt(n)", name=name)
        expect(bool((numbers["sd_eur"] > 0).all()), "TEST_RESULTS: the replications of {name} are identical (sd "
               "0): give each replication its own seed, the same for every level", name=name)
        best = float(rows.loc[numbers["mean_eur"].idxmax(), "level"])
        expect(math.isclose(float(recommended[name]), best),
               "RECOMMENDED[{name!r}] is not the best level of your own test plan's sweep", name=name)


@VERDICTS.cell("lab_twin_improve_setpoints_test")
def setpoints(evidence: Evidence, variant: Variant) -> None:
    """Each recommended setpoint is optimal on the true plant within REGRET_TOLERANCE_EUR, in the test plan's
    order and context (one factor at a time, from the setpoints chosen before it)."""
    recommended = _recommended(evidence["recommended"])
    for name, regret in regrets(variant.seed, recommended, dict(kit.CURRENT_SETPOINTS)):
        expect(regret <= REGRET_TOLERANCE_EUR,
               "today's line: {name} = {value}: on the plant this setpoint earns more than {tolerance:,.0f} EUR a week "
               "less than the best level of its sweep: is the twin faithful at this range of settings (recalibrated, "
               "right laws, the line as it will be)?",
               name=name, value=recommended[name], tolerance=REGRET_TOLERANCE_EUR)


@VERDICTS.cell("lab_twin_improve_project_test")
def project(evidence: Evidence, variant: Variant) -> None:
    """The setpoints the twin recommends for the line with a second CNC (the capacity project) are optimal on the
    plant with a second CNC within REGRET_TOLERANCE_EUR, one factor at a time from today's setpoints: the
    bottleneck moves, and with it the CONWIP cap and the CNC speed that pay."""
    recommended = _recommended(evidence["recommended"], "PROJECT_SETPOINTS")
    for name, regret in regrets(variant.seed, recommended, {**kit.CURRENT_SETPOINTS, **kit.PROJECT}):
        expect(regret <= REGRET_TOLERANCE_EUR,
               "with a second CNC: {name} = {value}: on the plant this setpoint earns more than {tolerance:,.0f} EUR a "
               "week less than the best level of its sweep: is the twin faithful at this range of settings "
               "(recalibrated, right laws, the line as it will be)?",
               name=name, value=recommended[name], tolerance=REGRET_TOLERANCE_EUR)


@VERDICTS.cell("lab_twin_improve_applied_test")
def applied(evidence: Evidence, variant: Variant) -> None:
    """The recommended setpoints were sent on `_cmd`, accepted on `_reply`, and the plant's status shows them."""
    recommended = _recommended(evidence["recommended"])
    replies, status = evidence["replies"], evidence["status"]
    expect(isinstance(replies, dict) and len(replies) >= len(kit.SWEEPS)
           and all(isinstance(reply, dict) for reply in replies.values()),
           "REPLIES: the plant's reply to each of your {count} commands, by command id", count=len(kit.SWEEPS))
    refused = sorted(key for key, reply in replies.items() if reply.get("ok") is not True)
    expect(not refused, "the plant did not accept the command(s) {refused}", refused=refused)
    expect(isinstance(status, dict), "STATUS: the plant's last status, as a dict")
    speeds = status.get("speeds") or {}
    expect(status.get("conwip") == recommended["conwip"], "the plant's status does not show the recommended CONWIP")
    expect(isinstance(speeds, dict) and plaindata.is_finite_number(speeds.get("cnc"))
           and math.isclose(speeds["cnc"], recommended["cnc_speed"]),
           "the plant's status does not show the recommended CNC speed")


# --- Part 5: dashboards ---------------------------------------------------------------------------------------


@VERDICTS.cell("lab_twin_improve_dashboards_test")
def dashboards(evidence: Evidence, variant: Variant) -> None:
    """Replayed into one set of dashboards up to each of the grader's moments, they show the week's truth."""
    probe = evidence["dashboards"]
    expect(isinstance(probe, dict) and isinstance(probe.get("layout"), dict),
           "the dashboards were not probed: run the cell unchanged")
    expect(probe["layout"].get("figures") is True, "dashboards.figures must map 'operational', 'tactical' and "
           "'strategic' to plotly figures")
    expect(probe["layout"].get("tab") is True, "dashboards.widget must be an ipywidgets.Tab with one tab per level "
           "(one shared place)")
    rate_per_h = probe.get("rate_per_h")
    expect(plaindata.is_finite_number(rate_per_h) and rate_per_h > 0, "the twin's rate must be a positive number")
    cuts_s = kit.dashboard_cuts(variant.seed)
    shown = probe.get("shown")
    expect(isinstance(shown, list) and [s.get("cut_s") if isinstance(s, dict) else None for s in shown] == cuts_s,
           "the dashboards were probed at moments other than the grader's: run the cell unchanged")
    for cut_s, seen in zip(cuts_s, shown, strict=True):
        truth = true_dashboard(variant.seed, cut_s, rate_per_h)
        expect(seen.get("operational") == truth["shift_output"],
               "after the stream up to t={cut_s:.0f} s: the operational dashboard's good parts this shift are not the "
               "plant's", cut_s=cut_s)
        lights = seen.get("lights") if isinstance(seen.get("lights"), dict) else {}
        for machine, state in truth["states"].items():
            expect(state in lights.get(machine, ""),
                   "after the stream up to t={cut_s:.0f} s: the light of {machine} does not show its state",
                   cut_s=cut_s, machine=machine)
        bars = seen.get("tactical")
        expect(isinstance(bars, list) and all(plaindata.is_finite_number(v) for v in bars)
               and [round(v) for v in bars] == truth["shift_outputs"],
               "after the stream up to t={cut_s:.0f} s: the tactical dashboard's bars are not the good parts of each "
               "shift so far", cut_s=cut_s)
        projection = seen.get("strategic")
        expect(plaindata.is_finite_number(projection) and abs(projection - truth["week_projection"]) <= 1.0,
               "after the stream up to t={cut_s:.0f} s: the strategic dashboard's projection is not the parts made so "
               "far + the twin's rate x the remaining working hours", cut_s=cut_s)
