"""lab3_alerts: its verdicts accept the notebook's solution and reject typical wrong answers; its release hides them.

The "right answer" of every verdict is the source notebook's own solution, executed here cell by cell, so the
tests follow the notebook rather than a second copy of it. Its artefacts are recorded as the hidden cells do
(labkit.lab3_alerts) on the practice variant, through plain data, and judged by autograde.verdicts.lab3_alerts.
The end-to-end tests grade versions of the notebook through the real pipeline, each learner on a secret variant.
"""

import dataclasses
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from lab_grading import cell_by_id, grade_variants, release_lab, solution_with, the_solution

from autograde.criteria_tags import AUTO, read_graded_cells, validate_lab_tags
from autograde.variants import practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab3_alerts as verdicts
from labkit import lab3_alerts as kit

LAB = "lab3_alerts"
NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("lab3_alerts_rules", "lab3_alerts_engine", "lab3_alerts_channels", "lab3_alerts_panel")
GIVEN_CELLS = ("from simulators.learner import", "class AlertRule", "def horn_wav", 'SENDER = "')  # given code
PRACTICE = practice_variant(LAB)


def cell_source(grade_id: str) -> str:
    return next(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def solution():
    """The namespace of the notebook's setup, given and solution cells (no test, replay or live cell)."""
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FACTORYLAB_SEED", raising=False)
        patch.delenv("FACTORYLAB_VARIANT", raising=False)
        for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            given = cell.cell_type == "code" and not grade_id and any(marker in cell.source for marker in GIVEN_CELLS)
            if given or grade_id in SOLUTION_CELLS:
                exec(compile(cell.source, f"{NOTEBOOK.name}:{grade_id or 'given'}", "exec"), namespace)
    return namespace


def measured(solution, rules=None, engine=None) -> dict:
    """The notebook's measures cell run on the replays of `rules` through `engine` (the solution's by default)."""
    namespace = dict(solution)
    rules = solution["RULES"] if rules is None else rules
    engine = engine or solution["AlertEngine"]
    namespace["histories"] = {scenario: kit.replay(engine, rules, scenario) for scenario in (kit.THIS_WEEK,
                                                                                          *kit.SCENARIOS)}
    source = next(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "lab3_alerts_measures")
    exec(compile(source, "measures", "exec"), namespace)
    return kit.measures_table(namespace["FALSE_ALARMS_PER_WEEK"], namespace["LEAD_TIME_MIN"])


def rules_from(solution, normal: pd.DataFrame, **changes) -> list:
    """The notebook's rules cell run on another history `normal` (and other OBJECTIVES entries in `changes`)."""
    namespace = dict(solution, normal=normal)
    source = cell_source("lab3_alerts_rules")
    for old, new in changes.items():
        assert old in source, old
        source = source.replace(old, new)
    exec(compile(source, "rules", "exec"), namespace)
    return namespace["RULES"]


@pytest.fixture(autouse=True)
def practice_plant(monkeypatch):
    monkeypatch.delenv("FACTORYLAB_SEED", raising=False)
    monkeypatch.delenv("FACTORYLAB_VARIANT", raising=False)


def evidence(grade_id: str, **artefacts) -> Evidence:
    """The artefacts as the grader decodes them (plain data on the way)."""
    return Evidence.recorded(grade_id, **artefacts)


def judge(grade_id: str, **artefacts) -> None:
    verdicts.VERDICTS.cells[grade_id](evidence(grade_id, **artefacts), PRACTICE)


def rules_with(solution, name: str, **changes) -> list:
    return [dataclasses.replace(r, **changes) if r.name == name else r for r in solution["RULES"]]


def replayed(solution, rules=None, engine=None) -> dict:
    rules = solution["RULES"] if rules is None else rules
    return {"rules": kit.rule_table(rules), "alarms": kit.alarm_log(engine or solution["AlertEngine"], rules)}


# --- notebook structure ---------------------------------------------------------------------------------

def test_criteria_tags_are_valid_and_cover_competence_3():
    from autograde.catalogue import load_catalogue

    assert validate_lab_tags([NOTEBOOK], load_catalogue(), enforce_coverage=["ccpm_iiot:CCPM-C3"]) == []


def test_every_autograded_cell_has_a_verdict_and_the_notebook_imports_no_grader_code():
    tests = {cell.grade_id for cell in read_graded_cells(NOTEBOOK) if cell.mode == AUTO}
    assert tests == set(verdicts.VERDICTS.cells)
    assert "autograde" not in NOTEBOOK.read_text()


def test_the_kit_holds_no_truth_and_the_graded_inputs_differ_from_the_practice_ones():
    source = Path(kit.__file__).read_text()
    assert "truth_tables" not in source and "load_truth" not in source and "autograde" not in source
    other = verdicts.grader_inputs(dataclasses.replace(PRACTICE, learner="ada", seed=12345))
    assert other != verdicts.grader_inputs(PRACTICE)
    assert json.dumps(other["engine_cases"]) != json.dumps(kit.practice_engine_cases())


def test_the_solution_passes_every_verdict_on_a_graded_variant(solution, monkeypatch, tmp_path):
    """The kernel reads the variant folder the preparer wrote (observed data and the grader's inputs only); the
    verdicts judge what it recorded against that variant's truth. RULES are derived again from its history."""
    variant = dataclasses.replace(PRACTICE, learner="ada", seed=4242)
    folder = tmp_path / "variant"
    verdicts.prepare(variant, folder)
    assert not list(folder.rglob("*truth*")) and not list(folder.rglob("faults*"))
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(folder))
    weeks = kit.normal_weeks()
    normal = kit.alarm_stream(weeks, solution["WATCHED"], end=kit.week_start(weeks))
    rules = rules_from(solution, normal.assign(day=normal.timestamp.dt.day_of_week.map(dict(enumerate(kit.DAYS)))))
    engine, rule_class = solution["AlertEngine"], solution["AlertRule"]
    alarms = kit.alarm_log(engine, rules)
    artefacts = {
        "lab3_alerts_thresholds_test": {"rules": kit.rule_table(rules)},
        "lab3_alerts_engine_test": {"runs": kit.probe_engine(engine, rule_class)},
        "lab3_alerts_measures_test": {"rules": kit.rule_table(rules), "alarms": alarms,
                                      "measures": measured(solution, rules)},
        "lab3_alerts_detection_test": {"rules": kit.rule_table(rules), "alarms": alarms},
        "lab3_alerts_quiet_test": {"rules": kit.rule_table(rules), "alarms": alarms},
        "lab3_alerts_routing_test": {"rules": kit.rule_table(rules)},
        "lab3_alerts_email_test": {"messages": kit.probe_email(solution["send_alarm_email"], rule_class)},
        "lab3_alerts_mqtt_test": {"payloads": kit.probe_mqtt(solution["publish_alarm"], rule_class)},
        "lab3_alerts_panel_test": {"panel": kit.probe_panel(solution["AlarmPanel"], rule_class)},
    }
    for grade_id, recorded in artefacts.items():
        verdicts.VERDICTS.cells[grade_id](evidence(grade_id, **recorded), variant)


# --- thresholds -----------------------------------------------------------------------------------------

def test_solution_thresholds_pass(solution):
    judge("lab3_alerts_thresholds_test", rules=kit.rule_table(solution["RULES"]))


def test_threshold_inside_normal_operation_is_rejected(solution):
    rules = rules_with(solution, "saw_bearing_vibration", threshold=2.0, clear_threshold=1.9)
    with pytest.raises(VerdictFailed, match="lies within normal operation") as failure:
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(rules))
    assert "1." not in str(failure.value).split("threshold 2")[1]  # the normal band is not revealed


def one_shift(solution) -> pd.DataFrame:
    """Monday's morning shift of last week: the history the previous version of the lab gave."""
    normal = solution["normal"]
    return normal[normal.timestamp < normal.timestamp.min() + pd.Timedelta(hours=8)]


ONE_SHIFT_EDGE = {'edge = watched.value.quantile(0.99 if direction == "above" else 0.01)':
                  "edge = watched.value.median()"}  # the previous lab's rule: halfway from the shift's median


def test_thresholds_from_one_healthy_shift_lie_within_another_days_normal_operation(solution):
    """A threshold taken from Monday's brackets (halfway from that shift's median to the limit, as the previous
    version of the lab did) fires on Friday's housings: rejected as inside normal operation on the days it
    watches, and it gives false alarms in this week's replay."""
    rules = rules_from(solution, one_shift(solution), **ONE_SHIFT_EDGE)
    with pytest.raises(VerdictFailed, match=r"rule 'cnc_spindle_overheat' .*(lies within normal operation of your "
                                            r"plant over last week|above normal operation)"):
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(rules))
    with pytest.raises(VerdictFailed, match=r"this week \(normal operation\): the rules of cnc/spindle_temperature "
                                            r"fired \d+ times, the brief allows 1 false alarm per week"):
        judge("lab3_alerts_quiet_test", **replayed(solution, rules))


def test_a_pending_period_shorter_than_the_gaps_of_an_erratic_warning_chatters(solution):
    """The clogging filter's early signs come and go for up to 10 minutes: a rule that clears after one minute
    fires again and again during one fault."""
    artefacts = replayed(solution, rules_with(solution, "cnc_coolant_pressure_low", pending_s=60))
    with pytest.raises(VerdictFailed, match=r"slow_cooling_degradation: the rules of cnc/coolant_pressure fired \d+ "
                                            r"times during one fault .* they chatter"):
        judge("lab3_alerts_quiet_test", **artefacts)


def test_rules_of_one_sensor_that_overlap_or_leave_a_working_day_unwatched_are_rejected(solution):
    spindle = next(r for r in solution["RULES"] if r.name == "cnc_spindle_overheat")
    overlapping = [*solution["RULES"], dataclasses.replace(spindle, name="cnc_spindle_overheat_mon", days=("mon",))]
    with pytest.raises(VerdictFailed, match=r"both watch cnc/spindle_temperature on mon"):
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(overlapping))
    gap = rules_with(solution, "cnc_spindle_overheat", days=("mon", "tue"))
    with pytest.raises(VerdictFailed, match=r"no rule watches cnc/spindle_temperature on wed, thu, fri"):
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(gap))


def test_one_rule_per_operating_regime_is_judged_against_the_normal_operation_of_its_days(solution):
    """A Monday rule may sit below Friday's normal level, not below Monday's."""
    spindle = next(r for r in solution["RULES"] if r.name == "cnc_spindle_overheat")
    others = [r for r in solution["RULES"] if r is not spindle]
    monday = solution["normal"][(solution["normal"].day == "mon") & (solution["normal"].sensor == "spindle_temperature")
                                & (solution["normal"].state == "running")].value.quantile(0.99)
    regimes = [dataclasses.replace(spindle, name="cnc_spindle_overheat_mon", days=("mon",),
                                   threshold=round(monday + 3.0, 1), clear_threshold=round(monday + 1.5, 1)),
               dataclasses.replace(spindle, name="cnc_spindle_overheat_rest", days=("tue", "wed", "thu", "fri"))]
    judge("lab3_alerts_thresholds_test", rules=kit.rule_table([*others, *regimes]))
    everyday = [*others, dataclasses.replace(regimes[0], name="cnc_spindle_overheat", days=())]
    with pytest.raises(VerdictFailed, match=r"rule 'cnc_spindle_overheat' .*lies within normal operation"):
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(everyday))


def test_threshold_beyond_the_documented_limit_is_rejected(solution):
    rules = rules_with(solution, "deburr_air_pressure_low", threshold=3.5)
    with pytest.raises(VerdictFailed, match="beyond the brief's limit 4"):
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(rules))


def test_missing_hysteresis_is_rejected(solution):
    rule = next(r for r in solution["RULES"] if r.name == "saw_bearing_vibration")
    rules = rules_with(solution, rule.name, clear_threshold=rule.threshold)
    with pytest.raises(VerdictFailed, match="hysteresis"):
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(rules))


# --- engine ---------------------------------------------------------------------------------------------

def test_solution_engine_passes_on_practice_and_graded_streams(solution):
    judge("lab3_alerts_engine_test", runs=kit.probe_engine(solution["AlertEngine"], solution["AlertRule"]))
    for seed in (11, 4242):
        variant = dataclasses.replace(PRACTICE, learner="ada", seed=seed)
        cases = verdicts.grader_inputs(variant)["engine_cases"]
        runs = [kit.run_engine_case(solution["AlertEngine"], solution["AlertRule"], case) for case in cases]
        verdicts.engine(evidence("lab3_alerts_engine_test", runs=runs), variant)


def test_engine_without_pending_period_fires_on_a_spike(solution):
    class Eager(solution["AlertEngine"]):
        def update(self, timestamp, machine, sensor, value, state):
            for rule in self.rules.values():  # pending period ignored: every reading counts as held
                self._since[rule.name] = timestamp - pd.Timedelta(seconds=rule.pending_s)
            return super().update(timestamp, machine, sensor, value, state)

    with pytest.raises(VerdictFailed, match="one-sample spike"):
        judge("lab3_alerts_engine_test", runs=kit.probe_engine(Eager, solution["AlertRule"]))


def test_engine_that_evaluates_every_state_is_rejected(solution):
    class StateBlind(solution["AlertEngine"]):
        def update(self, timestamp, machine, sensor, value, state):
            rules = self._watching.get((machine, sensor), ())
            return super().update(timestamp, machine, sensor, value, rules[0].states[0] if rules else state)

    with pytest.raises(VerdictFailed, match=r"states outside rule\.states are ignored"):
        judge("lab3_alerts_engine_test", runs=kit.probe_engine(StateBlind, solution["AlertRule"]))


def test_engine_that_ignores_the_days_of_a_rule_is_rejected(solution):
    class EveryDay(solution["AlertEngine"]):
        def __init__(self, rules):
            super().__init__([dataclasses.replace(rule, days=()) for rule in rules])

    with pytest.raises(VerdictFailed, match=r"a rule with days ignores the readings stamped on other weekdays"):
        judge("lab3_alerts_engine_test", runs=kit.probe_engine(EveryDay, solution["AlertRule"]))


def test_engine_that_acknowledges_twice_is_rejected(solution):
    class Forgetful(solution["AlertEngine"]):
        def acknowledge(self, rule_name, operator, timestamp):
            self._acknowledged[rule_name] = False
            return super().acknowledge(rule_name, operator, timestamp)

    with pytest.raises(VerdictFailed, match="a second acknowledgement records nothing"):
        judge("lab3_alerts_engine_test", runs=kit.probe_engine(Forgetful, solution["AlertRule"]))


# --- replays and measures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def solution_replays(solution):
    return replayed(solution)


def test_solution_detects_every_fault_in_time_stays_quiet_and_measures_itself(solution, solution_replays):
    judge("lab3_alerts_detection_test", **solution_replays)
    judge("lab3_alerts_quiet_test", **solution_replays)
    judge("lab3_alerts_measures_test", **solution_replays, measures=measured(solution))


def test_measures_that_count_clearings_or_stop_at_the_end_of_the_fault_are_rejected(solution, solution_replays):
    right = measured(solution)
    doubled = {**right, "false_alarms_per_week": {key: value + 1 for key, value in
                                                   right["false_alarms_per_week"].items()}}
    with pytest.raises(VerdictFailed, match=r"FALSE_ALARMS_PER_WEEK\['cnc/spindle_temperature'\] is not the number"):
        judge("lab3_alerts_measures_test", **solution_replays, measures=doubled)
    shifted = {**right, "lead_time_min": {key: value + 15 for key, value in right["lead_time_min"].items()}}
    with pytest.raises(VerdictFailed, match=r"LEAD_TIME_MIN\['cooling_failure'\] is not the minutes between the "
                                            r"first alarm"):
        judge("lab3_alerts_measures_test", **solution_replays, measures=shifted)


def test_too_long_pending_period_leaves_too_little_lead_time(solution):
    artefacts = replayed(solution, rules_with(solution, "deburr_air_pressure_low", pending_s=12000))
    with pytest.raises(VerdictFailed, match=r"pressure_leak: the (first alarm of deburr/air_pressure came \d+ min "
                                            r"before the repair stop|rules of deburr/air_pressure never fired)"):
        judge("lab3_alerts_detection_test", **artefacts)


def test_a_rule_without_pending_period_fires_on_single_spikes(solution):
    """One reading of a spike (a few per day on the saw's vibration while it cuts) fires a rule that does not wait."""
    artefacts = replayed(solution, rules_with(solution, "saw_bearing_vibration", pending_s=0.0))
    with pytest.raises(VerdictFailed, match=r"the rules of saw/vibration fired \d+ time"):
        judge("lab3_alerts_quiet_test", **artefacts)
    with pytest.raises(VerdictFailed, match=r"pending_s 0 s: at least 2 s"):
        judge("lab3_alerts_thresholds_test", rules=artefacts["rules"])


def test_rule_without_state_gating_fires_every_night_and_weekend(solution):
    """Planned stops, nights and weekends look like a failure to a rule that watches every state."""
    artefacts = replayed(solution, rules_with(solution, "deburr_air_pressure_low",
                                              states=("running", "starved", "blocked", "planned_stop")))
    with pytest.raises(VerdictFailed, match=r"this week \(normal operation\): the rules of deburr/air_pressure fired "
                                            r"\d+ times"):
        judge("lab3_alerts_quiet_test", **artefacts)


def test_an_engine_that_never_fires_is_not_quiet_but_deaf(solution):
    class Deaf(solution["AlertEngine"]):
        def update(self, timestamp, machine, sensor, value, state):
            return []

    artefacts = replayed(solution, engine=Deaf)
    assert artefacts["alarms"].empty
    with pytest.raises(VerdictFailed, match="never fired during their fault"):
        judge("lab3_alerts_quiet_test", **artefacts)
    with pytest.raises(VerdictFailed, match="never fired during the fault"):
        judge("lab3_alerts_detection_test", **artefacts)


# --- channels and panel ---------------------------------------------------------------------------------

def test_solution_routing_passes(solution):
    judge("lab3_alerts_routing_test", rules=kit.rule_table(solution["RULES"]))


def test_critical_alarm_without_horn_is_rejected(solution):
    rules = rules_with(solution, "cnc_spindle_overheat", channels=("light", "email", "mqtt"))
    with pytest.raises(VerdictFailed, match="a critical alarm goes to the channels"):
        judge("lab3_alerts_routing_test", rules=kit.rule_table(rules))


def test_external_recipient_is_rejected(solution):
    rules = rules_with(solution, "saw_bearing_vibration", recipients=("planner@gmail.com",))
    with pytest.raises(VerdictFailed, match=r"only delivers to @lyon\.factorylab\.example"):
        judge("lab3_alerts_routing_test", rules=kit.rule_table(rules))


def test_solution_email_reaches_the_smtp_server(solution):
    judge("lab3_alerts_email_test", messages=kit.probe_email(solution["send_alarm_email"], solution["AlertRule"]))


def test_email_without_severity_in_subject_is_rejected(solution):
    def vague(event, rule, *, host, port):
        solution["send_alarm_email"](event, dataclasses.replace(rule, severity="alarm"), host=host, port=port)

    with pytest.raises(VerdictFailed, match="'critical' is missing"):
        judge("lab3_alerts_email_test", messages=kit.probe_email(vague, solution["AlertRule"]))


def test_email_to_a_fixed_address_is_rejected(solution):
    def fixed(event, rule, *, host, port):
        rule = dataclasses.replace(rule, recipients=("maintenance.planning@lyon.factorylab.example",))
        solution["send_alarm_email"](event, rule, host=host, port=port)

    with pytest.raises(VerdictFailed, match="rule's recipients"):
        judge("lab3_alerts_email_test", messages=kit.probe_email(fixed, solution["AlertRule"]))


def test_solution_alarm_reaches_the_broker(solution):
    judge("lab3_alerts_mqtt_test", payloads=kit.probe_mqtt(solution["publish_alarm"], solution["AlertRule"]))


def test_plain_text_alarm_message_is_rejected(solution):
    def plain(client, topic, event, rule):
        client.publish(topic, f"{rule.name} {event['event']}".encode(), qos=1)

    with pytest.raises(VerdictFailed, match="must be JSON"):
        judge("lab3_alerts_mqtt_test", payloads=kit.probe_mqtt(plain, solution["AlertRule"]))


def test_solution_panel_passes(solution):
    judge("lab3_alerts_panel_test", panel=kit.probe_panel(solution["AlarmPanel"], solution["AlertRule"]))


def test_horn_that_ignores_acknowledgement_is_rejected(solution):
    class Deaf(solution["AlarmPanel"]):
        def refresh(self, history):
            history = history[history["event"] != "acknowledged"] if len(history) else history
            super().refresh(history)

    with pytest.raises(VerdictFailed, match="the horn must be silent"):
        judge("lab3_alerts_panel_test", panel=kit.probe_panel(Deaf, solution["AlertRule"]))


def test_a_light_showing_every_colour_is_rejected(solution):
    class Rainbow(solution["AlarmPanel"]):
        def refresh(self, history):
            super().refresh(history)
            self.light.value += "".join(f'<i style="color:{c}"></i>' for c in kit.LIGHT_COLOURS.values())

    with pytest.raises(VerdictFailed, match="no other colour"):
        judge("lab3_alerts_panel_test", panel=kit.probe_panel(Rainbow, solution["AlertRule"]))


# --- definition of done ---------------------------------------------------------------------------------

def test_the_lab_has_nine_autograded_test_cells():
    assert sum(cell.mode == AUTO for cell in read_graded_cells(NOTEBOOK)) == 9


def test_released_notebook_holds_no_solution_or_hidden_test(tmp_path):
    course = release_lab(tmp_path / "course", LAB)
    released = (course.release / LAB / NOTEBOOK.name).read_text()
    for secret in ("BEGIN HIDDEN TESTS", "record(", "BEGIN SOLUTION", "0.4 * (limit"):
        assert secret not in released, secret


@pytest.mark.slow
def test_grading_the_solution_and_typical_mistakes(tmp_path):
    """The solution scores full marks for two learners (two secret variants); each mistake costs its cell: thresholds
    from one healthy shift cost the thresholds (and, on most plants, the week's false alarms), not the rest."""
    def one_shift(versions):
        cell = cell_by_id(versions.source, "lab3_alerts_rules")
        for right, wrong in (("watched = normal[(normal.machine == machine)",
                              "watched = normal[(normal.timestamp < normal.timestamp.min() + pd.Timedelta(hours=8))\n"
                              "                     & (normal.machine == machine)"), *ONE_SHIFT_EDGE.items()):
            assert right in cell.source, right
            cell.source = cell.source.replace(right, wrong)
        return versions.source

    graded = grade_variants(tmp_path / "course", LAB, {
        "ada": the_solution,
        "bob": the_solution,
        "eager": solution_with("lab3_alerts_engine", "if (timestamp - self._since[rule.name]).total_seconds() >= "
                               "rule.pending_s:", "if True:"),
        "plain": solution_with("lab3_alerts_channels", "json.dumps(payload).encode()", "str(payload).encode()"),
        "one_shift": one_shift,
    })
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert set(graded.lost_points("eager")) >= {"lab3_alerts_engine_test"}
    assert set(graded.lost_points("plain")) == {"lab3_alerts_mqtt_test"}
    # Thresholds from one shift sit inside another day's normal operation: the thresholds cell always sees it; the
    # week's replay shows it as false alarms on most plants, not on every one (a quiet week can spare them).
    lost = set(graded.lost_points("one_shift"))
    assert {"lab3_alerts_thresholds_test"} <= lost <= {"lab3_alerts_thresholds_test", "lab3_alerts_quiet_test"}
