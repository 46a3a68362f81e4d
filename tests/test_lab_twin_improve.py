"""lab_twin_improve: its verdicts judge gaps, the twin's fidelity, the monitoring plan, the test plan's setpoints
and the dashboards against the plant's truth on the grader's side; a twin built with the wrong process-time law
loses the fidelity and setpoint points (tests/test_labs.py grades the lab's solution and blank release through
the grader)."""

import copy
import random
from dataclasses import replace
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from lab_grading import cell_by_id, grade_variants, solution_with, the_solution

from autograde.criteria_tags import AUTO, read_graded_cells
from autograde.variants import Variant, practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab_twin_improve as verdicts
from labkit import lab_twin_improve as kit
from labkit.lab_model_line import distribution_moments, plant_params
from labkit.lab_twin_build import week_export
from simulators.plantfile import load_plant

LAB = "lab_twin_improve"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("gaps", "recalibrate", "action_plan", "monitoring", "dashboards")
PRACTICE = practice_variant(LAB)
OTHER_OPTIMUM_SEED = 1831459956406241456  # a graded variant seed whose best CONWIP cap is not the documented plant's


@pytest.fixture(scope="module")
def practice_env():
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FACTORYLAB_SEED", raising=False)
        patch.delenv("FACTORYLAB_VARIANT", raising=False)
        yield


@pytest.fixture(scope="module")
def solution(practice_env):
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


def judge(grade_id: str, variant: Variant = PRACTICE, **artefacts) -> None:
    verdicts.VERDICTS.cells[f"{LAB}_{grade_id}"](Evidence(f"{LAB}_{grade_id}", artefacts), variant)


def exponential_cnc(params: dict) -> dict:
    """The wrong law: the CNC's process times exponential (same means), as a hasty fit would make them."""
    wrong = copy.deepcopy(params)
    for steps in wrong["process_times"].values():
        steps["cnc"] = {"dist": "exponential", "mean_s": distribution_moments(steps["cnc"])[0]}
    return wrong


# --- what learners get --------------------------------------------------------------------------------------


def test_the_stale_twin_differs_from_the_log_on_exactly_three_process_times():
    for seed in (7, 11):
        gaps = verdicts.reference_gaps(seed)
        assert gaps["significant"].sum() == kit.STALE_PAIRS
        assert gaps.loc[~gaps["significant"], "gap"].abs().max() < 0.04


def test_stale_twins_are_deterministic_per_seed_and_differ_between_seeds():
    assert kit.stale_twin(7) == kit.stale_twin(7)
    assert kit.stale_twin(7)["process_times"] != kit.stale_twin(11)["process_times"]


def test_the_graded_variant_gives_the_kernel_its_week_and_twin_and_no_seed(tmp_path, monkeypatch):
    variant = Variant(LAB, "someone", 987654321)
    verdicts.prepare(variant, tmp_path)
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    assert kit.twin_params() == kit.stale_twin(variant.seed)
    events, _ = kit.production_log()
    pd.testing.assert_frame_equal(events, week_export(variant.seed)[0])
    assert kit.dashboard_cuts(variant.seed) == kit.graded_input("dashboard_cuts", practice=list)
    assert str(variant.seed) not in "".join(path.read_bytes().decode("latin-1") for path in tmp_path.rglob("*.json"))
    # The plant's side of the fidelity check and the trial weeks are the MES's records of the variant's plant.
    assert kit.graded_input("fidelity_reference", practice=dict) == kit.fidelity_reference(variant.seed)
    trial = kit.plant_trial({"conwip": 4, "cnc_speed": 1.15})
    assert set(trial["kind"]) <= set(kit.TRIAL_KINDS) and (trial["kind"] == "part_completed").sum() > 0
    assert list(trial.columns) == list(events.columns)
    with pytest.raises(ValueError, match="not one of the test plan's levels"):
        kit.plant_trial({"conwip": 4, "cnc_speed": 1.17})
    assert {path.stem for path in tmp_path.rglob("*") if path.is_file()} == {
        "week_events", "week_states", "twin_params", "fidelity_reference", "trial_weeks", "dashboard_cuts"}


def test_the_practice_trial_shares_the_logs_breakdowns(practice_env):
    events = kit.plant_trial({name: kit.CURRENT_SETPOINTS[name] for name in kit.SWEEPS})
    log, _ = kit.production_log()
    log = log[log["kind"].isin(kit.TRIAL_KINDS)]  # a trial week's export holds the production records only
    assert list(events["kind"].head(200)) == list(log["kind"].head(200))
    assert (events["kind"] == "part_completed").sum() == (log["kind"] == "part_completed").sum()


def test_each_variants_plant_differs_from_the_documented_one():
    """The learner's plant is a variant: its output at the current setpoints is not the plant file's."""
    public = load_plant()
    documented = kit.good_parts(replace(public, release=replace(public.release, wip_cap=6)), 4000)
    outputs = {kit.good_parts(kit.true_plant(seed, {"conwip": 6}), 4000) for seed in (7, 11, 2**61 + 5)}
    assert len(outputs) == 3 and documented not in outputs, (documented, outputs)


def test_working_seconds_count_shifts_without_breaks():
    assert kit.working_seconds(0.0, kit.LOG_HOURS * 3600.0) == 10 * (8 * 3600.0 - 900.0)
    assert kit.working_seconds(3 * 3600.0, 5 * 3600.0) == 2 * 3600.0 - 900.0  # 09:00-11:00, the break out


# --- gaps, recalibration, action plan ---------------------------------------------------------------------


def test_the_solution_gaps_pass_and_a_gross_process_time_fails(solution):
    gaps = solution["GAPS"]
    judge("gaps_test", gaps=gaps.reset_index())
    gross = gaps.copy()
    gross["plant_mean_s"] = gross["plant_mean_s"] * 1.08  # breakdowns and stops left in
    with pytest.raises(VerdictFailed, match="count only the station's up time"):
        judge("gaps_test", gaps=gross.reset_index())
    with pytest.raises(VerdictFailed, match="no row for"):
        judge("gaps_test", gaps=gaps.reset_index().iloc[1:])


def test_the_practice_gaps_do_not_pass_for_another_variant(solution):
    with pytest.raises(VerdictFailed, match="GAPS"):
        judge("gaps_test", Variant(LAB, "someone", 11), gaps=solution["GAPS"].reset_index())


def test_the_recalibrated_twin_is_faithful_and_the_stale_or_exponential_one_is_not(solution):
    calibrated = solution["CALIBRATED"]
    judge("fidelity_test", params=calibrated)
    with pytest.raises(VerdictFailed, match="stale twin's process times"):
        judge("fidelity_test", params=solution["TWIN"])
    with pytest.raises(VerdictFailed, match="with CONWIP 3"):
        judge("fidelity_test", params=exponential_cnc(calibrated))


def test_a_twin_copied_from_the_public_plant_file_fails_the_fidelity_on_a_graded_variant():
    """The cheat the variants close: the plant file's parameters as the "calibrated" twin, no data used. The
    variant's process times are the documented ones scaled by up to 8 % per station: the copy misses the brief's 5 %
    on some process time of every variant drawn here (its output may still land within 2 % of the plant's)."""
    copied = plant_params(load_plant())
    draw = random.Random(20261130)
    for _ in range(3):
        variant = Variant(LAB, "someone", draw.getrandbits(62))
        with pytest.raises(VerdictFailed, match=r"off the plant's mean net process time in the week's log"):
            judge("fidelity_test", variant, params=copied)


def test_a_twin_with_absurd_parameters_is_refused_before_it_runs(solution):
    fast = copy.deepcopy(solution["CALIBRATED"])
    fast["process_times"]["bracket"]["cnc"] = {"dist": "constant", "value_s": 0.001}
    with pytest.raises(VerdictFailed, match="far outside"):
        judge("fidelity_test", params=fast)
    with pytest.raises(VerdictFailed, match="params dict"):
        judge("fidelity_test", params=[1, 2, 3])


def test_an_action_plan_that_skips_a_significant_gap_fails(solution):
    plan = solution["ACTION_PLAN"]
    judge("action_plan_test", plan=plan)
    skipped = plan[plan["gap"] != plan["gap"].iloc[0]]
    with pytest.raises(VerdictFailed, match="significant gap of GAPS has no action"):
        judge("action_plan_test", plan=skipped)
    with pytest.raises(VerdictFailed, match="deadline must be a date"):
        judge("action_plan_test", plan=plan.assign(deadline="soon"))
    ownerless = plan.assign(owner=["methods team", "", *plan["owner"].iloc[2:]])
    with pytest.raises(VerdictFailed, match=r"the action on row 2 \(counting from 1\) has no owner"):
        judge("action_plan_test", plan=ownerless)


# --- monitoring --------------------------------------------------------------------------------------------


def test_the_monitoring_plan_passes_and_limits_from_the_standard_deviation_fail(solution):
    plan, log = solution["MONITORING_PLAN"], solution["MONITORING_LOG"]
    judge("monitoring_test", plan=plan, log=log)
    reference = solution["HOURLY"][solution["HOURLY"].index < 2 * kit.DAY_S]
    naive = copy.deepcopy(plan)
    sd = reference["good_parts"].std()
    naive["good_parts"].update(lcl=reference["good_parts"].mean() - 3 * sd, ucl=reference["good_parts"].mean() + 3 * sd)
    with pytest.raises(VerdictFailed, match="mean moving range"):
        judge("monitoring_test", plan=naive, log=log)
    with pytest.raises(VerdictFailed, match="out_of_control is wrong"):
        judge("monitoring_test", plan=plan, log=log.assign(out_of_control=False))


# --- test plan and setpoints -------------------------------------------------------------------------------


def _test_plan(params: dict, seed: int = 7, base=kit.CURRENT_SETPOINTS) -> tuple[pd.DataFrame, dict]:
    notebook = nbformat.read(SOURCE, as_version=4)
    namespace = {"SEED": seed}
    exec("import math\nimport numpy as np\nimport pandas as pd\nfrom scipy import stats\n"
         "from labkit.lab_twin_improve import CURRENT_SETPOINTS, SWEEPS, contribution_eur, good_parts, twin_plant\n",
         namespace)
    source = cell_by_id(notebook, f"{LAB}_test_plan").source.split("started = ")[0]
    exec(compile(source, f"{LAB}:test_plan", "exec"), namespace)
    return namespace["run_test_plan"](params, replications=5, base=base)


@pytest.mark.slow
def test_setpoints_from_the_calibrated_twin_pass_and_from_the_exponential_twin_lose_the_conwip(solution):
    results, recommended = _test_plan(solution["CALIBRATED"])
    judge("test_plan_test", results=results, recommended=recommended)
    judge("setpoints_test", recommended=recommended)
    _, wrong = _test_plan(exponential_cnc(solution["CALIBRATED"]))
    with pytest.raises(VerdictFailed, match=r"^today's line: conwip = "):
        judge("setpoints_test", recommended=wrong)
    shuffled = dict(recommended, conwip=max(kit.SWEEPS["conwip"]))
    with pytest.raises(VerdictFailed, match="best level of your own test plan"):
        judge("test_plan_test", results=results, recommended=shuffled)
    identical = results.assign(sd_eur=0.0, ci_low_eur=results["mean_eur"], ci_high_eur=results["mean_eur"])
    with pytest.raises(VerdictFailed, match="identical"):
        judge("test_plan_test", results=identical, recommended=recommended)


@pytest.mark.slow
def test_the_capacity_project_needs_the_twin_of_the_new_line(solution):
    """With a second CNC the saw becomes the bottleneck: the twin of the new line recommends more cards and a slower
    CNC, and today's setpoints (or a twin still at one CNC) lose thousands of euros a week on the plant."""
    project = {**kit.CURRENT_SETPOINTS, **kit.PROJECT}
    _, recommended = _test_plan(solution["CALIBRATED"], base=project)
    judge("project_test", recommended=recommended)
    _, today = _test_plan(solution["CALIBRATED"])
    assert recommended["conwip"] > today["conwip"] and recommended["cnc_speed"] < today["cnc_speed"]
    with pytest.raises(VerdictFailed, match=r"with a second CNC: conwip = .* the line as it will be"):
        judge("project_test", recommended=today)


def _documented_conwip_sweep() -> pd.Series:
    """What a learner can compute without any data: the grader's CONWIP sweep (today's line, its weeks) run on the
    documented plant, as the plant file describes it."""
    public = load_plant()
    values = {}
    for conwip in kit.SWEEPS["conwip"]:
        plant = replace(public, release=replace(public.release, wip_cap=conwip))
        good = sum(kit.good_parts(plant, verdicts.GRADER_SEED + r) for r in range(verdicts.GRADER_REPLICATIONS))
        values[conwip] = kit.contribution_eur(good / verdicts.GRADER_REPLICATIONS, {"conwip": conwip})
    return pd.Series(values)


def test_the_documented_plants_optimum_is_not_the_verdicts_on_a_variant_whose_optimum_differs():
    """The other cheat the variants close: sweeping the plant file's plant, as the grader sweeps the learner's. On
    this variant the CONWIP cap that pays is not the documented plant's, and the verdict refuses the documented
    plant's (whatever the speed). The variants' spread seldom moves the optimum this far: on most variants the
    documented plant's setpoints stay within REGRET_TOLERANCE_EUR of the best."""
    public_best = int(_documented_conwip_sweep().idxmax())
    truth = verdicts.true_sweep(OTHER_OPTIMUM_SEED, "conwip", dict(kit.CURRENT_SETPOINTS))
    assert int(truth.idxmax()) != public_best, (public_best, truth)
    assert truth.max() - truth[public_best] > verdicts.REGRET_TOLERANCE_EUR
    with pytest.raises(VerdictFailed, match=rf"^today's line: conwip = {public_best}: on the plant"):
        judge("setpoints_test", Variant(LAB, "someone", OTHER_OPTIMUM_SEED),
              recommended={"conwip": public_best, "cnc_speed": 1.2})


def test_a_buffer_sweep_under_a_conwip_cap_changes_nothing_worth_a_place():
    """The reason the CNC buffer is no longer a decision: under the cap the test plan finds, five more places bring
    fewer parts than they cost, so the cost alone decides, without a simulation."""
    outputs = {buffer: kit.good_parts(kit.true_plant(PRACTICE.seed, {"cnc_buffer": buffer, "conwip": 4}), 9000)
               for buffer in (1, 6)}
    assert abs(outputs[6] - outputs[1]) * kit.MARGIN_EUR < 5 * kit.BUFFER_PLACE_EUR, outputs


def test_applied_setpoints_must_match_the_plants_status():
    recommended = {"conwip": 4, "cnc_speed": 1.2}
    replies = {name: {"ok": True} for name in ("a", "b")}
    status = {"conwip": 4, "speeds": {"cnc": 1.2}, "buffers": {"cnc": {"capacity": 6}}}
    judge("applied_test", recommended=recommended, replies=replies, status=status)
    with pytest.raises(VerdictFailed, match="recommended CONWIP"):
        judge("applied_test", recommended=recommended, replies=replies, status=dict(status, conwip=6))
    with pytest.raises(VerdictFailed, match="did not accept"):
        judge("applied_test", recommended=recommended, replies=dict(replies, b={"ok": False}), status=status)
    with pytest.raises(VerdictFailed, match="RECOMMENDED"):
        judge("applied_test", recommended={"conwip": 4}, replies=replies, status=status)


# --- dashboards --------------------------------------------------------------------------------------------


def test_the_solution_dashboards_show_the_truth_and_a_double_count_fails(solution):
    dashboards = solution["TwinDashboards"]
    judge("dashboards_test", dashboards=kit.probe_dashboards(dashboards, 25.0))

    class DoubleCounting(dashboards):
        def update(self, topic, payload):
            super().update(topic, payload)
            if topic.endswith("/_events") and payload["kind"] == "part_completed":
                self.completed[-payload["part_id"]] = self.completed[payload["part_id"]]

    with pytest.raises(VerdictFailed, match="good parts this shift"):
        judge("dashboards_test", dashboards=kit.probe_dashboards(DoubleCounting, 25.0))


def test_dashboards_probed_on_the_practice_week_do_not_pass_for_another_variant(solution):
    with pytest.raises(VerdictFailed, match="moments other than the grader's"):
        judge("dashboards_test", Variant(LAB, "someone", 11),
              dashboards=kit.probe_dashboards(solution["TwinDashboards"], 25.0))


# --- the notebook, and wrong answers through the grader ---------------------------------------------------------


def test_the_lab_has_nine_autograded_test_cells():
    assert sum(cell.mode == AUTO for cell in read_graded_cells(SOURCE)) == 9


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    stale = solution_with(f"{LAB}_recalibrate", "return calibrated", "return copy.deepcopy(params) | {'conwip': 6}")
    return grade_variants(tmp_path_factory.mktemp("twin_improve_course"), LAB,
                          {"ada": the_solution, "ben": the_solution,
                           "stale": stale})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "ben")


@pytest.mark.slow
def test_a_twin_left_stale_loses_the_fidelity_points_and_at_most_its_recommendations(graded):
    # Its setpoints for today's line and for the line with a second CNC come from the stale twin's test plans: on
    # some secret variants they miss the plant's best too. The rest of the lab does not depend on the twin.
    lost = set(graded.lost_points("stale"))
    recommendations = {f"{LAB}_setpoints_test", f"{LAB}_project_test"}
    assert f"{LAB}_fidelity_test" in lost and lost <= {f"{LAB}_fidelity_test", *recommendations}, \
        graded.auto_scores("stale")
