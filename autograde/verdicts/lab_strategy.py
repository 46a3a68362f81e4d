"""Verdicts of lab_strategy: the digitalisation strategy of each learner's site (RNCP bloc 1), judged on its truth.

The learner's site is `labkit.lab_strategy.variant_site_model(seed)` for their graded seed: the kernel receives
its records (MES export, IIoT sample), its simulation model, phase 1's project log and the grader's probes, never
the seed. The references below compute, from the same records, what the lab asks learners to compute (maturity
criteria, weakest criteria, weighted scores, a schedule, earned value, the team survey's reading); simulations the
kernel ran for its recommendations are rerun here with the same seeds and levers. Structured answers (orientations,
watch, matrix, plan, charter, WBS, change plan, lessons learned) are checked for completeness and for consistency
with the data and with each other; what needs judgement is the trainer's, in the rubric cells.
"""

import json
import math
import re
from functools import lru_cache

import numpy as np
import pandas as pd

from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect, phrase
from labkit import lab_strategy as kit
from labkit import plaindata

VERDICTS = LabVerdicts("lab_strategy")
TOLERANCE = 1e-6  # the learner's figures are computed from the same records as the grader's
GAIN_TOLERANCE = 1e-3  # maturity points: the same simulations, the learner's functions against the grader's
SHARE_TOLERANCE = 0.001  # relative, for the plant's characteristics quoted in the charter (rounding only)
DATE = re.compile(r"\d{4}(-\d{2}(-\d{2}(T00:00:00)?)?)?")  # a pandas Timestamp records as ISO 8601
URL = re.compile(r"https?://[^\s/]+\.[^\s/]+\S*")
MAX_RECOMMENDATIONS = 5


# --- the truth and the grader's inputs ----------------------------------------------------------------------------


def grader_seed(seed: int, purpose: str) -> int:
    """A seed of the grader's own for `purpose`, derived from the variant's (the kernel sees neither)."""
    return int(np.random.Generator(np.random.PCG64([seed, *map(ord, purpose)])).integers(2**31))


@lru_cache(maxsize=4)
def truth_site(seed: int) -> kit.Site:
    """The records of the variant of `seed` (what its kernel receives as kit.site_records())."""
    return kit.simulate_site(kit.variant_site_model(seed), seed=seed)


@lru_cache(maxsize=4)
def probe_site(seed: int) -> kit.Site:
    return kit.probe_site_for(grader_seed(seed, "probe site"))


@lru_cache(maxsize=4)
def truth_log(seed: int) -> kit.ProjectLog:
    return kit.variant_project_log(seed)


@lru_cache(maxsize=4)
def probe_log(seed: int) -> kit.ProjectLog:
    return kit.probe_project_log_for(grader_seed(seed, "probe log"))


def simulation_seeds(seed: int) -> list[int]:
    return kit.grader_seeds(grader_seed(seed, "simulations"), "simulation", 2)


def probe_cycle(seed: int) -> dict[str, float]:
    return kit.probe_cycle_for(grader_seed(seed, "probe cycle"))


def probe_scores(seed: int) -> list[list[float]]:
    return kit.probe_scores_for(grader_seed(seed, "probe scores"))


def probe_matrices(seed: int) -> list[dict]:
    return kit.probe_matrices_for(grader_seed(seed, "probe matrices"))


def probe_wbs(seed: int) -> list[list[dict]]:
    return kit.probe_wbs_for(grader_seed(seed, "probe wbs"))


@VERDICTS.preparer
def prepare(variant: Variant, folder) -> None:
    inputs = folder / "inputs"
    values = {**kit.site_inputs(truth_site(variant.seed), "site"), **kit.site_inputs(probe_site(variant.seed), "probe"),
              **kit.project_inputs(truth_log(variant.seed), "project"),
              **kit.project_inputs(probe_log(variant.seed), "probe_project"),
              "site_model": kit.variant_site_model(variant.seed), "simulation_seeds": simulation_seeds(variant.seed),
              "probe_cycle_s": probe_cycle(variant.seed), "probe_scores": probe_scores(variant.seed),
              "probe_matrices": probe_matrices(variant.seed), "probe_wbs": probe_wbs(variant.seed)}
    for name, value in values.items():
        plaindata.write(inputs, name, value)


# --- references: the maturity criteria ----------------------------------------------------------------------------


def distinct_samples(iiot: kit.Iiot) -> pd.DataFrame:
    """Each sample received once (its first copy), whatever the duplicates."""
    return iiot.readings.drop_duplicates(["machine", "sensor", "seq"])


def data_availability(iiot: kit.Iiot) -> float:
    expected = float((iiot.hours * 3600.0 / iiot.sensors["period_s"]).sum())
    return len(distinct_samples(iiot)) / expected


def data_quality(iiot: kit.Iiot) -> float:
    samples = distinct_samples(iiot).sort_values(["machine", "sensor", "seq"])
    repeated = samples["value"].eq(samples.groupby(["machine", "sensor"], sort=False)["value"].shift())
    return float(((samples["quality"] == "good") & ~repeated).mean())


def connectivity(iiot: kit.Iiot) -> float:
    minutes = round(iiot.hours * 60.0)
    minute = np.floor((iiot.readings["timestamp"] - iiot.start).dt.total_seconds() / 60.0)
    seen = pd.DataFrame({"machine": iiot.readings["machine"].to_numpy(), "minute": minute.to_numpy()})
    seen = seen[(seen["minute"] >= 0) & (seen["minute"] < minutes)].drop_duplicates()
    return len(seen) / (iiot.sensors["machine"].nunique() * minutes)


def oee(mes: kit.Mes, ideal_cycle_s) -> float:
    completed = mes.events.loc[mes.events["kind"] == "part_completed", "product"]
    return float(completed.map(dict(ideal_cycle_s)).sum()) / (mes.work_hours * 3600.0)


def reliability(mes: kit.Mes, *, clock: str = "work_s", close_open: bool = True) -> pd.DataFrame:
    """Per station with breakdowns: breakdowns, downtime_h, mtbf_h, mttr_h, availability (working clock; a breakdown
    still open at the end of the export lasts until that end). `clock` and `close_open` give the usual mistakes."""
    end_s = mes.work_hours * 3600.0 if clock == "work_s" else mes.hours * 3600.0
    hours = end_s / 3600.0
    breakdowns = mes.events[mes.events["reason"] == "breakdown"]
    rows = {}
    for station, mine in breakdowns.groupby("machine", sort=False):
        starts = mine.loc[mine["kind"] == "downtime_started", clock].to_numpy(dtype=float)
        ends = mine.loc[mine["kind"] == "downtime_ended", clock].to_numpy(dtype=float)
        if close_open:
            ends = np.append(ends, [end_s] * (len(starts) - len(ends)))
        downtime_h = float((ends - starts[: len(ends)]).sum()) / 3600.0
        mtbf_h, mttr_h = (hours - downtime_h) / len(starts), downtime_h / len(starts)
        rows[station] = {"breakdowns": len(starts), "downtime_h": downtime_h, "mtbf_h": mtbf_h, "mttr_h": mttr_h,
                         "availability": mtbf_h / (mtbf_h + mttr_h)}
    return pd.DataFrame.from_dict(rows, orient="index")


def traceability(mes: kit.Mes, routings) -> float:
    events = mes.events
    completed = events.loc[events["kind"] == "part_completed", ["part_id", "product"]]
    scans = events[events["kind"].isin(["part_started", "part_finished"])]
    recorded = set(scans.groupby(["part_id", "machine"])["kind"].nunique().loc[lambda kinds: kinds == 2].index)
    traced = [all((part, station) in recorded for station in routings[product])
              for part, product in zip(completed["part_id"], completed["product"], strict=True)]
    return float(np.mean(traced)) if traced else float("nan")


def maturity_score(value: float, floor: float, target: float) -> float:
    return 5.0 * min(max((value - floor) / (target - floor), 0.0), 1.0)


def site_metrics(site: kit.Site) -> dict[str, float]:
    return {"data_availability": data_availability(site.iiot), "data_quality": data_quality(site.iiot),
            "connectivity": connectivity(site.iiot), "oee": oee(site.mes, kit.DOCUMENTED_CYCLE_S),
            "maintenance": float(reliability(site.mes).loc[kit.BOTTLENECK, "availability"]),
            "traceability": traceability(site.mes, kit.ROUTINGS)}


def radar(site: kit.Site) -> pd.DataFrame:
    metrics = site_metrics(site)
    return pd.DataFrame({"metric": metrics, "score": {name: maturity_score(value, *kit.MATURITY_SCALE[name])
                                                      for name, value in metrics.items()}})


@lru_cache(maxsize=4)
def truth_radar(seed: int) -> pd.DataFrame:
    return radar(truth_site(seed))


def weakest(table: pd.DataFrame, count: int = 2) -> list[str]:
    return list(table["score"].sort_values(kind="stable").index[:count])


@lru_cache(maxsize=64)
def simulated_scores(seed: int, levers_json: str, simulation_seed: int) -> pd.Series:
    """The maturity scores of the site of `seed` simulated with these levers (the grader's rerun)."""
    model = kit.variant_site_model(seed)
    return radar(kit.simulate_site(model, seed=simulation_seed, levers=json.loads(levers_json)))["score"]


def estimated_gains(seed: int, levers: dict) -> pd.Series:
    """Mean over the grader's seeds of each criterion's score with the levers minus without."""
    seeds = simulation_seeds(seed)
    after = sum(simulated_scores(seed, json.dumps(levers, sort_keys=True), s) for s in seeds) / len(seeds)
    before = sum(simulated_scores(seed, "{}", s) for s in seeds) / len(seeds)
    return after - before


# --- references: matrix, schedule, earned value, survey --------------------------------------------------------


def weighted_scores(matrix: pd.DataFrame, weights: pd.Series) -> pd.Series:
    weights = weights.reindex(matrix.columns).astype(float)
    return matrix.astype(float).mul(weights, axis=1).sum(axis=1) / weights.sum()


def schedule(wbs: pd.DataFrame) -> pd.DataFrame:
    """Early start and finish of every lot (weeks from 0): a lot starts when all the lots it waits for finished."""
    lots = {row.lot_id: (int(row.weeks), list(row.depends_on)) for row in wbs.itertuples()}
    finish: dict[str, int] = {}

    def finish_of(lot: str, path: tuple = ()) -> int:
        expect(lot not in path, "WBS: circular dependency through {lot}", lot=lot)
        expect(lot in lots, "WBS: a lot waits for {lot!r}, which is not a lot of the WBS", lot=lot)
        if lot not in finish:
            weeks, deps = lots[lot]
            finish[lot] = max([finish_of(dep, (*path, lot)) for dep in deps], default=0) + weeks
        return finish[lot]

    rows = {lot: {"start_week": finish_of(lot) - lots[lot][0], "finish_week": finish_of(lot)} for lot in lots}
    return pd.DataFrame.from_dict(rows, orient="index")


def _carried(log: kit.ProjectLog, column: str, week: int) -> pd.Series:
    """Each lot's last reported value of `column` at `week` (0 before its first report)."""
    known = log.progress[log.progress["week"] <= week].sort_values("week").groupby("lot_id")[column].last()
    return known.reindex(log.lots["lot_id"]).fillna(0.0)


def lot_status(log: kit.ProjectLog, week: int) -> pd.DataFrame:
    lots = log.lots.set_index("lot_id")
    elapsed = (week - lots["planned_start_week"] + 1) / lots["planned_weeks"]
    pv = lots["budget_k_eur"] * elapsed.clip(0.0, 1.0)
    ev = lots["budget_k_eur"] * _carried(log, "percent_complete", week) / 100.0
    ac = _carried(log, "actual_cost_k_eur", week)
    return pd.DataFrame({"pv": pv, "ev": ev, "ac": ac, "spi": ev / pv.where(pv > 0), "cpi": ev / ac.where(ac > 0)})


def s_curve(log: kit.ProjectLog, last_week: int) -> pd.DataFrame:
    rows = {week: lot_status(log, week)[["pv", "ev", "ac"]].sum() for week in range(1, last_week + 1)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("week")


def team_pulse(log: kit.ProjectLog) -> pd.DataFrame:
    survey = log.survey.sort_values("month")
    sizes = log.teams.set_index("team")["size"]
    rows = {}
    for team, mine in survey.groupby("team"):
        last = mine.iloc[-1]
        before = mine[mine["month"] == last["month"] - kit.TREND_MONTHS]
        trend = float(last["adoption"] - before["adoption"].iloc[0]) if len(before) else float("nan")
        response = float(last["respondents"]) / float(sizes[team])
        rows[team] = {"adoption": float(last["adoption"]), "trend": trend, "response_rate": response,
                      "at_risk": bool(last["adoption"] < kit.AT_RISK_ADOPTION or trend <= kit.AT_RISK_TREND),
                      "supporter": bool(last["adoption"] >= kit.SUPPORTER_ADOPTION
                                        and response >= kit.SUPPORTER_RESPONSE)}
    return pd.DataFrame.from_dict(rows, orient="index")


def plant_characteristics(site: kit.Site) -> dict:
    weeks = site.mes.hours / 168.0
    completed = int((site.mes.events["kind"] == "part_completed").sum())
    return {"stations": int(site.iiot.sensors["machine"].nunique()), "sensors": len(site.iiot.sensors),
            "sensor_period_s": float(site.iiot.sensors["period_s"].median()),
            "messages_per_hour": len(site.iiot.readings) / site.iiot.hours,
            "planned_hours_per_week": site.mes.work_hours / weeks, "good_parts_per_week": completed / weeks,
            "bottleneck": kit.BOTTLENECK}


def labour_cost_k_eur(allocations: pd.DataFrame) -> pd.Series:
    """Each lot's labour cost: its allocated days at each role's day rate."""
    rates = allocations["role"].map(lambda role: kit.ROLES[role]["day_rate_eur"])
    return (allocations["days"].astype(float) * rates / 1000.0).groupby(allocations["lot_id"]).sum()


# --- reading evidence ---------------------------------------------------------------------------------------------


def _close(value, reference: float, tolerance: float = TOLERANCE) -> bool:
    if isinstance(reference, float) and math.isnan(reference):
        return value is None or (isinstance(value, float) and math.isnan(value))
    return plaindata.is_finite_number(value) and abs(value - reference) <= tolerance * max(1.0, abs(reference))


def _number(value, what: str | VerdictFailed) -> float:
    expect(plaindata.is_finite_number(value), "{what} must be a number", what=what)
    return float(value)


def _records(value, what: str | VerdictFailed, columns) -> pd.DataFrame:
    """A table recorded as a DataFrame or a list of row dicts, with these columns. `what` names it in the messages
    (as in `_number`, `_names`, `_date`): a variable's name, or words translated with the message, a phrase or a
    label with values written as a VerdictFailed (`VerdictFailed("plan axis {axis}: start", axis=axis)`)."""
    if isinstance(value, list):
        expect(all(isinstance(row, dict) for row in value), "{what}: one dict per row", what=what)
        value = pd.DataFrame(value)
    expect(isinstance(value, pd.DataFrame), "{what} must be a table (a pandas DataFrame)", what=what)
    missing = [column for column in columns if column not in value.columns]
    expect(not missing, "{what}: missing column(s) {missing}", what=what, missing=missing)
    return value.reset_index(drop=True)


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _names(value, what: str | VerdictFailed) -> list[str]:
    expect(isinstance(value, list) and all(isinstance(item, str) for item in value),
           "{what} must be a list of names (strings)", what=what)
    return value


def _date(value, what: str | VerdictFailed) -> pd.Timestamp:
    expect(isinstance(value, str) and DATE.fullmatch(value.strip()) is not None,
           "{what}: {value!r} is not a date written YYYY-MM-DD (or YYYY-MM, YYYY)", what=what, value=value)
    stamp = pd.to_datetime(value.strip(), errors="coerce")
    expect(not pd.isna(stamp), "{what}: {value!r} is not a date of the calendar", what=what, value=value)
    return stamp


# --- verdicts: maturity -------------------------------------------------------------------------------------------


@VERDICTS.cell("strategy_iiot_metrics_test")
def iiot_metrics(evidence: Evidence, variant: Variant) -> None:
    """Data availability, data quality and connectivity of the learner's site and of the grader's probe site."""
    for where, site, prefix in ((phrase("your site"), truth_site(variant.seed), "site"),
                                (phrase("the grader's site"), probe_site(variant.seed), "probe")):
        got = evidence[prefix]
        expect(isinstance(got, dict), "record the three values as a dict")
        iiot = site.iiot
        samples = float((iiot.hours * 3600.0 / iiot.sensors["period_s"]).sum())
        reference = data_availability(iiot)
        value = got.get("data_availability")
        if not _close(value, reference):  # the first known mistake it reproduces, else what the value must be
            expect(not _close(value, len(iiot.readings) / samples), "data availability on {where}: count each sample "
                   "once; a duplicated message has the seq of its first copy", where=where)
            raise VerdictFailed("data availability on {where} is not the share of the expected samples received "
                                "(each sensor sends one sample every period_s)", where=where)
        flagged_good = distinct_samples(iiot)["quality"].eq("good").mean()
        value = got.get("data_quality")
        if not _close(value, data_quality(iiot)):
            expect(not _close(value, float(flagged_good)), "data quality on {where}: a sample that repeats its "
                   "sensor's previous value exactly is stuck, not usable", where=where)
            expect(not _close(value, float((iiot.readings["quality"] == "good").mean())),
                   "data quality on {where}: judge each sample once (drop the duplicated copies first)", where=where)
            raise VerdictFailed("data quality on {where} is not the share of usable samples among those received",
                                where=where)
        expect(_close(got.get("connectivity"), connectivity(iiot)),
               "connectivity on {where} is not the share of machine-minutes of the sample with at least one reading "
               "timestamped in them", where=where)


@VERDICTS.cell("strategy_mes_metrics_test")
def mes_metrics(evidence: Evidence, variant: Variant) -> None:
    """OEE, reliability per station and traceability of the learner's site and of the grader's probe site."""
    cases = ((phrase("your site"), truth_site(variant.seed), kit.DOCUMENTED_CYCLE_S, "site"),
             (phrase("the grader's site"), probe_site(variant.seed), probe_cycle(variant.seed), "probe"))
    for where, site, cycle, prefix in cases:
        mes = site.mes
        completed = mes.events.loc[mes.events["kind"].isin(["part_completed", "part_scrapped"]), "product"]
        value = evidence[f"{prefix}_oee"]
        if not _close(value, oee(mes, cycle)):  # the first known mistake it reproduces, else what the value must be
            expect(not _close(value, oee(mes, cycle) * mes.work_hours / mes.hours),
                   "OEE on {where}: divide by the planned production time (work_hours), not the calendar time",
                   where=where)
            expect(not _close(value, float(completed.map(dict(cycle)).sum()) / (mes.work_hours * 3600.0)),
                   "OEE on {where}: only good parts count (a scrapped part adds no value)", where=where)
            raise VerdictFailed("OEE on {where} is not the documented cycle time of the good parts over the planned "
                                "production time", where=where)
        _check_reliability(evidence[f"{prefix}_reliability"], mes, where)
        value = evidence[f"{prefix}_traceability"]
        if not _close(value, traceability(mes, kit.ROUTINGS)):
            expect(not _close(value, 1.0), "traceability on {where}: a part is traced only when every station of its "
                   "routing recorded both its start and its finish", where=where)
            raise VerdictFailed("traceability on {where} is not the share of good parts whose whole routing is "
                                "recorded", where=where)


def _check_reliability(table, mes: kit.Mes, where: str) -> None:
    table = _records(table, VerdictFailed("reliability on {where}", where=where),
                     ("station", "breakdowns", "downtime_h", "mtbf_h", "mttr_h", "availability")).set_index("station")
    reference = reliability(mes)
    expect(set(table.index) == set(reference.index) and table.index.is_unique,
           "reliability on {where}: one row per station that broke down in the export, indexed by station",
           where=where)
    mistakes = {"calendar": reliability(mes, clock="t_s"), "open": reliability(mes, close_open=False)}
    for station, row in reference.iterrows():
        got = table.loc[station]
        for column in reference.columns:
            if _close(got[column], row[column]):
                continue
            if _close(got[column], mistakes["calendar"].loc[station, column]):
                raise VerdictFailed("reliability on {where}: measure breakdowns on the working clock (work_s): the "
                                    "MES counts planned production time only", where=where)
            if _close(got[column], mistakes["open"].loc[station, column]):
                raise VerdictFailed("reliability on {where}: a breakdown still open when the export ends lasts until "
                                    "the end of the export", where=where)
            raise VerdictFailed("reliability on {where}: {column} of {station} is wrong (see the definitions)",
                                where=where, column=column, station=station)


@VERDICTS.cell("strategy_radar_test")
def radar_chart(evidence: Evidence, variant: Variant) -> None:
    """The maturity score on the grader's values, a radar of at least five criteria whose scores follow the grid,
    drawn as a polar chart."""
    scores = evidence["scores"]
    expect(isinstance(scores, list) and len(scores) == len(probe_scores(variant.seed)),
           "maturity_score: one score per probe value")
    for (value, floor, target), got in zip(probe_scores(variant.seed), scores, strict=True):
        expect(_close(got, maturity_score(value, floor, target)),
               "maturity_score: 0 at the floor or below, 5 at the target or above, linear in between")
    table = _records(evidence["radar"], "radar", ("criterion", "metric", "score")).set_index("criterion")
    expect(len(table) >= 5 and table.index.is_unique, "radar: at least 5 criteria, each once")
    unknown = sorted(set(table.index) - set(kit.CRITERIA))
    expect(not unknown, "radar: {unknown} are not criteria of the maturity grid", unknown=unknown)
    for criterion, row in table.iterrows():
        metric = _number(row["metric"], VerdictFailed("radar metric of {criterion}", criterion=criterion))
        expect(_close(row["score"], maturity_score(metric, *kit.MATURITY_SCALE[criterion])),
               "radar: the score of {criterion} is not its metric placed on the maturity grid", criterion=criterion)
    polar = [trace for trace in evidence["figure"] if trace.get("type") == "scatterpolar"]
    expect(polar, "radar figure: draw a polar chart (plotly Scatterpolar)")
    drawn = dict(zip(polar[0].get("theta", []), polar[0].get("r", []), strict=False))
    expect(set(drawn) == set(table.index) and all(_close(drawn[name], table.loc[name, "score"]) for name in drawn),
           "radar figure: its axes must be the radar's criteria and its radii their scores")


# --- verdicts: orientations, weakest criteria, recommendations -------------------------------------------------


@VERDICTS.cell("strategy_orientations_test")
def orientations(evidence: Evidence, variant: Variant) -> None:
    """At least 3 orientations serving the company's goals, with stakeholders; objectives on the radar's criteria
    whose baselines are the site's measured values, targets better than them and dated within the plan's horizon;
    the two weakest criteria among the objectives."""
    table = _records(evidence["orientations"], "orientations", ("orientation_id", "orientation", "goal", "stake",
                                                                "stakeholders", "criterion", "baseline", "target",
                                                                "deadline"))
    expect(table["orientation_id"].nunique() >= 3, "orientations: at least 3 strategic orientations")
    truth = truth_radar(variant.seed)["metric"]
    horizon = (pd.Timestamp(kit.PLAN_START), pd.Timestamp(kit.PLAN_END))
    people = set()
    for index, row in table.iterrows():
        expect(_text(row["orientation"]) and _text(row["stake"]),
               "orientations row {index}: name the orientation and its stake", index=index)
        expect(row["goal"] in kit.COMPANY_GOALS,
               "orientations row {index}: goal must be one of the company's goals {goals} (the brief)", index=index,
               goals=kit.COMPANY_GOALS)
        stakeholders = list(row["stakeholders"]) if isinstance(row["stakeholders"], list | np.ndarray) else None
        expect(bool(stakeholders) and set(stakeholders) <= set(kit.STAKEHOLDERS),
               "orientations row {index}: stakeholders must be a non-empty list among {stakeholders}", index=index,
               stakeholders=kit.STAKEHOLDERS)
        people.update(stakeholders)
        expect(row["criterion"] in truth.index, "orientations row {index}: criterion must be one of the radar's "
               "{criteria}", index=index, criteria=kit.CRITERIA)
        baseline, target = (_number(row[column], VerdictFailed("orientations row {index}: {column}", index=index,
                                                               column=column)) for column in ("baseline", "target"))
        expect(_close(baseline, float(truth[row["criterion"]]), 1e-4),
               "orientations row {index}: the baseline of {criterion} is not the site's measured value (take it from "
               "your radar)", index=index, criterion=row["criterion"])
        expect(baseline < target <= 1.0, "orientations row {index}: the target must improve on the baseline, and a "
               "share stays <= 1", index=index)
        deadline = _date(str(row["deadline"]), VerdictFailed("orientations row {index}: deadline", index=index))
        expect(horizon[0] <= deadline <= horizon[1], "orientations row {index}: the deadline falls outside the "
               "plan's horizon ({start} to {end})", index=index, start=kit.PLAN_START, end=kit.PLAN_END)
    expect(people & set(kit.EXTERNAL_STAKEHOLDERS), "orientations: involve at least one stakeholder outside the "
           "company ({external})", external=kit.EXTERNAL_STAKEHOLDERS)
    missing = sorted(set(weakest(truth_radar(variant.seed))) - set(table["criterion"]))
    expect(not missing, "orientations: the site's weakest criteria need an objective; measure again which they are")


@VERDICTS.cell("strategy_weakest_test")
def weakest_criteria(evidence: Evidence, variant: Variant) -> None:
    """The two (or three) weakest criteria of the site, from the lowest score up."""
    chosen = _names(evidence["weakest"], "weakest")
    expect(2 <= len(chosen) <= 3 and len(set(chosen)) == len(chosen),
           "weakest: the 2 (or 3) criteria with the lowest scores, each once")
    scores = truth_radar(variant.seed)["score"]
    expect(set(chosen) <= set(scores.index), "weakest: criteria of the radar, among {criteria}", criteria=kit.CRITERIA)
    threshold = float(scores.sort_values().iloc[len(chosen) - 1])  # ties at the threshold may go either way
    expect(all(scores[name] <= threshold + TOLERANCE for name in chosen),
           "weakest: these are not the criteria with the lowest scores on your site")


@VERDICTS.cell("strategy_recommendations_test")
def recommendations(evidence: Evidence, variant: Variant) -> None:
    """Three to five recommendations aimed at the weakest criteria, each with levers the simulator knows; their
    estimated gains, rerun by the grader with the same seeds, match, and each gains on its own criterion."""
    table = _records(evidence["recommendations"], "recommendations", ("recommendation_id", "title", "criterion",
                                                                      "levers"))
    expect(3 <= len(table) <= MAX_RECOMMENDATIONS, "recommendations: 3 to {most} recommendations",
           most=MAX_RECOMMENDATIONS)
    expect(table["recommendation_id"].is_unique, "recommendations: each recommendation_id once")
    gains = _records(evidence["gains"], "gains", kit.CRITERIA)
    expect("recommendation_id" in gains, "gains: one row per recommendation_id, one column per criterion")
    gains = gains.set_index("recommendation_id")
    weak = set(weakest(truth_radar(variant.seed)))
    for _, row in table.iterrows():
        recommendation = row["recommendation_id"]
        expect(_text(row["title"]), "recommendation {recommendation}: give it a title", recommendation=recommendation)
        expect(row["criterion"] in weak, "recommendation {recommendation}: aim it at one of the site's two weakest "
               "criteria", recommendation=recommendation)
        levers = row["levers"]
        expect(isinstance(levers, dict) and levers, "recommendation {recommendation}: levers must be a non-empty dict "
               "(see kit.LEVERS)", recommendation=recommendation)
        try:
            kit.apply_levers(kit.variant_site_model(variant.seed), levers)
        except ValueError as error:
            raise VerdictFailed("recommendation {recommendation}: {error}", recommendation=recommendation,
                                error=str(error)) from None
        expect(recommendation in gains.index, "gains: no row for {recommendation}", recommendation=recommendation)
        rerun = estimated_gains(variant.seed, levers)
        for criterion in kit.CRITERIA:
            expect(_close(gains.loc[recommendation, criterion], float(rerun[criterion]), GAIN_TOLERANCE),
                   "recommendation {recommendation}: rerun by the grader with simulation_seeds(), the gain on "
                   "{criterion} differs from yours; simulate with and without the levers on those seeds and average "
                   "the scores", recommendation=recommendation, criterion=criterion)
        expect(rerun[row["criterion"]] > 0, "recommendation {recommendation}: these levers bring no maturity gain on "
               "{criterion}", recommendation=recommendation, criterion=row["criterion"])
    expect(weak <= set(table["criterion"]), "recommendations: each of the two weakest criteria needs one")


# --- verdicts: watch, matrix, plan --------------------------------------------------------------------------------


WATCH_COLUMNS = ("technology", "characteristics", "criteria", "orientation_id", "trl", "source_title", "source_url",
                 "publisher", "source_type", "published", "accessed")


@VERDICTS.cell("strategy_watch_test")
def watch(evidence: Evidence, variant: Variant) -> None:
    """At least 5 technologies, each tied to an orientation and to radar criteria, with its characteristics and a
    reliable source; every source identified, dated and recent; the collection shared as a CSV file."""
    table = _records(evidence["watch"], "watch", WATCH_COLUMNS)
    orientations_ids = set(_names(evidence["orientation_ids"], phrase("orientation ids")))
    technologies = table["technology"]
    expect(technologies.map(_text).all() and technologies.nunique() >= 5, "watch: at least 5 technologies, named")
    today = pd.Timestamp.now().normalize()
    for index, row in table.iterrows():
        technology = row["technology"]
        expect(_text(row["characteristics"]), "watch row {index} ({technology}): state its main characteristics",
               index=index, technology=technology)
        criteria = list(row["criteria"]) if isinstance(row["criteria"], list | np.ndarray) else []
        expect(criteria and set(criteria) <= set(kit.CRITERIA), "watch row {index} ({technology}): criteria must "
               "list radar criteria it improves", index=index, technology=technology)
        expect(row["orientation_id"] in orientations_ids, "watch row {index} ({technology}): orientation_id must be "
               "one of your orientations", index=index, technology=technology)
        expect(isinstance(row["trl"], int | np.integer) and 1 <= row["trl"] <= 9,
               "watch row {index} ({technology}): trl is an integer 1-9", index=index, technology=technology)
        expect(_text(row["source_title"]) and _text(row["publisher"]),
               "watch row {index} ({technology}): the source's title and publisher", index=index, technology=technology)
        expect(isinstance(row["source_url"], str) and URL.fullmatch(row["source_url"].strip()) is not None,
               "watch row {index} ({technology}): source_url must be a web address (https://...)", index=index,
               technology=technology)
        expect(row["source_type"] in kit.SOURCE_TYPES, "watch row {index} ({technology}): source_type must be one of "
               "{types}", index=index, technology=technology, types=kit.SOURCE_TYPES)
        published, accessed = (_date(str(row[column]), VerdictFailed("watch row {index} ({technology}): {column}",
                                                                     index=index, technology=technology, column=column))
                               for column in ("published", "accessed"))
        expect(published <= accessed <= today, "watch row {index} ({technology}): published, then accessed, and not in "
               "the future", index=index, technology=technology)
        expect(accessed - published <= pd.Timedelta(days=365.25 * kit.WATCH_MAX_AGE_YEARS),
               "watch row {index} ({technology}): a source more than {years} years old when you read it is not "
               "recent", index=index, technology=technology, years=kit.WATCH_MAX_AGE_YEARS)

    reliable = table[table["source_type"].isin(kit.RELIABLE_SOURCE_TYPES)]["technology"]
    unsupported = sorted(set(technologies) - set(reliable))
    expect(not unsupported, "watch: {unsupported} rest on vendor or press sources only; add a standard, a "
                            "regulation, an institution or a research paper", unsupported=unsupported)
    shared = evidence["shared"]
    # the condition apart: Babel's extractor takes a comma inside {} of the call for the end of an argument
    written = isinstance(shared, pd.DataFrame) and {"technology", "source_url"} <= set(shared.columns)
    expect(written, "the watch is not shared: write it to technology_watch.csv (watch.to_csv)")
    expect(sorted(shared["technology"]) == sorted(technologies) and sorted(shared["source_url"])
           == sorted(table["source_url"]), "technology_watch.csv does not hold the watch as it is now")


@VERDICTS.cell("strategy_matrix_function_test")
def matrix_function(evidence: Evidence, variant: Variant) -> None:
    """weighted_scores on the grader's matrices: each technology's weighted mean score."""
    results = evidence["scores"]
    probes = probe_matrices(variant.seed)
    expect(isinstance(results, list) and len(results) == len(probes), "weighted_scores: one result per matrix")
    for probe, got in zip(probes, results, strict=True):
        matrix = pd.DataFrame.from_dict(probe["matrix"], orient="index")
        weights = pd.Series(probe["weights"], dtype=float)
        expect(isinstance(got, dict) and set(got) == set(matrix.index),
               "weighted_scores: one global score per technology (a Series indexed by technology)")
        reference = weighted_scores(matrix, weights)
        for technology, value in reference.items():
            if _close(got[technology], value):
                continue
            # the first known mistake it reproduces, else what the score must be
            expect(not _close(got[technology], float((matrix.loc[technology] * weights).sum())),
                   "weighted_scores: divide by the sum of the weights (the grader's weights do not all add up to 1)")
            expect(not _close(got[technology], float(matrix.loc[technology].mean())),
                   "weighted_scores: weigh each impact (a plain mean ignores the weights)")
            raise VerdictFailed("weighted_scores: the global score is the weighted mean of the technology's impact "
                                "scores")


@VERDICTS.cell("strategy_matrix_test")
def matrix(evidence: Evidence, variant: Variant) -> None:
    """The watch's technologies, each with at least 4 impacts covering material, human and economic resources,
    scored 1-5 with one weight per impact; global scores and ranking consistent with them."""
    impacts = _records(evidence["impacts"], "impacts", ("technology", "impact", "resource", "score", "weight"))
    technologies = set(_names(evidence["technologies"], "watch technologies"))
    expect(set(impacts["technology"]) == technologies, "impacts: assess every technology of the watch, and only them")
    expect(not impacts.duplicated(["technology", "impact"]).any(), "impacts: each (technology, impact) once")
    expect(impacts["resource"].isin(kit.RESOURCE_KINDS).all(), "impacts: resource is one of {kinds}",
           kinds=kit.RESOURCE_KINDS)
    low, high = kit.SCORE_RANGE
    expect(impacts["score"].map(lambda s: plaindata.is_finite_number(s) and float(s).is_integer()
                                and low <= s <= high).all(),
           "impacts: scores are integers from {low} to {high}", low=low, high=high)
    expect(impacts["weight"].map(lambda w: plaindata.is_finite_number(w) and w > 0).all(), "impacts: weights > 0")
    for technology, mine in impacts.groupby("technology"):
        expect(len(mine) >= 4, "impacts: at least 4 impacts assessed for {technology}", technology=technology)
        expect(set(mine["resource"]) == set(kit.RESOURCE_KINDS),
               "impacts: the impacts of {technology} must cover material, human and economic resources",
               technology=technology)
    per_impact = impacts.groupby("impact")
    expect((per_impact["weight"].nunique() == 1).all() and (per_impact["resource"].nunique() == 1).all(),
           "impacts: an impact has one weight and one resource kind for every technology (one matrix)")
    expect((per_impact["technology"].nunique() == len(technologies)).all(),
           "impacts: assess the same impacts for every technology, or the scores cannot be compared")
    table = impacts.pivot(index="technology", columns="impact", values="score")
    reference = weighted_scores(table, per_impact["weight"].first())
    scores = evidence["global_scores"]
    expect(isinstance(scores, dict) and set(scores) == technologies, "global_scores: one score per technology")
    expect(all(_close(scores[t], float(v)) for t, v in reference.items()),
           "global_scores: not the weighted mean of the impacts' scores")
    ranking = _names(evidence["ranking"], "ranking")
    expect(sorted(ranking) == sorted(technologies) and [scores[t] for t in ranking] == sorted(scores.values(),
                                                                                             reverse=True),
           "ranking: every technology, from the highest global score to the lowest")


@VERDICTS.cell("strategy_plan_test")
def plan(evidence: Evidence, variant: Variant) -> None:
    """At least 3 development axes, each serving orientations with ranked technologies, dated within the horizon and
    budgeted within the envelope; every orientation served; the three best-ranked technologies in the plan."""
    table = _records(evidence["plan"], "plan", ("axis_id", "axis", "orientation_ids", "technologies", "start", "end",
                                                "budget_k_eur"))
    orientation_ids = set(_names(evidence["orientation_ids"], phrase("orientation ids")))
    ranking = _names(evidence["ranking"], "ranking")
    expect(len(table) >= 3 and table["axis_id"].is_unique, "plan: at least 3 axes, each axis_id once")
    horizon = (pd.Timestamp(kit.PLAN_START), pd.Timestamp(kit.PLAN_END))
    served, planned = set(), set()
    for _, row in table.iterrows():
        axis = row["axis_id"]
        expect(_text(row["axis"]), "plan axis {axis}: name the axis", axis=axis)
        ids = _names(list(row["orientation_ids"]), VerdictFailed("plan axis {axis}: orientation_ids", axis=axis))
        technologies = _names(list(row["technologies"]), VerdictFailed("plan axis {axis}: technologies", axis=axis))
        expect(ids and set(ids) <= orientation_ids, "plan axis {axis}: orientation_ids must name your orientations",
               axis=axis)
        expect(technologies and set(technologies) <= set(ranking), "plan axis {axis}: technologies come from your "
               "matrix", axis=axis)
        served.update(ids)
        planned.update(technologies)
        start, end = (_date(str(row[column]), VerdictFailed("plan axis {axis}: {column}", axis=axis, column=column))
                      for column in ("start", "end"))
        expect(horizon[0] <= start < end <= horizon[1], "plan axis {axis}: dates within {start} - {end}", axis=axis,
               start=kit.PLAN_START, end=kit.PLAN_END)
        budget = _number(row["budget_k_eur"], VerdictFailed("plan axis {axis}: budget_k_eur", axis=axis))
        expect(budget > 0, "plan axis {axis}: a budget", axis=axis)
    expect(served == orientation_ids, "plan: every orientation needs an axis that serves it")
    expect(set(ranking[:3]) <= planned, "plan: the three technologies your matrix ranks first belong in the plan")
    expect(table["budget_k_eur"].astype(float).sum() <= kit.PLAN_BUDGET_K_EUR + 1e-6,
           "plan: the axes' budgets exceed the direction's envelope ({budget:g} k€)", budget=kit.PLAN_BUDGET_K_EUR)


# --- verdicts: charter, schedule, WBS ----------------------------------------------------------------------------


def _wbs(evidence: Evidence) -> tuple[pd.DataFrame, pd.DataFrame]:
    wbs = _records(evidence["wbs"], "wbs", ("lot_id", "lot", "axis_id", "weeks", "depends_on", "purchases_k_eur"))
    allocations = _records(evidence["allocations"], "allocations", ("lot_id", "role", "days"))
    expect(wbs["lot_id"].is_unique, "wbs: each lot_id once")
    wbs["depends_on"] = wbs["depends_on"].map(lambda deps: list(deps) if isinstance(deps, list | np.ndarray) else deps)
    expect(wbs["depends_on"].map(lambda deps: isinstance(deps, list)).all(), "wbs: depends_on is a list of lot ids")
    expect(wbs["weeks"].map(lambda w: isinstance(w, int | np.integer) and w > 0).all(),
           "wbs: weeks is a whole number of weeks > 0")
    expect(allocations["role"].isin(list(kit.ROLES)).all(), "allocations: roles among {roles}", roles=list(kit.ROLES))
    expect(allocations["lot_id"].isin(wbs["lot_id"]).all(), "allocations: each names a lot of the WBS")
    expect(allocations["days"].map(lambda d: plaindata.is_finite_number(d) and d > 0).all(), "allocations: days > 0")
    return wbs, allocations


@VERDICTS.cell("strategy_schedule_test")
def schedule_function(evidence: Evidence, variant: Variant) -> None:
    """schedule on the grader's work breakdowns: each lot's early start and finish."""
    results = evidence["schedules"]
    probes = probe_wbs(variant.seed)
    expect(isinstance(results, list) and len(results) == len(probes), "schedule: one result per WBS")
    for lots, got in zip(probes, results, strict=True):
        reference = schedule(pd.DataFrame(lots))
        got = _records(got, "schedule", ("lot_id", "start_week", "finish_week")).set_index("lot_id")
        expect(set(got.index) == set(reference.index), "schedule: one row per lot, indexed by lot_id")
        for lot, row in reference.iterrows():
            expect(int(got.loc[lot, "start_week"]) == row["start_week"]
                   and int(got.loc[lot, "finish_week"]) == row["finish_week"],
                   "schedule: a lot starts (week 0 at the earliest) when every lot it depends on has finished, and "
                   "finishes its weeks later")


@VERDICTS.cell("strategy_charter_test")
def charter(evidence: Evidence, variant: Variant) -> None:
    """The charter: sponsor and manager, a scope drawn from the plan's axes, the site's main technical
    characteristics, resources and budget equal to the WBS's, within the axes' budgets, and dates that hold it."""
    document = evidence["charter"]
    expect(isinstance(document, dict), "charter must be a dict")
    for key in ("project", "sponsor", "manager", "axes", "orientation_ids", "out_of_scope", "start", "end",
                "budget_k_eur", "resources", "plant"):
        expect(key in document, "charter: missing {key!r}", key=key)
    expect(_text(document["project"]) and document["sponsor"] in kit.STAKEHOLDERS and document["manager"] in kit.ROLES,
           "charter: a project name, a sponsor among the stakeholders and a manager among the roles")
    plan_table = _records(evidence["plan"], "plan", ("axis_id", "orientation_ids", "budget_k_eur")).set_index("axis_id")
    axes = _names(document["axes"], "charter axes")
    expect(axes and set(axes) <= set(plan_table.index), "charter: its scope (axes) is a part of the strategic plan")
    served = {i for axis in axes for i in plan_table.loc[axis, "orientation_ids"]}
    expect(set(_names(document["orientation_ids"], "charter orientation_ids")) == served,
           "charter: orientation_ids are those the axes in scope serve")
    expect(_names(document["out_of_scope"], "charter out_of_scope"), "charter: say what is out of scope")
    wbs, allocations = _wbs(evidence)
    cost = float(wbs["purchases_k_eur"].astype(float).sum() + labour_cost_k_eur(allocations).sum())
    budget = _number(document["budget_k_eur"], "charter budget_k_eur")
    expect(abs(budget - cost) <= 0.5, "charter: the budget is the WBS's cost (purchases plus days at each role's "
                                      "day rate)")
    # the plan's envelope apart: Babel's extractor takes a comma inside [] of the call for the end of an argument
    envelope = plan_table.loc[axes, "budget_k_eur"].astype(float).sum()
    expect(budget <= envelope + 0.5, "charter: the budget exceeds what the plan gives the axes in scope")
    resources = document["resources"]
    days = allocations.groupby("role")["days"].sum()
    expect(isinstance(resources, dict) and set(resources) == set(days.index)
           and all(_close(resources[role], float(d), 1e-6) for role, d in days.items()),
           "charter: resources are the WBS's days per role")
    start, end = (_date(str(document[key]), f"charter {key}") for key in ("start", "end"))
    weeks = int(schedule(wbs[["lot_id", "weeks", "depends_on"]]).values.max())
    expect(pd.Timestamp(kit.PLAN_START) <= start and end <= pd.Timestamp(kit.PLAN_END),
           "charter: the project runs within {start} - {end}", start=kit.PLAN_START, end=kit.PLAN_END)
    expect(end - start >= pd.Timedelta(weeks=weeks), "charter: from start to end there is less time than the WBS "
                                                     "needs")
    plant_facts = document["plant"]
    expect(isinstance(plant_facts, dict), "charter: plant is a dict of the site's technical characteristics")
    for key, value in plant_characteristics(truth_site(variant.seed)).items():
        expect(key in plant_facts, "charter: plant needs {key!r}", key=key)
        right = plant_facts[key] == value if isinstance(value, str) else (
            plaindata.is_finite_number(plant_facts[key]) and abs(plant_facts[key] - value) <= SHARE_TOLERANCE * value)
        expect(right, "charter: plant {key!r} does not match the site's records", key=key)


@VERDICTS.cell("strategy_wbs_test")
def wbs_structure(evidence: Evidence, variant: Variant) -> None:
    """At least 5 lots covering every axis in scope, dependencies between existing lots without a cycle, resources
    on every lot, and no role loaded beyond its weekly capacity on the early-start schedule."""
    wbs, allocations = _wbs(evidence)
    expect(len(wbs) >= 5, "wbs: at least 5 lots")
    expect(wbs["lot"].map(_text).all(), "wbs: name every lot")
    axes = set(_names(evidence["axes"], "charter axes"))
    expect(set(wbs["axis_id"]) <= axes, "wbs: every lot serves an axis of the charter's scope")
    expect(axes <= set(wbs["axis_id"]), "wbs: every axis in the charter's scope needs at least one lot")
    expect(wbs["purchases_k_eur"].map(lambda p: plaindata.is_finite_number(p) and p >= 0).all(),
           "wbs: purchases_k_eur >= 0")
    unstaffed = sorted(set(wbs["lot_id"]) - set(allocations["lot_id"]))
    expect(not unstaffed, "wbs: lots {unstaffed} have no resource allocated", unstaffed=unstaffed)
    timing = schedule(wbs[["lot_id", "weeks", "depends_on"]])
    load = kit.weekly_load(allocations, timing)
    for role in load.columns:
        capacity = kit.ROLES[role]["capacity_days_per_week"]
        expect(load[role].max() <= capacity + 1e-9,
               "wbs: {role} is needed for more than {capacity:g} days a week; sequence the lots (dependencies) or "
               "spread them over more weeks", role=role, capacity=capacity)


# --- verdicts: dashboard, change, lessons learned -----------------------------------------------------------------


def _first_wrong(got: pd.DataFrame, reference: pd.DataFrame, what: VerdictFailed) -> tuple | None:
    """The first (column, index) where `got` differs from `reference`, None when it matches; the caller says why a
    figure is wrong (its message depends on the table)."""
    expect(set(reference.index) <= set(got.index), "{what}: one row per {index}", what=what,
           index=reference.index.name or phrase("lot"))
    for index, row in reference.iterrows():
        for column, value in row.items():
            expect(column in got.columns, "{what}: missing column {column!r}", what=what, column=column)
            if not _close(got.loc[index, column], float(value)):
                return column, index
    return None


@VERDICTS.cell("strategy_s_curve_test")
def s_curve_and_status(evidence: Evidence, variant: Variant) -> None:
    """The S-curve (planned, earned, actual, cumulative per week) and each lot's status at the status week, on the
    site's phase 1 log and on the grader's log; the dashboard draws the three curves."""
    for where, log, prefix in ((phrase("your log"), truth_log(variant.seed), "site"),
                               (phrase("the grader's log"), probe_log(variant.seed), "probe")):
        curve_name = VerdictFailed("S-curve of {where}", where=where)
        curve = _records(evidence[f"{prefix}_s_curve"], curve_name, ("week", "pv", "ev", "ac"))
        reference = s_curve(log, log.status_week)
        wrong = _first_wrong(curve.set_index("week"), reference, curve_name)
        if wrong is not None:
            raise VerdictFailed("S-curve of {where}: {column} at {index} is wrong; the planned value grows linearly "
                                "over a lot's planned weeks; earned value and actual cost keep a lot's last report "
                                "until the next one", where=where, column=wrong[0], index=wrong[1])
        status_name = VerdictFailed("lot status of {where}", where=where)
        status = _records(evidence[f"{prefix}_status"], status_name, ("lot_id", "pv", "ev", "ac", "spi",
                                                                      "cpi")).set_index("lot_id")
        wrong = _first_wrong(status, lot_status(log, log.status_week), status_name)
        if wrong is not None:
            raise VerdictFailed("lot status of {where}: {column} at {index} is wrong; SPI = EV / PV and CPI = EV / AC, "
                                "undefined (NaN) when PV or AC is 0", where=where, column=wrong[0], index=wrong[1])
    reference = s_curve(truth_log(variant.seed), truth_log(variant.seed).status_week)
    drawn = [trace for trace in evidence["figure"] if "y" in trace]
    for column in ("pv", "ev", "ac"):
        expect(any(len(trace["y"]) == len(reference) and all(_close(y, v) for y, v in
                                                             zip(trace["y"], reference[column], strict=True))
                   for trace in drawn),
               "dashboard: no curve of the figure draws {column} week by week (the S-curve)", column=column)


@VERDICTS.cell("strategy_pulse_test")
def pulse(evidence: Evidence, variant: Variant) -> None:
    """The teams' reading of the survey (adoption, trend, response rate, at risk, supporter) on the site's log and the
    grader's; a change plan that answers every team at risk with a lever, a supporter team and a date."""
    for where, log, prefix in ((phrase("your log"), truth_log(variant.seed), "site"),
                               (phrase("the grader's log"), probe_log(variant.seed), "probe")):
        got = _records(evidence[f"{prefix}_pulse"], VerdictFailed("team_pulse on {where}", where=where),
                       ("team", "adoption", "trend", "response_rate", "at_risk", "supporter")).set_index("team")
        reference = team_pulse(log)
        expect(set(got.index) == set(reference.index), "team_pulse on {where}: one row per team that answered",
               where=where)
        for team, row in reference.iterrows():
            for column in ("adoption", "trend", "response_rate"):
                expect(_close(got.loc[team, column], float(row[column])),
                       "team_pulse on {where}: {column} of {team} is wrong (last survey; trend against the survey "
                       "{months} months before it, NaN without one)", where=where, column=column, team=team,
                       months=kit.TREND_MONTHS)
            for column in ("at_risk", "supporter"):
                if bool(got.loc[team, column]) == bool(row[column]):
                    continue
                if got.loc[team, column]:
                    raise VerdictFailed("team_pulse on {where}: {team} is wrongly marked {column} (the brief's "
                                        "thresholds)", where=where, team=team, column=column)
                raise VerdictFailed("team_pulse on {where}: {team} is wrongly not marked {column} (the brief's "
                                    "thresholds)", where=where, team=team, column=column)
    reference = team_pulse(truth_log(variant.seed))
    plan_table = _records(evidence["change_plan"], "change_plan", ("team", "lever", "action", "supporter", "owner",
                                                                   "date"))
    supporters = set(reference.index[reference["supporter"]])
    for index, row in plan_table.iterrows():
        expect(row["lever"] in kit.CHANGE_LEVERS, "change_plan row {index}: lever must be one of {levers}",
               index=index, levers=kit.CHANGE_LEVERS)
        expect(_text(row["action"]) and _text(row["owner"]), "change_plan row {index}: an action and its owner",
               index=index)
        expect(row["supporter"] in supporters, "change_plan row {index}: the supporter is a team your survey shows as "
               "a supporter", index=index)
        _date(str(row["date"]), VerdictFailed("change_plan row {index}: date", index=index))
    missing = sorted(set(reference.index[reference["at_risk"]]) - set(plan_table["team"]))
    expect(not missing, "change_plan: no action for the teams at risk {missing}", missing=missing)


@VERDICTS.cell("strategy_rex_test")
def lessons_learned(evidence: Evidence, variant: Variant) -> None:
    """At least 3 lessons in at least 3 categories, each with a finding, the evidence it rests on, an improvement and
    an owner; together they cite the lots furthest behind schedule and over budget and a team at risk."""
    table = _records(evidence["rex"], "rex", ("lesson_id", "category", "finding", "evidence", "improvement", "owner"))
    expect(len(table) >= 3, "rex: at least 3 lessons")
    expect(table["category"].isin(kit.REX_CATEGORIES).all(), "rex: categories among {categories}",
           categories=kit.REX_CATEGORIES)
    expect(table["category"].nunique() >= 3, "rex: lessons in at least 3 categories (documents, method, "
                                             "communication...)")
    cited = set()
    for index, row in table.iterrows():
        expect(all(_text(row[column]) for column in ("finding", "improvement", "owner")),
               "rex row {index}: a finding, an improvement and its owner", index=index)
        evidence_items = list(row["evidence"]) if isinstance(row["evidence"], list | np.ndarray) else []
        expect(evidence_items, "rex row {index}: evidence lists the lots or teams the lesson rests on", index=index)
        cited.update(map(str, evidence_items))
    log = truth_log(variant.seed)
    status = lot_status(log, log.status_week)
    expect(status["spi"].idxmin() in cited, "rex: the lot furthest behind schedule (lowest SPI) is not among the "
                                            "evidence")
    expect(status["cpi"].idxmin() in cited, "rex: the lot furthest over budget (lowest CPI) is not among the evidence")
    pulse_table = team_pulse(log)
    expect(set(pulse_table.index[pulse_table["at_risk"]]) & cited, "rex: no team at risk among the evidence")
