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
from lab_grading import grade_variants, release_lab, solution_with, the_solution

from autograde.criteria_tags import AUTO, read_graded_cells, validate_lab_tags
from autograde.variants import practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab3_alerts as verdicts
from labkit import lab3_alerts as kit
from simulators.learner import load_dataset

LAB = "lab3_alerts"
NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("lab3_alerts_rules", "lab3_alerts_engine", "lab3_alerts_channels", "lab3_alerts_panel")
GIVEN_CELLS = ("from simulators.learner import", "class AlertRule", "def horn_wav", 'SENDER = "')  # given code
PRACTICE = practice_variant(LAB)


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
    verdicts judge what it recorded against that variant's truth. RULES are derived again from its normal shift."""
    variant = dataclasses.replace(PRACTICE, learner="ada", seed=4242)
    folder = tmp_path / "variant"
    verdicts.prepare(variant, folder)
    assert not list(folder.rglob("*truth*")) and not list(folder.rglob("faults*"))
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(folder))
    namespace = dict(solution)
    namespace["normal"] = kit.alarm_stream(load_dataset("normal"), namespace["WATCHED"])
    cell = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "lab3_alerts_rules")
    exec(compile(cell.source, "rules", "exec"), namespace)
    rules, engine, rule_class = namespace["RULES"], namespace["AlertEngine"], namespace["AlertRule"]
    artefacts = {
        "lab3_alerts_thresholds_test": {"rules": kit.rule_table(rules)},
        "lab3_alerts_engine_test": {"runs": kit.probe_engine(engine, rule_class)},
        "lab3_alerts_detection_test": {"rules": kit.rule_table(rules), "alarms": kit.alarm_log(engine, rules)},
        "lab3_alerts_quiet_test": {"rules": kit.rule_table(rules), "alarms": kit.alarm_log(engine, rules)},
        "lab3_alerts_routing_test": {"rules": kit.rule_table(rules)},
        "lab3_alerts_email_test": {"messages": kit.probe_email(namespace["send_alarm_email"], rule_class)},
        "lab3_alerts_mqtt_test": {"payloads": kit.probe_mqtt(namespace["publish_alarm"], rule_class)},
        "lab3_alerts_panel_test": {"panel": kit.probe_panel(namespace["AlarmPanel"], rule_class)},
    }
    for grade_id, recorded in artefacts.items():
        verdicts.VERDICTS.cells[grade_id](evidence(grade_id, **recorded), variant)


# --- thresholds -----------------------------------------------------------------------------------------

def test_solution_thresholds_pass(solution):
    judge("lab3_alerts_thresholds_test", rules=kit.rule_table(solution["RULES"]))


def test_threshold_inside_normal_operation_is_rejected(solution):
    rules = rules_with(solution, "cnc_spindle_overheat", threshold=60.0, clear_threshold=58.0)
    with pytest.raises(VerdictFailed, match="lies within normal operation") as failure:
        judge("lab3_alerts_thresholds_test", rules=kit.rule_table(rules))
    assert "6" not in str(failure.value).split("threshold 60")[1]  # the normal band is not revealed


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


def test_engine_that_acknowledges_twice_is_rejected(solution):
    class Forgetful(solution["AlertEngine"]):
        def acknowledge(self, rule_name, operator, timestamp):
            self._acknowledged[rule_name] = False
            return super().acknowledge(rule_name, operator, timestamp)

    with pytest.raises(VerdictFailed, match="a second acknowledgement records nothing"):
        judge("lab3_alerts_engine_test", runs=kit.probe_engine(Forgetful, solution["AlertRule"]))


# --- replays --------------------------------------------------------------------------------------------

def test_solution_detects_every_fault_in_time_and_stays_quiet(solution):
    artefacts = replayed(solution)
    judge("lab3_alerts_detection_test", **artefacts)
    judge("lab3_alerts_quiet_test", **artefacts)


def test_too_long_pending_period_misses_the_brief_delay(solution):
    artefacts = replayed(solution, rules_with(solution, "deburr_air_pressure_low", pending_s=1800))
    with pytest.raises(VerdictFailed, match=r"pressure_leak: rule 'deburr_air_pressure_low' fired later than the "
                                            r"brief's 15 min"):
        judge("lab3_alerts_detection_test", **artefacts)


def test_short_pending_on_standby_power_raises_false_alarms(solution):
    """Stuck values at the running level after a wash cycle outlast a short pending period."""
    artefacts = replayed(solution, rules_with(solution, "wash_standby_power", pending_s=30))
    with pytest.raises(VerdictFailed, match=r"normal: rule .wash_standby_power. fired .* no fault on its sensor"):
        judge("lab3_alerts_quiet_test", **artefacts)


def test_rule_without_state_gating_raises_false_alarms_in_planned_stops(solution):
    artefacts = replayed(solution, rules_with(solution, "deburr_air_pressure_low",
                                              states=("running", "starved", "blocked", "planned_stop")))
    with pytest.raises(VerdictFailed, match="normal: rule 'deburr_air_pressure_low' fired"):
        judge("lab3_alerts_quiet_test", **artefacts)


def test_an_engine_that_never_fires_is_not_quiet_but_deaf(solution):
    class Deaf(solution["AlertEngine"]):
        def update(self, timestamp, machine, sensor, value, state):
            return []

    artefacts = replayed(solution, engine=Deaf)
    assert artefacts["alarms"].empty
    with pytest.raises(VerdictFailed, match="never fired during its fault"):
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

def test_the_lab_has_eight_autograded_test_cells():
    assert sum(cell.mode == AUTO for cell in read_graded_cells(NOTEBOOK)) == 8


def test_released_notebook_holds_no_solution_or_hidden_test(tmp_path):
    course = release_lab(tmp_path / "course", LAB)
    released = (course.release / LAB / NOTEBOOK.name).read_text()
    for secret in ("BEGIN HIDDEN TESTS", "record(", "BEGIN SOLUTION", "0.5 * (limit"):
        assert secret not in released, secret


@pytest.mark.slow
def test_grading_the_solution_and_typical_mistakes(tmp_path):
    """The solution scores full marks for two learners (two secret variants); each mistake costs its cell."""
    graded = grade_variants(tmp_path / "course", LAB, {
        "ada": the_solution,
        "bob": the_solution,
        "eager": solution_with("lab3_alerts_engine", "if (timestamp - self._since[rule.name]).total_seconds() >= "
                               "rule.pending_s:", "if True:"),
        "plain": solution_with("lab3_alerts_channels", "json.dumps(payload).encode()", "str(payload).encode()"),
    })
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert set(graded.lost_points("eager")) >= {"lab3_alerts_engine_test"}
    assert set(graded.lost_points("plain")) == {"lab3_alerts_mqtt_test"}
