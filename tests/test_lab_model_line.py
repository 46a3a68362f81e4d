"""lab_model_line: its verdicts accept the solution's evidence and refuse typical mistakes; the notebook grades as it
should through the sandboxed grader, each learner on their own graded variant."""

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
from labkit.lab_model_line import plant_variant, probe_model, production_log, simulate_production_log
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


def test_a_reversed_routing_or_a_flow_without_scrap_fails(solution, variant):
    artefacts = evidence_of(solution, "model_line_routing_test")
    wrong = {**artefacts["routings"], "bracket": artefacts["routings"]["bracket"][::-1]}
    with pytest.raises(VerdictFailed, match=r"routings\['bracket'\].*in order"):
        judge("model_line_routing_test", variant, routings=wrong, flow=artefacts["flow"])
    flow = artefacts["flow"]
    with pytest.raises(VerdictFailed, match=r"moves missing.*scrap"):
        judge("model_line_routing_test", variant, routings=artefacts["routings"], flow=flow[flow["to"] != "scrap"])


def test_a_wrong_buffer_fails_without_revealing_the_capacity(solution, variant):
    artefacts = evidence_of(solution, "model_line_resources_test")
    resources = artefacts["resources"].copy()
    true_capacity = int(resources.loc["cnc", "buffer_capacity"])
    resources.loc["cnc", "buffer_capacity"] = true_capacity - 1
    with pytest.raises(VerdictFailed, match="buffer_capacity of cnc") as failure:
        judge("model_line_resources_test", variant, resources=resources, conwip_cap=artefacts["conwip_cap"])
    assert str(true_capacity) not in str(failure.value)


def test_a_wrong_family_or_raw_durations_fail_the_fits(solution, variant):
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


def test_a_calendar_time_mtbf_fails(solution, variant):
    artefacts = evidence_of(solution, "model_line_reliability_test")
    stations = {name: dict(values) for name, values in artefacts["stations"].items()}
    stations["cnc"]["mtbf_hours"] *= 672 / 310  # calendar hours per breakdown
    with pytest.raises(VerdictFailed, match=r"stations\['cnc'\]\['mtbf_hours'\].*too high.*up time"):
        judge("model_line_reliability_test", variant, stations=stations, mix=artefacts["mix"])


def test_observed_kpis_in_calendar_time_fail(solution, variant):
    observed = evidence_of(solution, "model_line_observed_test")["observed"]
    calendar = {**observed, "throughput_per_hour": observed["throughput_per_hour"] * 310 / 672}
    with pytest.raises(VerdictFailed, match=r"throughput_per_hour is too low.*working clock"):
        judge("model_line_observed_test", variant, observed=calendar)


def test_a_normal_interval_or_ddof_0_fails_on_the_graders_samples(variant):
    samples = verdicts.ci_samples(variant.seed)
    student = [list(verdicts.student_interval(values)) for values in samples]
    judge("model_line_ci_test", variant, intervals=student)
    for sd in (lambda v: 1.96 * np.std(v, ddof=1), lambda v: 2.0 * np.std(v, ddof=0)):
        wrong = [[float(np.mean(v) - sd(v) / np.sqrt(len(v))), float(np.mean(v) + sd(v) / np.sqrt(len(v)))]
                 for v in samples]
        with pytest.raises(VerdictFailed, match="Student's t"):
            judge("model_line_ci_test", variant, intervals=wrong)


# --- the model: judged on the grader's line, cases and seeds ---------------------------------------------------


def probe_verdict(run_model, variant):
    runs = probe_model(run_model, verdicts.probe_for(variant.seed))
    judge("model_line_model_test", variant, probe_runs=plaindata.decode("r", *plaindata.encode("r", runs)))


def test_a_model_that_returns_the_cap_as_its_wip_fails(solution, variant):
    model = solution[1]["run_model"]
    with pytest.raises(VerdictFailed, match=r"open release.*mean_wip.*time-average"):
        probe_verdict(lambda params, *, hours, seed: {**model(params, hours=hours, seed=seed),
                                                      "mean_wip": float(params["conwip"])}, variant)


def test_a_model_that_echoes_the_plants_observed_kpis_fails(solution, variant):
    observed = evidence_of(solution, "model_line_observed_test")["observed"]

    def echo(params, *, hours, seed):
        noise = 1.0 + 0.001 * (seed % 7)
        return {**{name: observed[name] * noise for name in verdicts.KPI_NAMES},
                "utilisation": dict(observed["utilisation"])}

    with pytest.raises(VerdictFailed, match="on the grader's line"):
        probe_verdict(echo, variant)


def test_identical_or_unseeded_replications_fail(solution, variant):
    model = solution[1]["run_model"]
    with pytest.raises(VerdictFailed, match="identical"):
        probe_verdict(lambda params, *, hours, seed: model(params, hours=hours, seed=1), variant)
    rng = np.random.default_rng()
    with pytest.raises(VerdictFailed, match="same seed gave different KPIs"):
        probe_verdict(lambda params, *, hours, seed: model(params, hours=hours, seed=int(rng.integers(10**6))),
                      variant)


def test_a_model_that_calls_the_plants_own_simulator_fails(variant):
    with pytest.raises(VerdictFailed, match="the plant's own simulator"):
        probe_verdict(lambda params, *, hours, seed: plants_line_model(params, hours=hours, seed=seed), variant)


def test_a_model_without_breakdowns_fails(solution, variant):
    model = solution[1]["run_model"]

    def reliable(params, *, hours, seed):
        stations = {name: {**spec, "mtbf_hours": None} for name, spec in params["stations"].items()}
        return model({**params, "stations": stations}, hours=hours, seed=seed)

    with pytest.raises(VerdictFailed, match="too high"):
        probe_verdict(reliable, variant)


# --- validation: the grader's rerun decides -------------------------------------------------------------------


def test_a_validation_table_taken_on_trust_does_not_pass_a_model_far_from_the_plant(solution, variant):
    artefacts = evidence_of(solution, "model_line_validation_test")
    observed = artefacts["validation"]["observed"]
    # The learner's table says "the model is the plant" (replications at the observed values, with noise)...
    replications = pd.DataFrame([observed * factor for factor in (0.999, 1.0, 1.001, 1.0005, 0.9995)])
    validation = pd.DataFrame({"observed": observed, "model_mean": replications.mean(),
                               "ci_low": [verdicts.student_interval(replications[k])[0] for k in observed.index],
                               "ci_high": [verdicts.student_interval(replications[k])[1] for k in observed.index]})
    # ... but the model, rerun on the grader's seeds, makes 8 % fewer parts.
    rerun = artefacts["rerun"].copy()
    rerun["throughput_per_hour"] *= 0.92
    with pytest.raises(VerdictFailed, match=r"rerun on the grader's seeds.*throughput_per_hour"):
        judge("model_line_validation_test", variant, validation=validation, replications=replications, rerun=rerun)
    # A table made up rather than run: replications 6 % above what the same model gives on other seeds.
    made_up = replications * 1.06
    table = pd.DataFrame({"observed": observed, "model_mean": made_up.mean(),
                          "ci_low": [verdicts.student_interval(made_up[k])[0] for k in observed.index],
                          "ci_high": [verdicts.student_interval(made_up[k])[1] for k in observed.index]})
    with pytest.raises(VerdictFailed, match="replications: their throughput_per_hour does not agree"):
        judge("model_line_validation_test", variant, validation=table, replications=made_up, rerun=artefacts["rerun"])


def test_the_lab_tags_cover_its_criteria():
    catalogue = load_catalogue()
    assert validate_lab_tags([SOURCE], catalogue, enforce_coverage=("rncp_mnsi:A3.1", "rncp_mnsi:A3.2")) == []


def test_the_kit_simulates_the_practice_export_from_the_public_seed():
    log = simulate_production_log(7)
    assert (np.diff(log.events["work_s"]) >= 0).all() and (log.events["work_s"] <= log.events["t_s"]).all()


# --- through the grader (test_labs.py grades the solution and the blank release) -------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution as two learners (two secret variants), and as a learner who models every process time as
    exponential (the wrong distribution)."""
    exponential = solution_with("model_line_fit_answer", "best = min(ks, key=ks.get)", 'best = "exponential"')
    return grade_variants(tmp_path_factory.mktemp("course"), LAB,
                          {"ada": the_solution, "bob": the_solution, "exponential": exponential})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert all(len(graded.auto_scores(learner)) >= 8 for learner in ("ada", "bob"))


@pytest.mark.slow
def test_a_model_with_the_wrong_distribution_loses_the_fit_and_validation_points_only(graded):
    # The model itself is judged on the grader's line: a wrong fit upstream does not cost its points.
    assert graded.lost_points("exponential") == {"model_line_process_fits_test": 4, "model_line_validation_test": 4}
