"""lab_model_line: its verdicts accept the solution's evidence and the defensible readings the lab states, refuse
typical mistakes cell by cell (a learner loses the points of what is wrong only); the notebook grades as it should
through the sandboxed grader, each learner on their own graded variant."""

import os
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from lab_grading import grade_variants, solution_with, the_solution

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import read_graded_cells, validate_lab_tags
from autograde.variants import Variant, practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab_model_line as verdicts
from labkit import plaindata
from labkit.lab_model_line import (
    PROBE_CELLS,
    bottleneck,
    plant_variant,
    probe_model,
    production_log,
    simulate_production_log,
)
from labkit.lab_scenarios import run_model as plants_line_model

LAB = "lab_model_line"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"


@pytest.fixture(scope="module")
def variant():
    return practice_variant(LAB)


@pytest.fixture(scope="module")
def solution(variant, tmp_path_factory):
    """The solution notebook run on the variant's prepared folder: (evidence by grade_id, the notebook's names)."""
    folder = tmp_path_factory.mktemp("variant")
    (folder / "inputs").mkdir()
    verdicts.VERDICTS.prepare(variant, folder)
    recorded = {}

    def record(grade_id, **artefacts):  # what labkit.evidence.record sends, as the grader decodes it
        recorded[grade_id] = plaindata.roundtrip(artefacts)

    namespace = {}
    previous = os.environ.get("FACTORYLAB_VARIANT")
    os.environ["FACTORYLAB_VARIANT"] = str(folder)
    try:
        for cell in nbformat.read(SOURCE, as_version=4).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, "cell", "exec"), namespace)
                namespace["record"] = record
    finally:
        os.environ.pop("FACTORYLAB_VARIANT")
        if previous is not None:
            os.environ["FACTORYLAB_VARIANT"] = previous
    return {grade_id: Evidence(grade_id, artefacts) for grade_id, artefacts in recorded.items()}, namespace


def judge(grade_id, variant, **artefacts):
    verdicts.VERDICTS.cells[grade_id](Evidence(grade_id, artefacts), variant)


def evidence_of(solution, grade_id):
    return dict(solution[0][grade_id].artefacts)


def test_a_variant_differs_from_the_default_plant_and_from_other_seeds_but_not_in_structure():
    seven, eleven = plant_variant(7), plant_variant(11)
    cnc = [plant.products["bracket"].routing[1].time.params["mean_s"] for plant in (seven, eleven)]
    assert cnc[0] != cnc[1] and all(0.92 * 95 <= mean <= 1.08 * 95 for mean in cnc)
    assert verdicts.reference_routings(7) == verdicts.reference_routings(11)
    assert seven.release == eleven.release
    assert plant_variant(7) == seven, "the same seed gives the same variant"


def test_the_kernel_reads_the_graded_export_from_its_variant_folder_and_nothing_names_the_seed(tmp_path):
    variant = Variant(LAB, "ada", 3141592653589793238)
    (tmp_path / "inputs").mkdir()
    verdicts.VERDICTS.prepare(variant, tmp_path)
    os.environ["FACTORYLAB_VARIANT"] = str(tmp_path)
    try:
        log = production_log()
    finally:
        os.environ.pop("FACTORYLAB_VARIANT")
    truth = verdicts.truth_log(variant.seed)
    pd.testing.assert_frame_equal(log.events, truth.events)
    assert list(log.events.columns) == ["t_s", "work_s", "kind", "machine", "part_id", "product", "reason"]
    assert list(log.states.columns) == ["t_s", "work_s", "machine", "state", "reason"]
    assert log.hours == 4 * 168 and log.work_hours == pytest.approx(4 * 5 * 15.5)
    assert not hasattr(log, "seed")
    written = " ".join(path.read_bytes().decode("latin-1") for path in tmp_path.rglob("*") if path.is_file())
    assert str(variant.seed) not in written and "variant of the default plant, seed" not in written


def test_lab_scenarios_kit_answers_nothing_in_this_labs_kernel(tmp_path, monkeypatch):
    """lab_scenarios hands its kernel the plant's observed KPIs and the draft (routings, buffers, CONWIP cap) that
    this lab asks for: as the grader's data for a lab_scenarios variant, never computed from the export at hand."""
    from labkit import lab_scenarios

    (tmp_path / "inputs").mkdir()
    verdicts.VERDICTS.prepare(Variant(LAB, "ada", 2718281828459045235), tmp_path)
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    for given in (lab_scenarios.observed_kpis, lab_scenarios.draft_params):
        with pytest.raises(FileNotFoundError):
            given()


def test_the_solution_passes_every_verdict(solution, variant):
    evidence, _ = solution
    graded = {cell.grade_id for cell in read_graded_cells(SOURCE) if cell.mode == "auto"}
    assert set(evidence) == graded == set(verdicts.VERDICTS.cells)
    for grade_id, artefacts in evidence.items():
        verdicts.VERDICTS.cells[grade_id](artefacts, variant)


def test_each_graded_cell_judges_one_item_and_the_model_is_worth_more_than_the_plant_side_figures():
    """Partial credit: no automatic cell is worth more than 3 points; the model (probe and validation rerun) carries
    more points than the plant-side calculation and the statistics table together, and a written interpretation of
    the validation is graded."""
    cells = {cell.grade_id: cell for cell in read_graded_cells(SOURCE)}
    auto = {grade_id: cell.points for grade_id, cell in cells.items() if cell.mode == "auto"}
    assert max(auto.values()) <= 3
    modelling = sum(auto[g] for g in ("model_line_model_test", "model_line_release_test", "model_line_setpoint_test",
                                      "model_line_validation_test"))
    assert modelling >= 3 * (auto["model_line_observed_test"] + auto["model_line_validation_table_test"])
    assert cells["model_line_validation_note"].mode == "manual"
    assert "Cr3.2.3" in cells["model_line_validation_note"].criteria
    assert "model_line_ci_test" not in cells


# --- the map and the resources --------------------------------------------------------------------------------


def test_a_reversed_routing_fails_the_routing_cell_only(solution, variant):
    routings = evidence_of(solution, "model_line_routing_test")["routings"]
    wrong = {**routings, "bracket": routings["bracket"][::-1]}
    with pytest.raises(VerdictFailed, match=r"routings\['bracket'\].*in order"):
        judge("model_line_routing_test", variant, routings=wrong)
    judge("model_line_flow_test", variant, **evidence_of(solution, "model_line_flow_test"))


def test_a_flow_without_scrap_fails_the_flow_cell(solution, variant):
    flow = evidence_of(solution, "model_line_flow_test")["flow"]
    with pytest.raises(VerdictFailed, match=r"moves missing.*scrap"):
        judge("model_line_flow_test", variant, flow=flow[flow["to"] != "scrap"])


def test_parallel_branches_may_come_in_either_order_but_not_against_the_flow(solution, variant):
    artefacts = evidence_of(solution, "model_line_resources_test")
    resources = artefacts["resources"]
    order = list(resources.index)
    deburr, wash = order.index("deburr"), order.index("wash")
    order[deburr], order[wash] = order[wash], order[deburr]
    judge("model_line_resources_test", variant, resources=resources.loc[order], conwip_cap=artefacts["conwip_cap"])
    backwards = resources.loc[list(reversed(resources.index))]
    with pytest.raises(VerdictFailed, match="not in line order"):
        judge("model_line_resources_test", variant, resources=backwards, conwip_cap=artefacts["conwip_cap"])


def test_a_wrong_buffer_fails_without_revealing_the_capacity(solution, variant):
    artefacts = evidence_of(solution, "model_line_resources_test")
    resources = artefacts["resources"].copy()
    true_capacity = int(resources.loc["cnc", "buffer_capacity"])
    resources.loc["cnc", "buffer_capacity"] = true_capacity - 1
    with pytest.raises(VerdictFailed, match="buffer_capacity of cnc") as failure:
        judge("model_line_resources_test", variant, resources=resources, conwip_cap=artefacts["conwip_cap"])
    assert str(true_capacity) not in str(failure.value)
    judge("model_line_breakdown_stations_test", variant, resources=resources)  # the other item keeps its point


def test_a_wrong_breakdown_flag_fails_its_own_cell_only(solution, variant):
    artefacts = evidence_of(solution, "model_line_resources_test")
    resources = artefacts["resources"].copy()
    resources.loc["wash", "has_breakdowns"] = True
    with pytest.raises(VerdictFailed, match="has_breakdowns of wash"):
        judge("model_line_breakdown_stations_test", variant, resources=resources)
    judge("model_line_resources_test", variant, resources=resources, conwip_cap=artefacts["conwip_cap"])


# --- the parameters -------------------------------------------------------------------------------------------


def test_raw_durations_fail_the_net_times_and_a_wrong_family_fails_the_laws_only(solution, variant):
    log = production_log()
    events = log.events[log.events["kind"].isin(["part_started", "part_finished"])]
    raw = events.pivot_table(index=["machine", "part_id", "product"], columns="kind", values="t_s",
                             aggfunc="first").dropna().reset_index()
    raw = pd.DataFrame({"station": raw["machine"], "product": raw["product"],
                        "net_s": raw["part_finished"] - raw["part_started"]})
    with pytest.raises(VerdictFailed, match=r"net_times of .* mean is above .* up"):
        judge("model_line_net_times_test", variant, net_times=raw)
    fitted = evidence_of(solution, "model_line_process_fits_test")["process_times"]
    exponential = {product: {station: {"dist": "exponential", "mean_s": verdicts.distribution_moments(law)[0]}
                             for station, law in steps.items()} for product, steps in fitted.items()}
    with pytest.raises(VerdictFailed, match="not the family that fits"):
        judge("model_line_process_fits_test", variant, process_times=exponential)
    inflated = {product: dict(steps) for product, steps in fitted.items()}
    law = inflated["housing"]["cnc"]
    inflated["housing"]["cnc"] = {**law, **{key: value * 1.06 for key, value in law.items() if key != "dist"}}
    with pytest.raises(VerdictFailed, match=r"above the plant's.*down or stopped"):
        judge("model_line_process_fits_test", variant, process_times=inflated)


def _stations(solution):
    return {name: dict(values) for name, values in evidence_of(solution, "model_line_mtbf_test")["stations"].items()}


def test_a_calendar_time_mtbf_fails(solution, variant):
    stations = _stations(solution)
    stations["cnc"]["mtbf_hours"] *= 672 / 310  # calendar hours per breakdown
    with pytest.raises(VerdictFailed, match=r"stations\['cnc'\]\['mtbf_hours'\].*too high.*up time"):
        judge("model_line_mtbf_test", variant, stations=stations)
    judge("model_line_mttr_test", variant, stations=stations)


def _mttr(log, column, *, per_station=True):
    """Each station's MTTR (hours) from the breakdown records, on the clock `column`, pairing the records of each
    station (or, wrongly, pairing them across stations in the order they come)."""
    downs = log.events[log.events["reason"] == "breakdown"]
    starts, ends = (downs[downs["kind"] == kind] for kind in ("downtime_started", "downtime_ended"))
    if not per_station:
        durations = ends[column].to_numpy() - starts[column].to_numpy()[: len(ends)]
        paired = pd.Series(durations, index=ends["machine"].to_numpy())
        return {name: float(group.mean()) / 3600 for name, group in paired.groupby(level=0)}
    result = {}
    for name in starts["machine"].unique():
        began = starts.loc[starts["machine"] == name, column].to_numpy()
        ended = ends.loc[ends["machine"] == name, column].to_numpy()
        result[name] = float((ended - began[: len(ended)]).mean()) / 3600
    return result


def test_the_mttr_is_accepted_on_either_clock_but_not_from_records_paired_across_stations():
    """On variant 11 the two clocks give MTTRs more than 3 % apart, and breakdowns of different stations overlap
    enough that pairing the records in the order they come (not station by station) moves some MTTRs by more."""
    variant = Variant(LAB, "someone", 11)
    log = verdicts.truth_log(variant.seed)
    stations = list(log.states["machine"].unique())

    def judged(mttr):
        judge("model_line_mttr_test", variant, stations={name: {"mttr_hours": mttr.get(name)} for name in stations})

    calendar, working = _mttr(log, "t_s"), _mttr(log, "work_s")
    assert any(abs(working[name] / calendar[name] - 1) > verdicts.ESTIMATE_TOLERANCE for name in calendar)
    judged(calendar)
    judged(working)
    with pytest.raises(VerdictFailed, match=r"mttr_hours.*pairing the records of this station only"):
        judged(_mttr(log, "t_s", per_station=False))


def test_ignored_scrap_fails_the_scrap_and_mix_cell(solution, variant):
    artefacts = evidence_of(solution, "model_line_scrap_mix_test")
    stations = {name: {**values, "scrap_rate": 0.0} for name, values in artefacts["stations"].items()}
    with pytest.raises(VerdictFailed, match=r"scrap_rate.*log shows none|scrap_rate.*too low|must be a positive"):
        judge("model_line_scrap_mix_test", variant, stations=stations, mix=artefacts["mix"])
    with pytest.raises(VerdictFailed, match="mix"):
        judge("model_line_scrap_mix_test", variant, stations=artefacts["stations"],
              mix=dict.fromkeys(artefacts["mix"], 0.5))


def test_observed_kpis_in_calendar_time_fail(solution, variant):
    observed = evidence_of(solution, "model_line_observed_test")["observed"]
    calendar = {**observed, "throughput_per_hour": observed["throughput_per_hour"] * 310 / 672}
    with pytest.raises(VerdictFailed, match=r"throughput_per_hour is too low.*working clock"):
        judge("model_line_observed_test", variant, observed=calendar)


# --- the model: judged on the grader's line, cases and seeds ---------------------------------------------------


def probe_verdict(run_model, variant, cell):
    probe = verdicts.probe_for(variant.seed)
    runs = probe_model(run_model, probe, PROBE_CELLS[cell], repeat=cell == "model")
    judge(f"model_line_{cell}_test", variant, probe_runs=plaindata.decode("r", *plaindata.encode("r", runs)))


def test_the_probe_carries_a_speed_setpoint_on_the_bottleneck():
    probe = verdicts.probe_for(7)
    slowest = probe["bottleneck"]
    assert slowest == bottleneck(probe["params"]) == "cnc"
    faster = probe["cases"]["bottleneck_speed"]["stations"]
    assert faster[slowest]["speed"] > 1.0
    assert all("speed" not in spec for name, spec in faster.items() if name != slowest)


def test_a_model_that_returns_the_cap_as_its_wip_passes_under_conwip_and_fails_under_open_release(solution, variant):
    """Under CONWIP the WIP is the cap by construction: it is no evidence, so the model cell does not judge it."""
    model = solution[1]["run_model"]

    def cap_as_wip(params, *, hours, seed):
        return {**model(params, hours=hours, seed=seed), "mean_wip": float(params["conwip"])}

    probe_verdict(cap_as_wip, variant, "model")
    with pytest.raises(VerdictFailed, match=r"open release.*mean_wip.*time-average"):
        probe_verdict(cap_as_wip, variant, "release")


def test_a_model_that_echoes_the_plants_observed_kpis_fails(solution, variant):
    observed = evidence_of(solution, "model_line_observed_test")["observed"]

    def echo(params, *, hours, seed):
        noise = 1.0 + 0.001 * (seed % 7)
        return {**{name: observed[name] * noise for name in verdicts.KPI_NAMES},
                "utilisation": dict(observed["utilisation"])}

    with pytest.raises(VerdictFailed, match="on the grader's line"):
        probe_verdict(echo, variant, "model")


def test_identical_or_unseeded_replications_fail(solution, variant):
    model = solution[1]["run_model"]
    with pytest.raises(VerdictFailed, match="identical"):
        probe_verdict(lambda params, *, hours, seed: model(params, hours=hours, seed=1), variant, "model")
    rng = np.random.default_rng()
    with pytest.raises(VerdictFailed, match="same seed gave different KPIs"):
        probe_verdict(lambda params, *, hours, seed: model(params, hours=hours, seed=int(rng.integers(10**6))),
                      variant, "model")


def test_a_model_that_calls_the_plants_own_simulator_fails(variant):
    with pytest.raises(VerdictFailed, match="the plant's own simulator"):
        probe_verdict(lambda params, *, hours, seed: plants_line_model(params, hours=hours, seed=seed), variant,
                      "model")


def test_a_model_without_breakdowns_fails_on_the_bottlenecks_utilisation(solution, variant):
    model = solution[1]["run_model"]

    def reliable(params, *, hours, seed):
        stations = {name: {**spec, "mtbf_hours": None} for name, spec in params["stations"].items()}
        return model({**params, "stations": stations}, hours=hours, seed=seed)

    with pytest.raises(VerdictFailed, match=r"bottleneck \(cnc\)'s utilisation is too high"):
        probe_verdict(reliable, variant, "model")


def test_a_model_that_ignores_the_speed_setpoint_fails_the_setpoint_cell_only(solution, variant):
    model = solution[1]["run_model"]

    def deaf(params, *, hours, seed):
        stations = {name: {key: value for key, value in spec.items() if key != "speed"}
                    for name, spec in params["stations"].items()}
        return model({**params, "stations": stations}, hours=hours, seed=seed)

    with pytest.raises(VerdictFailed, match="does not respond to the bottleneck's speed setpoint"):
        probe_verdict(deaf, variant, "setpoint")
    probe_verdict(deaf, variant, "model")
    probe_verdict(deaf, variant, "release")


def test_a_model_that_multiplies_by_the_speed_responds_the_wrong_way(solution, variant):
    model = solution[1]["run_model"]

    def backwards(params, *, hours, seed):
        stations = {name: {**spec, "speed": 1.0 / spec.get("speed", 1.0)} for name, spec in params["stations"].items()}
        return model({**params, "stations": stations}, hours=hours, seed=seed)

    with pytest.raises(VerdictFailed, match="responds too little to the bottleneck's speed setpoint"):
        probe_verdict(backwards, variant, "setpoint")


# --- validation: the grader's rerun decides -------------------------------------------------------------------


def test_a_validation_table_taken_on_trust_does_not_pass_a_model_far_from_the_plant(solution, variant):
    artefacts = evidence_of(solution, "model_line_validation_table_test")
    # The learner's table may say anything: the model, rerun on the grader's seeds, makes 8 % fewer parts.
    rerun = artefacts["rerun"].copy()
    rerun["throughput_per_hour"] *= 0.92
    with pytest.raises(VerdictFailed, match=r"rerun on the grader's seeds.*throughput_per_hour"):
        judge("model_line_validation_test", variant, rerun=rerun)
    # A table made up rather than run: replications 6 % above the plant, with a token spread.
    observed = artefacts["validation"]["observed"]
    made_up = pd.DataFrame([observed * factor * 1.06 for factor in (0.999, 1.0, 1.001, 1.0005, 0.9995)])
    table = pd.DataFrame({"observed": observed, "model_mean": made_up.mean(),
                          "ci_low": [verdicts.student_interval(made_up[k])[0] for k in observed.index],
                          "ci_high": [verdicts.student_interval(made_up[k])[1] for k in observed.index]})
    with pytest.raises(VerdictFailed, match="replications: their throughput_per_hour does not agree"):
        judge("model_line_validation_table_test", variant, validation=table, replications=made_up,
              rerun=artefacts["rerun"])


def test_the_bottlenecks_utilisation_is_judged_first_and_the_wip_not_at_all_in_the_validation(solution, variant):
    rerun = evidence_of(solution, "model_line_validation_test")["rerun"].copy()
    wip_off = rerun.assign(mean_wip=rerun["mean_wip"] * 1.5)
    judge("model_line_validation_test", variant, rerun=wip_off)  # the cap by construction: no evidence either way
    busy = rerun.assign(utilisation_cnc=rerun["utilisation_cnc"] + 0.05, throughput_per_hour=rerun[
        "throughput_per_hour"] * 1.05)
    with pytest.raises(VerdictFailed, match=r"the bottleneck's utilisation \(utilisation_cnc\)"):
        judge("model_line_validation_test", variant, rerun=busy)


def test_normal_instead_of_student_intervals_fail_the_validation_table(solution, variant):
    artefacts = evidence_of(solution, "model_line_validation_table_test")
    replications = artefacts["replications"]
    table = artefacts["validation"].copy()
    half = 1.96 * replications.std(ddof=1) / np.sqrt(len(replications))
    table["ci_low"], table["ci_high"] = replications.mean() - half, replications.mean() + half
    with pytest.raises(VerdictFailed, match="Student-t interval"):
        judge("model_line_validation_table_test", variant, validation=table, replications=replications,
              rerun=artefacts["rerun"])


def test_the_lab_tags_cover_its_criteria():
    catalogue = load_catalogue()
    assert validate_lab_tags([SOURCE], catalogue, enforce_coverage=("rncp_mnsi:A3.1", "rncp_mnsi:A3.2")) == []


def test_the_kit_simulates_the_practice_export_from_the_public_seed():
    log = simulate_production_log(7)
    assert (np.diff(log.events["work_s"]) >= 0).all() and (log.events["work_s"] <= log.events["t_s"]).all()


# --- through the grader (test_labs.py grades the solution and the blank release of every lab) ------------------

SPEED = 'sample(process_rng[part["product"], name]) / speed[name]'


def _exponential_and_deaf(versions):
    """A learner who models every process time as exponential and whose model ignores the speed setpoint."""
    versions = solution_with("model_line_fit_answer", "best = min(ks, key=ks.get)", 'best = "exponential"')(versions)
    cell = next(c for c in versions.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "model_line_model")
    assert SPEED in cell.source
    cell.source = cell.source.replace(SPEED, 'sample(process_rng[part["product"], name])')
    return versions


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution as two learners (two secret variants), a learner with two mistakes, and the blank release."""
    return grade_variants(tmp_path_factory.mktemp("course"), LAB,
                          {"ada": the_solution, "bob": the_solution, "two_mistakes": _exponential_and_deaf,
                           "blank": lambda versions: versions.released})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert all(len(graded.auto_scores(learner)) == 15 for learner in ("ada", "bob"))


@pytest.mark.slow
def test_two_mistakes_cost_the_points_of_their_own_cells_only(graded):
    # The wrong family costs the laws and the validation rerun, not the net times; the model ignoring the speed
    # setpoint costs the setpoint cell, not the others judged on the grader's line.
    assert graded.lost_points("two_mistakes") == {"model_line_process_fits_test": 2, "model_line_validation_test": 3,
                                                  "model_line_setpoint_test": 2}


@pytest.mark.slow
def test_the_blank_release_scores_zero_on_every_automatic_cell(graded):
    scores = graded.auto_scores("blank")
    assert scores and all(score == 0 for score, _top in scores.values()), scores
