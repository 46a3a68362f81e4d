"""Verdicts of lab_model_line: the learner's map, resources, fits, model and validation against their plant variant.

Each learner's plant is a variant of the default plant (labkit.lab_model_line.plant_variant) drawn from their
graded seed; the preparer hands the kernel only its four-week MES export (the observed records) and the grader's
questions: a probe line for the model (another variant, other setpoints, the grader's seeds) and the seeds of the
validation rerun. The truth (the variant's hidden parameters and the grader's own copy of the export) is rebuilt
here from the seed. A cell judges one item, so a learner loses the points of what is wrong only. Tolerances:
- routings, flows, buffers, the CONWIP cap, the stations that break down: exact; the stations in any order the
  parts' flow allows (deburr and wash are parallel branches);
- net process times: each (product, station)'s count within 1 %, mean within 1 % and standard deviation within
  5 % of the log's;
- process-time laws: the distribution family of the plant, its mean within max(2 %, 4 standard errors of the
  sample mean) and its standard deviation within max(10 %, 4 standard errors) of the hidden values;
- MTBF, MTTR, scrap rates and product mix: within 3 % of what the log supports; the MTTR on either clock (calendar
  `t_s`: the repair's duration; working `work_s`: the downtime a working-time model sees);
- observed KPIs: within 0.5 % of the reference computation;
- the model, run by the kernel on the grader's probe line: each case's mean KPIs close to factorylab's own line
  run on the same parameters (the brief's tolerances widened by the sampling error of both), its response to the
  bottleneck's speed setpoint too, but never factorylab's line itself (the same KPIs as the plant's simulator for
  the same seed). The WIP is judged under open release only: under CONWIP it is the cap by construction;
- the validation: the learner's table consistent with their replications, and the model rerun on the grader's
  seeds within the brief's tolerances of the plant's observed throughput, cycle time and utilisations.
"""

import itertools
import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, Phrase, VerdictFailed, expect, phrase
from labkit import plaindata
from labkit.lab_model_line import (
    PROBE_CELLS,
    UP_STATES,
    ProductionLog,
    bottleneck,
    distribution_moments,
    kpi_table,
    log_inputs,
    model_probe,
    plant_params,
    plant_variant,
    simulate_production_log,
)
from labkit.lab_scenarios import (
    MIN_REPLICATIONS,
    MODEL_TOLERANCE,
    net_process_times,
    run_model,
    variant_observed_kpis,
)
from simulators.seeding import stream

VERDICTS = LabVerdicts("lab_model_line")
ESTIMATE_TOLERANCE = 0.03
REFERENCE_REPLICATIONS = 12
# A probe case's KPI may sit this many standard errors (of the difference of two means) from the reference,
# never more than PROBE_MAX_TOLERANCE times the brief's tolerance.
PROBE_SIGMAS = 4.0
PROBE_MAX_TOLERANCE = 3.0
KPI_NAMES = ("throughput_per_hour", "mean_cycle_time_s", "mean_wip")
OBSERVED_TOLERANCE = 0.005  # how far a learner's figure of the plant's observed KPI may sit from the grader's
NET_COUNT_TOLERANCE = 0.01  # net process times: parts per (product, station), relative
NET_MEAN_TOLERANCE = 0.01  # their mean, relative
NET_SD_TOLERANCE = 0.05  # their standard deviation, relative
RESPONSE_TOLERANCE = 0.03  # the throughput's relative response to the setpoint, absolute (0.03 = 3 points)
CASE_WORDS = {"as_is": phrase("as it is"),
              "other_conwip": phrase("with another CONWIP cap"),
              "open_release": phrase("with open release (release_interval_s set: parts enter on exponential "
                                     "interarrival times whatever the WIP, the CONWIP cap unused)"),
              "bottleneck_speed": phrase("with its bottleneck's speed setpoint raised (process times divided by the "
                                         "station's speed)")}


# --- the truth and the grader's inputs ----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def truth_log(seed: int) -> ProductionLog:
    """The grader's copy of the export of the variant of `seed` (the one its kernel receives)."""
    return simulate_production_log(seed)


def grader_seed(seed: int, purpose: str) -> int:
    """A seed of the grader's own for `purpose`, derived from the variant's (the kernel sees neither)."""
    return int(stream(seed, "grader", purpose).integers(2**62))


def probe_for(seed: int) -> dict:
    return model_probe(grader_seed(seed, "model_probe"))


def validation_seeds(seed: int) -> list[int]:
    return [int(value) for value in stream(seed, "grader", "validation").choice(10**6, MIN_REPLICATIONS, replace=False)]


@VERDICTS.preparer
def prepare(variant: Variant, folder) -> None:
    inputs = folder / "inputs"
    for name, value in log_inputs(truth_log(variant.seed)).items():
        plaindata.write(inputs, name, value)
    plaindata.write(inputs, "model_probe", probe_for(variant.seed))
    plaindata.write(inputs, "validation_seeds", validation_seeds(variant.seed))


def bottleneck_of(seed: int) -> str:
    """The variant's bottleneck: the station with the most work per released part."""
    return bottleneck(plant_params(plant_variant(seed)))


def reference_routings(seed: int) -> dict[str, list[str]]:
    return plant_params(plant_variant(seed))["routings"]


def reference_flow(log: ProductionLog) -> pd.DataFrame:
    """Moves of parts between steps: release -> first station, station -> station (counted when the part
    starts at the next one), station -> scrap, last station -> shipped."""
    events = log.events
    started = events[events["kind"] == "part_started"]
    previous = started.groupby("part_id")["machine"].shift(1).fillna("release")
    moves = pd.DataFrame({"from": previous.to_numpy(), "to": started["machine"].to_numpy()})
    for kind, target in (("part_scrapped", "scrap"), ("part_completed", "shipped")):
        rows = events[events["kind"] == kind]
        moves = pd.concat([moves, pd.DataFrame({"from": rows["machine"].to_numpy(), "to": target})])
    flow = moves.groupby(["from", "to"]).size().rename("parts").reset_index()
    return flow.sort_values(["from", "to"]).reset_index(drop=True)


def reference_reliability(log: ProductionLog) -> dict[str, dict]:
    """Per station: MTBF (up hours per breakdown), MTTR (mean repair hours) and scrap rate, from the log."""
    events, states = log.events, log.states
    horizon_s = log.hours * 3600.0
    result = {}
    for station, station_states in states.groupby("machine", sort=False):
        t = np.append(station_states["t_s"].to_numpy(), horizon_s)
        up_s = float((np.diff(t) * station_states["state"].isin(UP_STATES).to_numpy()).sum())
        mine = events[(events["machine"] == station)]
        starts = mine[(mine["kind"] == "downtime_started") & (mine["reason"] == "breakdown")]["t_s"].to_numpy()
        ends = mine[(mine["kind"] == "downtime_ended") & (mine["reason"] == "breakdown")]["t_s"].to_numpy()
        finished = (mine["kind"] == "part_finished").sum()
        scrapped = (mine["kind"] == "part_scrapped").sum()
        result[station] = {
            "mtbf_hours": up_s / 3600.0 / len(starts) if len(starts) else None,
            "mttr_hours": float(np.mean(ends - starts[: len(ends)])) / 3600.0 if len(ends) else None,
            "scrap_rate": float(scrapped / finished) if finished else 0.0,
        }
    return result


def reference_mix(log: ProductionLog) -> dict[str, float]:
    released = log.events[log.events["kind"] == "part_released"]["product"].value_counts(normalize=True)
    return {product: float(share) for product, share in released.items()}


@lru_cache(maxsize=4)
def observed_truth(seed: int) -> pd.Series:
    """The plant's KPIs over the export of the variant of `seed`, flattened (what lab_scenarios' kernel receives)."""
    return pd.Series(variant_observed_kpis(seed), dtype=float)


def reference_mttr_working(log: ProductionLog) -> dict[str, float | None]:
    """Per station: the mean repair time in working hours (work_s from downtime_started to downtime_ended of its
    breakdowns): a repair that runs on into a planned stop counts only its working part."""
    events = log.events
    result = {}
    for station in log.states["machine"].unique():
        mine = events[(events["machine"] == station) & (events["reason"] == "breakdown")]
        starts = mine[mine["kind"] == "downtime_started"]["work_s"].to_numpy()
        ends = mine[mine["kind"] == "downtime_ended"]["work_s"].to_numpy()
        result[station] = float(np.mean(ends - starts[: len(ends)])) / 3600.0 if len(ends) else None
    return result


@lru_cache(maxsize=16)
def probe_reference(seed: int, case: str) -> pd.DataFrame:
    """factorylab's own line run on the probe's parameters for `case` (seeds of the grader's own)."""
    probe = probe_for(seed)
    params = {**probe["params"], **probe["cases"][case]}
    return pd.DataFrame([kpi_table(run_model(params, hours=probe["hours"], seed=9_000 + replication))
                         for replication in range(REFERENCE_REPLICATIONS)])


# --- helpers, shared with lab_scenarios' verdicts ---------------------------------------------------------------


def student_interval(values) -> tuple[float, float]:
    """The 95 % Student-t interval of the mean of `values`."""
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def kpi_gap(name: str, value: float, target: float) -> tuple[float, float]:
    """(gap, tolerance) of a KPI against the brief's tolerance: relative, except utilisations (absolute)."""
    if name.startswith("utilisation_"):
        return abs(value - target), MODEL_TOLERANCE["utilisation"]
    return abs(value / target - 1.0), MODEL_TOLERANCE[name]


def tolerance_gaps(model_means: pd.Series, observed: pd.Series) -> pd.Series:
    """Each KPI's gap in units of the brief's tolerance (1.0 = at the limit)."""
    gaps = {}
    for name, target in observed.items():
        gap, tolerance = kpi_gap(name, model_means[name], target)
        gaps[name] = gap / tolerance
    return pd.Series(gaps, dtype=float)


def near_plant(value, target: float) -> bool:
    """Whether a learner's figure of a plant's observed KPI is the grader's, within OBSERVED_TOLERANCE."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return False
    return abs(value - target) <= OBSERVED_TOLERANCE * abs(target) + 1e-9


def summarises(values, mean, low, high) -> tuple[bool, bool]:
    """Whether `mean` is the mean of `values`, and whether (low, high) is their 95 % Student-t interval."""
    values = np.asarray(values, dtype=float)
    true_low, true_high = student_interval(values)
    scale = max(1.0, abs(values.mean()))
    return (abs(mean - values.mean()) <= 1e-9 * scale,
            abs(low - true_low) <= 1e-6 * scale and abs(high - true_high) <= 1e-6 * scale)


def check_statistics(table: pd.DataFrame, replications: pd.DataFrame, observed: pd.Series, what: str,
                     hint: Phrase) -> None:
    """`table` has a row per KPI of `observed` with the plant's value (`observed`), and the mean (`model_mean`) and
    95 % Student-t interval (`ci_low`, `ci_high`) of that KPI's column in `replications`; `hint` (a phrase: it is
    translated with the message) says where the plant's value comes from."""
    for name, target in observed.items():
        expect(name in table.index, "{what}: no row for KPI {name}", what=what, name=name)
        row = table.loc[name]
        expect(near_plant(row["observed"], target), "{what}: observed {name} is not the plant's; {hint}",
               what=what, name=name, hint=hint)
        mean_right, interval_right = summarises(replications[name], row["model_mean"], row["ci_low"], row["ci_high"])
        expect(mean_right, "{what}: model_mean of {name} is not the mean of its replications", what=what, name=name)
        expect(interval_right, "{what}: the 95 % CI of {name} is not the Student-t interval of its replications "
                               "(n-1 degrees of freedom, sample standard deviation)", what=what, name=name)


def _number(value, where: str) -> float:
    expect(plaindata.is_finite_number(value), "{where}: must be a finite number, got {kind}",
           where=where, kind=type(value).__name__)
    return float(value)


def dataframe(value, what: str) -> pd.DataFrame:
    expect(isinstance(value, pd.DataFrame), "{what} must be a pandas DataFrame", what=what)
    return value


def _observed_kpis(kpis) -> pd.Series:
    """The learner's observed KPIs, checked numeric, flattened (their messages name them in words, whole)."""
    expect(isinstance(kpis, dict) and isinstance(kpis.get("utilisation"), dict),
           "observed KPIs must be a dict with throughput_per_hour, mean_cycle_time_s, mean_wip and utilisation "
           "(a dict station -> share of working time running)")
    for name in KPI_NAMES:
        expect(plaindata.is_finite_number(kpis.get(name)), "observed KPIs: {name}: must be a finite number, got {kind}",
               name=name, kind=type(kpis.get(name)).__name__)
    for station, value in kpis["utilisation"].items():
        expect(plaindata.is_finite_number(value),
               "observed KPIs: utilisation of {station}: must be a finite number, got {kind}",
               station=station, kind=type(value).__name__)
    return kpi_table(kpis)


def column_fault(frame: pd.DataFrame, columns) -> tuple[str | None, bool]:
    """The first of `columns` that `frame` lacks or holds something else than finite numbers in, and whether it
    lacks it; (None, False) when all are there and numeric. Its callers word the message (a literal template)."""
    for column in columns:
        if column not in frame.columns:
            return column, True
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            return column, False
    return None, False


def numeric_columns(frame: pd.DataFrame, columns, what: str) -> None:
    column, missing = column_fault(frame, columns)
    expect(not missing, "{what}: missing column {column!r}", what=what, column=column)
    expect(column is None, "{what}: column {column!r} must hold finite numbers", what=what, column=column)


def _rerun_kpis(rerun: pd.DataFrame, names) -> None:
    """The grader's rerun of the learner's run_model: complete, every KPI a finite number."""
    expect(len(rerun) == MIN_REPLICATIONS, "rerun: record the grader's rerun of run_model, unchanged")
    column, missing = column_fault(rerun, names)
    expect(not missing, "run_model's KPIs on the grader's seeds: missing column {column!r}", column=column)
    expect(column is None, "run_model's KPIs on the grader's seeds: column {column!r} must hold finite numbers",
           column=column)


# --- verdicts: the map and the resources ---------------------------------------------------------------------


@VERDICTS.cell("model_line_routing_test")
def routing(evidence: Evidence, variant: Variant) -> None:
    """The routing of each product: its stations, in order."""
    routings, truth = evidence["routings"], reference_routings(variant.seed)
    expect(isinstance(routings, dict), "routings must be a dict product -> list of stations")
    expect(sorted(routings) == sorted(truth), "routings: not one entry per product of the log; read `product` in "
                                              "the events")
    for product, stations in truth.items():
        expect(isinstance(routings[product], list) and routings[product] == stations,
               "routings[{product!r}]: not the stations a {product} visits, in order; take each part's "
               "part_started machines in time order and keep the sequence of complete parts", product=product)


@VERDICTS.cell("model_line_flow_test")
def flow(evidence: Evidence, variant: Variant) -> None:
    """The parts of every move: release -> first station, station -> station, station -> scrap, -> shipped."""
    flow = dataframe(evidence["flow"], "flow")
    missing = {"from", "to", "parts"} - set(flow.columns)
    expect(not missing, "flow: missing column(s) {missing}; expected from, to, parts", missing=sorted(missing))
    numeric_columns(flow, ["parts"], "flow")
    mine = flow.groupby(["from", "to"])["parts"].sum()
    expected = reference_flow(truth_log(variant.seed)).set_index(["from", "to"])["parts"]
    absent = sorted(set(expected.index) - set(mine.index))
    expect(not absent, "flow: moves missing: {moves} (release, scrap and shipped moves count too)", moves=absent[:5])
    extra = sorted(set(mine.index) - set(expected.index))
    expect(not extra, "flow: moves the parts never make: {moves}", moves=extra[:5])
    wrong = [move for move in expected.index if mine[move] != expected[move]]
    expect(not wrong, "flow: wrong part counts for the move(s) {moves}; a move to a station counts when the "
                      "part starts there", moves=wrong[:3])


def _resources_table(evidence: Evidence, plant) -> pd.DataFrame:
    table = dataframe(evidence["resources"], "resources")
    expect(sorted(map(str, table.index)) == sorted(plant.stations) and table.index.is_unique,
           "resources: the index must list every station of the line once")
    return table


@VERDICTS.cell("model_line_resources_test")
def resources(evidence: Evidence, variant: Variant) -> None:
    """The stations in an order of the flow, each buffer's capacity, the CONWIP cap."""
    plant = plant_variant(variant.seed)
    table = _resources_table(evidence, plant)
    position = {name: index for index, name in enumerate(table.index)}
    for product in plant.products.values():
        steps = [step.station for step in product.routing]
        expect(all(position[a] < position[b] for a, b in itertools.pairwise(steps)),
               "resources: the stations are not in line order: a {product} visits {steps} in this "
               "order (stations on parallel branches may come in either order)",
               product=product.name, steps=", ".join(steps))
    expect("buffer_capacity" in table.columns, "resources: missing column 'buffer_capacity'")
    for name, station in plant.stations.items():
        capacity = table.loc[name, "buffer_capacity"]
        expect(capacity == station.input_buffer,
               "resources: buffer_capacity of {name} is wrong: read the buffer setpoints of the log", name=name)
    cap = evidence["conwip_cap"]
    expect(isinstance(cap, int) and cap == plant.release.wip_cap,
           "conwip_cap is wrong: read the conwip setpoint of the log (an int)")


@VERDICTS.cell("model_line_breakdown_stations_test")
def breakdown_stations(evidence: Evidence, variant: Variant) -> None:
    """Which stations break down."""
    plant = plant_variant(variant.seed)
    table = _resources_table(evidence, plant)
    expect("has_breakdowns" in table.columns, "resources: missing column 'has_breakdowns'")
    for name, station in plant.stations.items():
        expect(bool(table.loc[name, "has_breakdowns"]) == (station.breakdowns is not None),
               "resources: has_breakdowns of {name} is wrong: check its downtime events (reason breakdown)",
               name=name)


# --- verdicts: the parameters ---------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def reference_net_times(seed: int) -> pd.DataFrame:
    """Count, mean and standard deviation of the net process times of each (product, station) of the log."""
    samples = net_process_times(truth_log(seed))
    return samples.groupby(["product", "station"])["net_s"].agg(["count", "mean", "std"])


@VERDICTS.cell("model_line_net_times_test")
def net_times(evidence: Evidence, variant: Variant) -> None:
    """The net process times (up time between start and finish) of every (product, station), as the log gives."""
    table = dataframe(evidence["net_times"], "net_times")
    missing = {"station", "product", "net_s"} - set(table.columns)
    expect(not missing, "net_times: missing column(s) {missing}; expected station, product, net_s",
           missing=sorted(missing))
    numeric_columns(table, ["net_s"], "net_times")
    mine = table.assign(net_s=pd.to_numeric(table["net_s"])).groupby(
        [table["product"].astype(str), table["station"].astype(str)])["net_s"].agg(["count", "mean", "std"])
    for (product, station), truth in reference_net_times(variant.seed).iterrows():
        expect((product, station) in mine.index, "net_times of {product} at {station}: no rows",
               product=product, station=station)
        got = mine.loc[(product, station)]
        fits = abs(got["count"] / truth["count"] - 1.0) <= NET_COUNT_TOLERANCE
        if got["count"] > truth["count"]:
            expect(fits, "net_times of {product} at {station}: more rows than the parts the station started and "
                         "finished (one row per part_started with its part_finished, station by station)",
                   product=product, station=station)
        else:
            expect(fits, "net_times of {product} at {station}: fewer rows than the parts the station started and "
                         "finished (one row per part_started with its part_finished, station by station)",
                   product=product, station=station)
        fits = abs(got["mean"] / truth["mean"] - 1.0) <= NET_MEAN_TOLERANCE
        if got["mean"] > truth["mean"]:
            expect(fits, "net_times of {product} at {station}: the mean is above the log's net times; count only the "
                         "time the station was up (running, starved or blocked) between start and finish: a "
                         "breakdown or a planned stop during the operation is not processing",
                   product=product, station=station)
        else:
            expect(fits, "net_times of {product} at {station}: the mean is below the log's net times; count only the "
                         "time the station was up (running, starved or blocked) between start and finish: a "
                         "breakdown or a planned stop during the operation is not processing",
                   product=product, station=station)
        fits = abs(got["std"] / truth["std"] - 1.0) <= NET_SD_TOLERANCE
        if got["std"] > truth["std"]:
            expect(fits, "net_times of {product} at {station}: the spread is wider than the log's net times; count "
                         "only the station's up time between start and finish", product=product, station=station)
        else:
            expect(fits, "net_times of {product} at {station}: the spread is narrower than the log's net times; count "
                         "only the station's up time between start and finish", product=product, station=station)


@VERDICTS.cell("model_line_process_fits_test")
def process_fits(evidence: Evidence, variant: Variant) -> None:
    """Each (product, station) process time: family, mean and sd against the plant's hidden distribution."""
    process_times = evidence["process_times"]
    expect(isinstance(process_times, dict), "process_times must be a dict product -> station -> distribution")
    plant = plant_variant(variant.seed)
    counts = reference_net_times(variant.seed)["count"]
    for product in plant.products.values():
        expect(isinstance(process_times.get(product.name), dict), "process_times: no entry for {product!r}",
               product=product.name)
        for step in product.routing:
            fitted = process_times[product.name].get(step.station)
            where = f"process_times[{product.name!r}][{step.station!r}]"
            expect(isinstance(fitted, dict) and "dist" in fitted,
                   "{where}: must be a plant-file distribution like {{'dist': 'normal', 'mean_s': 60, 'sd_s': 6}}",
                   where=where)
            truth = step.time
            expect(fitted["dist"] == truth.kind,
                   "{where}: {dist!r} is not the family that fits these times best; compare the "
                   "candidates' goodness of fit (e.g. Kolmogorov-Smirnov) on the net process times",
                   where=where, dist=fitted["dist"])
            try:
                mean_s, sd_s = (_number(value, where) for value in distribution_moments(fitted))
            except (KeyError, TypeError, ValueError):
                raise VerdictFailed("{where}: missing or malformed parameters for a {dist} law",
                                    where=where, dist=fitted["dist"]) from None
            n = int(counts.get((product.name, step.station), 1))
            true_mean_s, true_sd_s = distribution_moments({"dist": truth.kind, **truth.params})
            mean_tolerance = max(0.02, 4.0 * true_sd_s / true_mean_s / math.sqrt(n))
            fits = abs(mean_s / true_mean_s - 1.0) <= mean_tolerance
            if mean_s > true_mean_s:
                expect(fits, "{where}: mean {mean_s:.1f} s is above the plant's by more than {tolerance:.1%}; did you "
                             "take out the time the station was down or stopped?",
                       where=where, mean_s=mean_s, tolerance=mean_tolerance)
            else:
                expect(fits, "{where}: mean {mean_s:.1f} s is below the plant's by more than {tolerance:.1%}; did you "
                             "take out the time the station was down or stopped?",
                       where=where, mean_s=mean_s, tolerance=mean_tolerance)
            if true_sd_s > 0:
                sd_tolerance = max(0.10, 4.0 / math.sqrt(2 * n))
                fits = abs(sd_s / true_sd_s - 1.0) <= sd_tolerance
                if sd_s > true_sd_s:
                    expect(fits, "{where}: standard deviation {sd_s:.1f} s is above the plant's by more than "
                                 "{tolerance:.0%}", where=where, sd_s=sd_s, tolerance=sd_tolerance)
                else:
                    expect(fits, "{where}: standard deviation {sd_s:.1f} s is below the plant's by more than "
                                 "{tolerance:.0%}", where=where, sd_s=sd_s, tolerance=sd_tolerance)


def _stations(evidence: Evidence) -> dict:
    stations = evidence["stations"]
    expect(isinstance(stations, dict) and all(isinstance(value, dict) for value in stations.values()),
           "stations must be a dict station -> {buffer, mtbf_hours, mttr_hours, scrap_rate}")
    return stations


def _estimate(value, targets: list[float | None], where: str) -> tuple[bool, bool]:
    """Whether `value` is within ESTIMATE_TOLERANCE of one of `targets` (the defensible readings), and whether it
    is above the nearest; it must be none/0 when there is nothing to estimate, else a positive number. The caller
    says what to check when it is too high or too low (a literal message for each)."""
    if all(target is None or target == 0.0 for target in targets):
        expect(not value, "{where}: the log shows none at this station, so it must be None or 0", where=where)
        return True, False
    expect(plaindata.is_finite_number(value) and value > 0, "{where}: must be a positive number", where=where)
    gaps = [value / target - 1.0 for target in targets if target]
    nearest = min(gaps, key=abs)
    return abs(nearest) <= ESTIMATE_TOLERANCE, nearest > 0


@VERDICTS.cell("model_line_mtbf_test")
def mtbf(evidence: Evidence, variant: Variant) -> None:
    """Each station's MTBF: its up hours per breakdown."""
    stations = _stations(evidence)
    for station, expected in reference_reliability(truth_log(variant.seed)).items():
        expect(station in stations, "stations: no entry for {station!r}", station=station)
        value, where = stations[station].get("mtbf_hours"), f"stations[{station!r}]['mtbf_hours']"
        fits, above = _estimate(value, [expected["mtbf_hours"]], where)
        if above:
            expect(fits, "{where} = {value:.4g} is too high for this log; MTBF counts the station's up time (running, "
                         "starved, blocked) per breakdown, not calendar time", where=where, value=value)
        else:
            expect(fits, "{where} = {value:.4g} is too low for this log; MTBF counts the station's up time (running, "
                         "starved, blocked) per breakdown, not calendar time", where=where, value=value)


@VERDICTS.cell("model_line_mttr_test")
def mttr(evidence: Evidence, variant: Variant) -> None:
    """Each station's MTTR, on the calendar clock or on the working clock (both defensible, both accepted)."""
    stations = _stations(evidence)
    log = truth_log(variant.seed)
    working = reference_mttr_working(log)
    for station, expected in reference_reliability(log).items():
        expect(station in stations, "stations: no entry for {station!r}", station=station)
        value, where = stations[station].get("mttr_hours"), f"stations[{station!r}]['mttr_hours']"
        fits, above = _estimate(value, [expected["mttr_hours"], working[station]], where)
        if above:
            expect(fits, "{where} = {value:.4g} is too high for this log; MTTR is the mean time from a breakdown's "
                         "downtime_started to its downtime_ended, in hours, pairing the records of this station only "
                         "(other stations' records come in between)", where=where, value=value)
        else:
            expect(fits, "{where} = {value:.4g} is too low for this log; MTTR is the mean time from a breakdown's "
                         "downtime_started to its downtime_ended, in hours, pairing the records of this station only "
                         "(other stations' records come in between)", where=where, value=value)


@VERDICTS.cell("model_line_scrap_mix_test")
def scrap_mix(evidence: Evidence, variant: Variant) -> None:
    """Each station's scrap rate, and the product mix of the released parts."""
    stations = _stations(evidence)
    log = truth_log(variant.seed)
    for station, expected in reference_reliability(log).items():
        expect(station in stations, "stations: no entry for {station!r}", station=station)
        value, where = stations[station].get("scrap_rate"), f"stations[{station!r}]['scrap_rate']"
        fits, above = _estimate(value, [expected["scrap_rate"]], where)
        if above:
            expect(fits, "{where} = {value:.4g} is too high for this log; scrap rate = parts scrapped at the station / "
                         "parts it finished", where=where, value=value)
        else:
            expect(fits, "{where} = {value:.4g} is too low for this log; scrap rate = parts scrapped at the station / "
                         "parts it finished", where=where, value=value)
    mix, truth = evidence["mix"], reference_mix(log)
    expect(isinstance(mix, dict) and sorted(mix) == sorted(truth), "mix: one share per product of the log")
    for product, share in truth.items():
        expect(plaindata.is_finite_number(mix[product]) and abs(mix[product] - share) <= ESTIMATE_TOLERANCE * share,
               "mix[{product!r}]: not the share of the released parts", product=product)


# --- verdicts: the model, on the grader's probe line ----------------------------------------------------------


def _probe_runs(evidence: Evidence, variant: Variant, cases) -> tuple[dict, pd.DataFrame, list[str]]:
    """The probe, the learner's runs of `cases` (not the repeat) checked complete and numeric, and the KPI names."""
    runs = dataframe(evidence["probe_runs"], "probe_runs")
    probe = probe_for(variant.seed)
    kpis = [*KPI_NAMES, *(f"utilisation_{name}" for name in probe["params"]["stations"])]
    missing = {"case", "seed", "repeat"} - set(runs.columns)
    expect(not missing, "probe_runs: record the table probe_model returns")
    column, missing = column_fault(runs, kpis)
    expect(not missing, "run_model's KPIs (missing or not finite: every station's utilisation counts): missing column "
                        "{column!r}", column=column)
    expect(column is None, "run_model's KPIs (missing or not finite: every station's utilisation counts): column "
                           "{column!r} must hold finite numbers", column=column)
    first = runs[~runs["repeat"].astype(bool)]
    for case in cases:
        mine = first[first["case"] == case]
        expect(sorted(mine["seed"].astype(int)) == sorted(probe["seeds"]),
               "probe_runs: the {case!r} case lacks runs; record the table probe_model returns", case=case)
        seed = probe["seeds"][0]
        plants_own = kpi_table(run_model({**probe["params"], **probe["cases"][case]}, hours=probe["hours"], seed=seed))
        expect(not np.allclose(mine[mine["seed"] == seed][kpis].to_numpy(float), plants_own[kpis].to_numpy(float),
                               rtol=1e-9, atol=1e-12),
               "run_model gives, run for run, what the plant's own simulator gives ({case} case): the model must be "
               "your own SimPy model of the line, not a call to factorylab's", case=case)
        expect(mine["throughput_per_hour"].nunique() > 1 and mine["mean_cycle_time_s"].nunique() > 1,
               "run_model: different seeds gave identical results ({case} case); each replication must draw "
               "its own random numbers from its seed", case=case)
    return probe, runs, kpis


def _mean_gap(name: str, values: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """(gap, allowed) of a KPI's mean over runs against the reference's: the brief's tolerance widened by the
    sampling error of both, never beyond PROBE_MAX_TOLERANCE times the tolerance."""
    gap, tolerance = kpi_gap(name, values.mean(), expected.mean())
    error = math.sqrt(values.var(ddof=1) / len(values) + expected.var(ddof=1) / len(expected))
    if not name.startswith("utilisation_"):
        error /= abs(expected.mean())
    return gap, min(max(tolerance, PROBE_SIGMAS * error), PROBE_MAX_TOLERANCE * tolerance)


def _check_case(runs: pd.DataFrame, variant: Variant, probe: dict, case: str, kpis: list[str]) -> None:
    """The case's mean KPIs against the line's rules: the bottleneck's utilisation first, the WIP only where it
    is not set by the CONWIP cap."""
    mine = runs[(runs["case"] == case) & ~runs["repeat"].astype(bool)]
    reference = probe_reference(variant.seed, case)
    slowest = f"utilisation_{probe['bottleneck']}"
    judged = [slowest, "throughput_per_hour", "mean_cycle_time_s",
              *(name for name in kpis if name.startswith("utilisation_") and name != slowest)]
    if probe["cases"][case].get("release_interval_s"):
        judged.insert(3, "mean_wip")
    for name in judged:
        values, expected = mine[name].to_numpy(float), reference[name].to_numpy(float)
        gap, allowed = _mean_gap(name, values, expected)
        fits, high, line = gap <= allowed, values.mean() > expected.mean(), CASE_WORDS[case]
        if name == slowest and high:
            expect(fits, "run_model, on the grader's line {line}: the bottleneck ({bottleneck})'s utilisation is too "
                         "high: count only the time it processes (not waiting, blocked or down), over the simulated "
                         "time", line=line, bottleneck=probe["bottleneck"])
        elif name == slowest:
            expect(fits, "run_model, on the grader's line {line}: the bottleneck ({bottleneck})'s utilisation is too "
                         "low: count only the time it processes (not waiting, blocked or down), over the simulated "
                         "time", line=line, bottleneck=probe["bottleneck"])
        elif name == "mean_wip" and high:
            expect(fits, "run_model, on the grader's line {line}: mean_wip is too high: measure the WIP as the "
                         "time-average number of parts in the line, not the cap", line=line)
        elif name == "mean_wip":
            expect(fits, "run_model, on the grader's line {line}: mean_wip is too low: measure the WIP as the "
                         "time-average number of parts in the line, not the cap", line=line)
        elif high:
            expect(fits, "run_model, on the grader's line {line}: {name} is too high for the line's rules; check "
                         "release, blocking, breakdowns interrupting operations, scrap, speed and the counting rules",
                   line=line, name=name)
        else:
            expect(fits, "run_model, on the grader's line {line}: {name} is too low for the line's rules; check "
                         "release, blocking, breakdowns interrupting operations, scrap, speed and the counting rules",
                   line=line, name=name)


@VERDICTS.cell("model_line_model_test")
def model(evidence: Evidence, variant: Variant) -> None:
    """The learner's run_model, run by the kernel on the grader's probe line as it is (the grader's seeds, one run
    repeated), is reproducible, varies between seeds, and gives the throughput, cycle time and utilisations
    (the bottleneck's first) of factorylab's line on the same parameters."""
    probe, runs, kpis = _probe_runs(evidence, variant, PROBE_CELLS["model"])
    first = runs[~runs["repeat"].astype(bool)]
    again = runs[runs["repeat"].astype(bool)]
    expect(len(again) == 1, "probe_runs: record the table probe_model returns")
    original = first[(first["case"] == again["case"].iloc[0]) & (first["seed"] == again["seed"].iloc[0])]
    expect(len(original) == 1 and np.allclose(original[kpis].to_numpy(float), again[kpis].to_numpy(float),
                                              rtol=1e-9, atol=1e-12),
           "run_model: the same seed gave different KPIs; draw every random number from generators made from "
           "`seed` (stream(seed, 'model', ...)), never from global or unseeded state")
    for case in PROBE_CELLS["model"]:
        _check_case(runs, variant, probe, case, kpis)


@VERDICTS.cell("model_line_release_test")
def release(evidence: Evidence, variant: Variant) -> None:
    """The model with another CONWIP cap and with an open release (where the WIP is a result, not a setting)."""
    probe, runs, kpis = _probe_runs(evidence, variant, PROBE_CELLS["release"])
    for case in PROBE_CELLS["release"]:
        _check_case(runs, variant, probe, case, kpis)


@VERDICTS.cell("model_line_setpoint_test")
def setpoint(evidence: Evidence, variant: Variant) -> None:
    """The model's response to the bottleneck's speed setpoint: the throughput's relative change against the line
    as it is (same seeds) as factorylab's line responds, and the changed line's KPIs."""
    probe, runs, kpis = _probe_runs(evidence, variant, PROBE_CELLS["setpoint"])
    base, changed = PROBE_CELLS["setpoint"]

    def response(frame_base, frame_changed):
        a = frame_base["throughput_per_hour"].to_numpy(float)
        b = frame_changed["throughput_per_hour"].to_numpy(float)
        ratio = b.mean() / a.mean()
        error = ratio * math.sqrt(a.var(ddof=1) / len(a) / a.mean() ** 2 + b.var(ddof=1) / len(b) / b.mean() ** 2)
        return ratio - 1.0, error

    first = runs[~runs["repeat"].astype(bool)]
    mine, mine_error = response(first[first["case"] == base], first[first["case"] == changed])
    truth, truth_error = response(probe_reference(variant.seed, base), probe_reference(variant.seed, changed))
    allowed = min(max(RESPONSE_TOLERANCE, PROBE_SIGMAS * math.hypot(mine_error, truth_error)),
                  PROBE_MAX_TOLERANCE * RESPONSE_TOLERANCE)
    expect(abs(mine) > RESPONSE_TOLERANCE or abs(truth) <= RESPONSE_TOLERANCE,
           "run_model does not respond to the bottleneck's speed setpoint: its throughput hardly changes when "
           "{bottleneck} runs faster; divide each process time drawn at a station by the station's "
           "`speed` (params['stations'][name].get('speed', 1.0))", bottleneck=probe["bottleneck"])
    fits = abs(mine - truth) <= allowed
    if mine > truth:
        expect(fits, "run_model responds too much to the bottleneck's speed setpoint (throughput against the line as "
                     "it is, same seeds); a station's process time is the drawn time divided by its speed")
    else:
        expect(fits, "run_model responds too little to the bottleneck's speed setpoint (throughput against the line as "
                     "it is, same seeds); a station's process time is the drawn time divided by its speed")
    _check_case(runs, variant, probe, changed, kpis)


# --- verdicts: the validation ---------------------------------------------------------------------------------


@VERDICTS.cell("model_line_observed_test")
def observed(evidence: Evidence, variant: Variant) -> None:
    """The plant's KPIs computed in working time, against the reference computation (0.5 %)."""
    truth = observed_truth(variant.seed)
    mine = _observed_kpis(evidence["observed"])
    for name, target in truth.items():
        expect(name in mine.index, "observed KPIs: missing {name}", name=name)
        if mine[name] > target:
            expect(near_plant(mine[name], target), "observed KPIs: {name} is too high; use the working clock work_s "
                                                   "(planned production time), not calendar time", name=name)
        else:
            expect(near_plant(mine[name], target), "observed KPIs: {name} is too low; use the working clock work_s "
                                                   "(planned production time), not calendar time", name=name)


@VERDICTS.cell("model_line_validation_table_test")
def validation_table(evidence: Evidence, variant: Variant) -> None:
    """The validation table holds the plant's KPIs beside the means and Student-t intervals of at least five
    replications, and those replications come from the model (they agree with the grader's rerun of it)."""
    observed = observed_truth(variant.seed)
    table = dataframe(evidence["validation"], "validation")
    replications = dataframe(evidence["replications"], "replications")
    rerun = dataframe(evidence["rerun"], "rerun")
    names = list(observed.index)
    expect(len(replications) >= MIN_REPLICATIONS,
           "replications: one row per replication, at least {count}", count=MIN_REPLICATIONS)
    numeric_columns(replications, names, "replications")
    numeric_columns(table, ["observed", "model_mean", "ci_low", "ci_high"], "validation")
    check_statistics(table, replications, observed, "validation", phrase("take it from your observed KPIs"))
    expect(replications["throughput_per_hour"].nunique() > 1,
           "replications: identical rows; each replication needs its own seed")
    _rerun_kpis(rerun, names)
    for name in ("throughput_per_hour", "mean_cycle_time_s"):
        mine, grader = replications[name].to_numpy(float), rerun[name].to_numpy(float)
        error = math.sqrt(mine.var(ddof=1) / len(mine) + grader.var(ddof=1) / len(grader))
        expect(abs(mine.mean() - grader.mean()) <= max(6.0 * error, 0.005 * abs(grader.mean())),
               "replications: their {name} does not agree with the same model rerun on other seeds; build the "
               "table from run_model(params, hours=log.work_hours, seed=...) runs", name=name)


@VERDICTS.cell("model_line_validation_test")
def validation(evidence: Evidence, variant: Variant) -> None:
    """The learner's model with its fitted parameters, rerun by the kernel on the grader's seeds as long as the
    export, meets the brief's tolerances on the plant's throughput, cycle time and utilisations (the
    bottleneck's named first); the WIP, the cap by construction under CONWIP, is not the evidence."""
    observed = observed_truth(variant.seed)
    rerun = dataframe(evidence["rerun"], "rerun")
    names = list(observed.index)
    _rerun_kpis(rerun, names)
    expect(rerun["throughput_per_hour"].nunique() > 1,
           "run_model: different seeds gave identical results; each replication must draw its own random numbers")
    slowest = f"utilisation_{bottleneck_of(variant.seed)}"
    for name in [slowest, *(name for name in names if name not in (slowest, "mean_wip"))]:
        gap, tolerance = kpi_gap(name, rerun[name].mean(), observed[name])
        if name == slowest:
            expect(gap <= tolerance,
                   "validation: rerun on the grader's seeds, the model's the bottleneck's utilisation ({name}) is off "
                   "the plant's by more than the brief's tolerance ({tolerance:g}); check that parameter's fit, the "
                   "breakdowns and the routing rules", name=name, tolerance=tolerance)
        else:
            expect(gap <= tolerance,
                   "validation: rerun on the grader's seeds, the model's {name} is off the plant's by more than the "
                   "brief's tolerance ({tolerance:g}); check that parameter's fit, the breakdowns and the routing "
                   "rules", name=name, tolerance=tolerance)

