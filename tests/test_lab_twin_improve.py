"""lab_twin_improve: its checks grade gaps, the twin's fidelity, the monitoring plan, the test plan's setpoints
and the dashboards against the plant's truth; a twin built with the wrong process-time law loses the fidelity and
setpoint points (tests/test_labs.py grades the lab's solution and blank release through the grader)."""

import copy
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from lab_grading import cell_by_id

from autograde.checks import lab_twin_improve as checks
from autograde.checks.lab_model_line import distribution_moments
from autograde.criteria_tags import AUTO, read_graded_cells

LAB = "lab_twin_improve"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("gaps", "recalibrate", "action_plan", "monitoring", "dashboards")


@pytest.fixture(scope="module")
def seed7():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORYLAB_SEED", "7")
        yield


@pytest.fixture(scope="module")
def solution(seed7):
    """The source notebook's solution: its setup cell, solution cells and the given cells they need."""
    notebook = nbformat.read(SOURCE, as_version=4)
    namespace: dict = {}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    exec(compile(code[0].source, f"{LAB}:setup", "exec"), namespace)
    exec(compile(code[1].source, f"{LAB}:gaps", "exec"), namespace)  # net_process_times, process_time_gaps
    namespace["GAPS"] = namespace["process_time_gaps"](namespace["events"], namespace["states"], namespace["TWIN"])
    for name in SOLUTION_CELLS[1:]:
        source = cell_by_id(notebook, f"{LAB}_{name}").source
        if name == "recalibrate":
            source = source.split("print(")[0]  # skip the fidelity printout
        exec(compile(source, f"{LAB}:{name}", "exec"), namespace)
    show = next(cell for cell in code if cell.source.startswith("def show_figure"))
    exec(compile(show.source, f"{LAB}:show_figure", "exec"), namespace)
    return namespace


def exponential_cnc(params: dict) -> dict:
    """The wrong law: the CNC's process times exponential (same means), as a hasty fit would make them."""
    wrong = copy.deepcopy(params)
    for steps in wrong["process_times"].values():
        steps["cnc"] = {"dist": "exponential", "mean_s": distribution_moments(steps["cnc"])[0]}
    return wrong


# --- what learners get --------------------------------------------------------------------------------------


def test_the_stale_twin_differs_from_the_log_on_exactly_three_process_times():
    for seed in (7, 11):
        gaps = checks.reference_gaps(seed, checks.twin_params(seed))
        assert gaps["significant"].sum() == checks.STALE_PAIRS
        assert gaps.loc[~gaps["significant"], "gap"].abs().max() < 0.04


def test_twin_params_are_deterministic_per_seed_and_differ_between_seeds():
    assert checks.twin_params(7) == checks.twin_params(7)
    assert checks.twin_params(7)["process_times"] != checks.twin_params(11)["process_times"]


def test_the_plant_trial_shares_the_logs_breakdowns():
    events, _ = checks.plant_trial(dict(checks.CURRENT_SETPOINTS), seed=7)
    from autograde.checks.lab_twin_build import production_log
    log, _ = production_log(7)
    assert list(events["kind"].head(200)) == list(log["kind"].head(200))
    assert (events["kind"] == "part_completed").sum() == (log["kind"] == "part_completed").sum()


def test_working_seconds_count_shifts_without_breaks():
    assert checks.working_seconds(0.0, checks.LOG_HOURS * 3600.0) == 10 * (8 * 3600.0 - 900.0)
    assert checks.working_seconds(3 * 3600.0, 5 * 3600.0) == 2 * 3600.0 - 900.0  # 09:00-11:00, the break out


# --- gaps, recalibration, action plan ---------------------------------------------------------------------


def test_the_solution_gaps_pass_and_a_gross_process_time_fails(solution):
    gaps = solution["GAPS"]
    checks.check_gaps(gaps, seed=7)
    gross = gaps.copy()
    gross["plant_mean_s"] = gross["plant_mean_s"] * 1.08  # breakdowns and stops left in
    with pytest.raises(AssertionError, match="count only the station's up time"):
        checks.check_gaps(gross, seed=7)


def test_the_recalibrated_twin_is_faithful_and_the_stale_or_exponential_one_is_not(solution):
    calibrated = solution["CALIBRATED"]
    checks.check_twin_fidelity(calibrated)
    with pytest.raises(AssertionError, match="recalibrate every significant process time"):
        checks.check_twin_fidelity(solution["TWIN"])
    with pytest.raises(AssertionError, match="with CONWIP 3"):
        checks.check_twin_fidelity(exponential_cnc(calibrated))


def test_an_action_plan_that_skips_a_significant_gap_fails(solution):
    plan = solution["ACTION_PLAN"]
    checks.check_action_plan(plan, seed=7)
    skipped = plan[plan["gap"] != plan["gap"].iloc[0]]
    with pytest.raises(AssertionError, match="no action on the significant gap"):
        checks.check_action_plan(skipped, seed=7)
    undated = plan.assign(deadline="soon")
    with pytest.raises(AssertionError, match="deadline must be a date"):
        checks.check_action_plan(undated, seed=7)


# --- monitoring --------------------------------------------------------------------------------------------


def test_the_monitoring_plan_passes_and_limits_from_the_standard_deviation_fail(solution):
    plan, log = solution["MONITORING_PLAN"], solution["MONITORING_LOG"]
    checks.check_monitoring(plan, log, seed=7)
    reference = solution["HOURLY"][solution["HOURLY"].index < 2 * checks.DAY_S]
    naive = copy.deepcopy(plan)
    sd = reference["good_parts"].std()
    naive["good_parts"].update(lcl=reference["good_parts"].mean() - 3 * sd, ucl=reference["good_parts"].mean() + 3 * sd)
    with pytest.raises(AssertionError, match="mean moving range"):
        checks.check_monitoring(naive, log, seed=7)
    unflagged = log.assign(out_of_control=False)
    with pytest.raises(AssertionError, match="out_of_control"):
        checks.check_monitoring(plan, unflagged, seed=7)


# --- test plan and setpoints -------------------------------------------------------------------------------


def _test_plan(params: dict, seed: int = 7) -> tuple[pd.DataFrame, dict]:
    notebook = nbformat.read(SOURCE, as_version=4)
    namespace = {"SEED": seed}
    exec("import math\nimport numpy as np\nimport pandas as pd\nfrom scipy import stats\n"
         "from autograde.checks.lab_twin_improve import CURRENT_SETPOINTS, SWEEPS, contribution_eur, good_parts, "
         "twin_plant\n", namespace)
    source = cell_by_id(notebook, f"{LAB}_test_plan").source.split("started = ")[0]
    exec(compile(source, f"{LAB}:test_plan", "exec"), namespace)
    return namespace["run_test_plan"](params, replications=5)


@pytest.mark.slow
def test_setpoints_from_the_calibrated_twin_pass_and_from_the_exponential_twin_lose_the_conwip(solution):
    results, recommended = _test_plan(solution["CALIBRATED"])
    checks.check_test_plan(results, recommended)
    checks.check_setpoints(recommended)
    _, wrong = _test_plan(exponential_cnc(solution["CALIBRATED"]))
    with pytest.raises(AssertionError, match=r"^conwip = "):
        checks.check_setpoints(wrong)
    shuffled = dict(recommended, conwip=max(checks.SWEEPS["conwip"]))
    with pytest.raises(AssertionError, match="your test plan's best level"):
        checks.check_test_plan(results, shuffled)


def test_applied_setpoints_must_match_the_plants_status():
    recommended = {"conwip": 4, "cnc_speed": 1.2, "cnc_buffer": 1}
    replies = {name: {"ok": True} for name in ("a", "b", "c")}
    status = {"conwip": 4, "speeds": {"cnc": 1.2}, "buffers": {"cnc": {"capacity": 1}}}
    checks.check_applied(recommended, replies, status)
    with pytest.raises(AssertionError, match="CONWIP 6"):
        checks.check_applied(recommended, replies, dict(status, conwip=6))
    with pytest.raises(AssertionError, match="refused"):
        checks.check_applied(recommended, dict(replies, c={"ok": False, "reason": "out of range"}), status)


# --- dashboards --------------------------------------------------------------------------------------------


def test_the_solution_dashboards_show_the_truth_and_a_double_count_fails(solution):
    dashboards = solution["TwinDashboards"]
    checks.check_dashboards(dashboards, 25.0, seed=7)

    class DoubleCounting(dashboards):
        def update(self, topic, payload):
            super().update(topic, payload)
            if topic.endswith("/_events") and payload["kind"] == "part_completed":
                self.completed[-payload["part_id"]] = self.completed[payload["part_id"]]

    with pytest.raises(AssertionError, match="good parts this shift"):
        checks.check_dashboards(DoubleCounting, 25.0, seed=7)


# --- the notebook (test_labs.py grades its solution and blank release through the grader) -----------------------


def test_the_lab_has_eight_autograded_test_cells():
    assert sum(cell.mode == AUTO for cell in read_graded_cells(SOURCE)) == 8
