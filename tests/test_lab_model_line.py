"""lab_model_line: its checks accept the truth and refuse typical mistakes; the notebook grades as it should."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lab_grading import grade_variants, solution_with

from autograde.catalogue import load_catalogue
from autograde.checks import lab_model_line as checks
from autograde.criteria_tags import read_graded_cells, validate_lab_tags

LAB = "lab_model_line"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SEED = 7


@pytest.fixture(scope="module")
def log():
    return checks.production_log(SEED)


def true_process_times(seed):
    plant = checks.plant_variant(seed)
    return {product.name: {step.station: {"dist": step.time.kind, **step.time.params} for step in product.routing}
            for product in plant.products.values()}


def test_a_variant_differs_from_the_default_plant_and_from_other_seeds_but_not_in_structure():
    seven, eleven = checks.plant_variant(7), checks.plant_variant(11)
    cnc = [plant.products["bracket"].routing[1].time.params["mean_s"] for plant in (seven, eleven)]
    assert cnc[0] != cnc[1] and all(0.92 * 95 <= mean <= 1.08 * 95 for mean in cnc)
    assert checks.reference_routings(7) == checks.reference_routings(11)
    assert seven.release == eleven.release
    assert checks.plant_variant(7) == seven, "the same seed gives the same variant"


def test_the_production_log_holds_only_what_the_mes_records_with_a_working_clock(log):
    assert list(log.events.columns) == ["t_s", "work_s", "kind", "machine", "part_id", "product", "reason"]
    assert list(log.states.columns) == ["t_s", "work_s", "machine", "state", "reason"]
    assert log.hours == 4 * 168
    # Two shifts minus two 15-minute breaks, five days a week.
    assert log.work_hours == pytest.approx(4 * 5 * 15.5)
    assert (np.diff(log.events["work_s"]) >= 0).all() and (log.events["work_s"] <= log.events["t_s"]).all()


def test_routings_and_flow_from_the_log_pass_and_a_reversed_routing_fails(log):
    checks.check_routings(checks.reference_routings(SEED), SEED)
    checks.check_flow(checks.reference_flow(log), log)
    wrong = checks.reference_routings(SEED)
    wrong["bracket"] = wrong["bracket"][::-1]
    with pytest.raises(AssertionError, match=r"routings\['bracket'\].*in order"):
        checks.check_routings(wrong, SEED)


def test_a_flow_that_forgets_scrap_fails(log):
    flow = checks.reference_flow(log)
    with pytest.raises(AssertionError, match=r"moves missing.*scrap"):
        checks.check_flow(flow[flow["to"] != "scrap"], log)


def test_a_learner_who_edits_their_log_does_not_change_what_the_checks_compare_with(log):
    tampered = checks.production_log(SEED)
    truth = checks.reference_reliability(tampered)
    tampered.events.loc[tampered.events["kind"] == "downtime_started", "reason"] = "maintenance"
    checks.check_reliability(truth, tampered)


def test_resources_read_from_the_setpoints_pass_and_a_wrong_buffer_fails(log):
    plant = checks.plant_variant(SEED)
    resources = pd.DataFrame({"buffer_capacity": [s.input_buffer for s in plant.stations.values()],
                              "has_breakdowns": [s.breakdowns is not None for s in plant.stations.values()]},
                             index=list(plant.stations))
    checks.check_resources(resources, 6, SEED)
    resources.loc["cnc", "buffer_capacity"] = 5
    with pytest.raises(AssertionError, match="buffer_capacity of cnc"):
        checks.check_resources(resources, 6, SEED)


def test_true_process_laws_pass_and_a_wrong_family_or_raw_durations_fail(log):
    checks.check_process_fits(true_process_times(SEED), log)
    exponential = {product: {station: {"dist": "exponential", "mean_s": checks.distribution_moments(law)[0]}
                             for station, law in steps.items()}
                   for product, steps in true_process_times(SEED).items()}
    with pytest.raises(AssertionError, match="not the family that fits"):
        checks.check_process_fits(exponential, log)
    inflated = true_process_times(SEED)
    inflated["housing"]["cnc"] = {**inflated["housing"]["cnc"], "mean_s": inflated["housing"]["cnc"]["mean_s"] * 1.06}
    with pytest.raises(AssertionError, match=r"above the plant's.*down or stopped"):
        checks.check_process_fits(inflated, log)


def test_reliability_from_up_time_passes_and_calendar_time_mtbf_fails(log):
    truth = checks.reference_reliability(log)
    checks.check_reliability(truth, log)
    checks.check_mix(checks.reference_mix(log), log)
    calendar = {name: {**values} for name, values in truth.items()}
    calendar["cnc"]["mtbf_hours"] = log.hours / 100  # hours of calendar per breakdown: far too long
    with pytest.raises(AssertionError, match=r"stations\['cnc'\]\['mtbf_hours'\].*up time"):
        checks.check_reliability(calendar, log)


def test_observed_kpis_in_calendar_time_fail(log):
    kpis = checks.reference_observed_kpis(log)
    checks.check_observed_kpis(kpis, log)
    calendar = {**kpis, "throughput_per_hour": kpis["throughput_per_hour"] * log.work_hours / log.hours}
    with pytest.raises(AssertionError, match=r"throughput_per_hour.*too low.*working clock"):
        checks.check_observed_kpis(calendar, log)


def test_a_normal_interval_instead_of_student_fails():
    checks.check_confidence_interval(lambda v: _student(v))
    with pytest.raises(AssertionError, match="Student's t"):
        checks.check_confidence_interval(lambda v: (np.mean(v) - 1.96 * np.std(v, ddof=1) / np.sqrt(len(v)),
                                                    np.mean(v) + 1.96 * np.std(v, ddof=1) / np.sqrt(len(v))))


def _student(values):
    from scipy import stats

    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def test_a_model_far_from_the_plant_fails_validation(log):
    observed = checks.kpi_table(checks.reference_observed_kpis(log))
    replications = pd.DataFrame([observed * factor for factor in (0.9, 0.91, 0.92, 0.9, 0.91)])
    validation = pd.DataFrame({"observed": observed, "model_mean": replications.mean(),
                               "ci_low": [_student(replications[k])[0] for k in observed.index],
                               "ci_high": [_student(replications[k])[1] for k in observed.index]})
    with pytest.raises(AssertionError, match="throughput_per_hour is off the plant's by"):
        checks.check_validation(validation, replications, log)


def test_the_lab_tags_cover_its_criteria():
    catalogue = load_catalogue()
    assert validate_lab_tags([SOURCE], catalogue, enforce_coverage=("rncp_mnsi:A3.1", "rncp_mnsi:A3.2")) == []


# --- wrong answers through the grader (test_labs.py grades the solution and the blank release) ------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution, except that every process time is modelled as exponential (the wrong distribution)."""
    exponential = solution_with("model_line_fit_answer", "best = min(ks, key=ks.get)", 'best = "exponential"')
    return grade_variants(tmp_path_factory.mktemp("course"), LAB, {"exponential": exponential})


@pytest.mark.slow
def test_a_model_with_the_wrong_distribution_loses_the_fit_and_validation_points(graded):
    scores = graded.auto_scores("exponential")
    assert len(scores) == sum(cell.mode == "auto" for cell in read_graded_cells(SOURCE)) >= 7
    lost = {name for name, (score, full) in scores.items() if score < full}
    assert lost == {"model_line_process_fits_test", "model_line_model_test", "model_line_validation_test"}
    assert sum(full - score for score, full in scores.values()) == 4 + 3 + 4
