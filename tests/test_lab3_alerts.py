"""lab3_alerts: its checks accept the notebook's solution and reject typical wrong answers; its release hides them.

The "right answer" of every check is the source notebook's own solution, executed here cell by cell, so the
tests follow the notebook rather than a second copy of it. Replays use seed 7, whose normal shift is bundled.
"""

import dataclasses
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from lab_grading import release_lab

from autograde.checks import lab3_alerts as checks
from autograde.criteria_tags import AUTO, read_graded_cells, validate_lab_tags

NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / "lab3_alerts" / "lab3_alerts.ipynb"
SOLUTION_CELLS = ("lab3_alerts_rules", "lab3_alerts_engine", "lab3_alerts_channels", "lab3_alerts_panel")
SEED = 7
GIVEN_CELLS = ("from simulators.learner import", "class AlertRule", "def horn_wav")  # setup and given code


@pytest.fixture(scope="module")
def solution():
    """The namespace of the notebook's setup, given and solution cells (no test, replay or live cell)."""
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORYLAB_SEED", str(SEED))
        for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            given = cell.cell_type == "code" and not grade_id and any(marker in cell.source for marker in GIVEN_CELLS)
            if given or grade_id in SOLUTION_CELLS:
                exec(compile(cell.source, f"{NOTEBOOK.name}:{grade_id or 'given'}", "exec"), namespace)
    return namespace


def rules_with(solution, name: str, **changes) -> list:
    return [dataclasses.replace(r, **changes) if r.name == name else r for r in solution["RULES"]]


# --- notebook structure ---------------------------------------------------------------------------------

def test_criteria_tags_are_valid_and_cover_competence_3():
    from autograde.catalogue import load_catalogue

    assert validate_lab_tags([NOTEBOOK], load_catalogue(), enforce_coverage=["ccpm_iiot:CCPM-C3"]) == []


# --- thresholds -----------------------------------------------------------------------------------------

def test_solution_thresholds_pass(solution):
    checks.check_thresholds(solution["RULES"], seed=SEED)


def test_threshold_inside_normal_operation_is_rejected(solution):
    with pytest.raises(AssertionError, match="must lie above normal operation"):
        checks.check_thresholds(rules_with(solution, "cnc_spindle_overheat", threshold=60.0, clear_threshold=58.0),
                                seed=SEED)


def test_threshold_beyond_the_documented_limit_is_rejected(solution):
    with pytest.raises(AssertionError, match="at least the brief's limit 4"):
        checks.check_thresholds(rules_with(solution, "deburr_air_pressure_low", threshold=3.5), seed=SEED)


def test_missing_hysteresis_is_rejected(solution):
    rule = next(r for r in solution["RULES"] if r.name == "saw_bearing_vibration")
    with pytest.raises(AssertionError, match="hysteresis"):
        checks.check_thresholds(rules_with(solution, rule.name, clear_threshold=rule.threshold), seed=SEED)


# --- engine ---------------------------------------------------------------------------------------------

def test_solution_engine_passes(solution):
    checks.check_engine(solution["AlertEngine"], solution["AlertRule"])


def test_engine_without_pending_period_fires_on_a_spike(solution):
    class Eager(solution["AlertEngine"]):
        def update(self, timestamp, machine, sensor, value, state):
            for rule in self.rules.values():  # pending period ignored: every reading counts as held
                self._since[rule.name] = timestamp - pd.Timedelta(seconds=rule.pending_s)
            return super().update(timestamp, machine, sensor, value, state)

    with pytest.raises(AssertionError, match="one-sample spike"):
        checks.check_engine(Eager, solution["AlertRule"])


def test_engine_that_evaluates_every_state_is_rejected(solution):
    class StateBlind(solution["AlertEngine"]):
        def update(self, timestamp, machine, sensor, value, state):
            rules = self._watching.get((machine, sensor), ())
            return super().update(timestamp, machine, sensor, value, rules[0].states[0] if rules else state)

    with pytest.raises(AssertionError, match=r"states outside rule\.states are ignored"):
        checks.check_engine(StateBlind, solution["AlertRule"])


# --- replays --------------------------------------------------------------------------------------------

def test_solution_detects_every_fault_in_time_and_stays_quiet(solution):
    checks.check_detection(solution["AlertEngine"], solution["RULES"], seed=SEED)
    checks.check_quiet(solution["AlertEngine"], solution["RULES"], seed=SEED)


def test_too_long_pending_period_misses_the_brief_delay(solution):
    rules = rules_with(solution, "deburr_air_pressure_low", pending_s=1800)
    late = r"pressure_leak: rule 'deburr_air_pressure_low' fired \d+ min after .* the brief asks for 15 min"
    with pytest.raises(AssertionError, match=late):
        checks.check_detection(solution["AlertEngine"], rules, seed=SEED)


def test_short_pending_on_standby_power_raises_false_alarms(solution):
    """Stuck values at the running level after a wash cycle outlast a short pending period."""
    rules = rules_with(solution, "wash_standby_power", pending_s=30)
    with pytest.raises(AssertionError, match=r"normal: rule .wash_standby_power. fired .* no fault on its sensor"):
        checks.check_quiet(solution["AlertEngine"], rules, seed=SEED)


def test_rule_without_state_gating_raises_false_alarms_in_planned_stops(solution):
    rules = rules_with(solution, "deburr_air_pressure_low",
                       states=("running", "starved", "blocked", "planned_stop"))
    with pytest.raises(AssertionError, match="normal: rule 'deburr_air_pressure_low' fired"):
        checks.check_quiet(solution["AlertEngine"], rules, seed=SEED)


# --- channels and panel ---------------------------------------------------------------------------------

def test_solution_routing_passes(solution):
    checks.check_routing(solution["RULES"])


def test_critical_alarm_without_horn_is_rejected(solution):
    rules = rules_with(solution, "cnc_spindle_overheat", channels=("light", "email", "mqtt"))
    with pytest.raises(AssertionError, match="a critical alarm goes to the channels"):
        checks.check_routing(rules)


def test_external_recipient_is_rejected(solution):
    rules = rules_with(solution, "saw_bearing_vibration", recipients=("planner@gmail.com",))
    with pytest.raises(AssertionError, match=r"only delivers to @lyon\.factorylab\.example"):
        checks.check_routing(rules)


def test_solution_email_reaches_the_smtp_server(solution):
    checks.check_email(solution["send_alarm_email"], solution["RULES"][0])


def test_email_without_severity_in_subject_is_rejected(solution):
    def vague(event, rule, *, host, port):
        solution["send_alarm_email"](event, dataclasses.replace(rule, severity="alarm"), host=host, port=port)

    with pytest.raises(AssertionError, match="subject must name 'critical'"):
        checks.check_email(vague, solution["RULES"][0])


def test_solution_alarm_reaches_the_broker(solution):
    checks.check_mqtt(solution["publish_alarm"], solution["RULES"][0])


def test_plain_text_alarm_message_is_rejected(solution):
    def plain(client, topic, event, rule):
        client.publish(topic, f"{rule.name} {event['event']}".encode(), qos=1)

    with pytest.raises(AssertionError, match="must be JSON"):
        checks.check_mqtt(plain, solution["RULES"][0])


def test_solution_panel_passes(solution):
    checks.check_panel(solution["AlarmPanel"], solution["RULES"])


def test_horn_that_ignores_acknowledgement_is_rejected(solution):
    class Deaf(solution["AlarmPanel"]):
        def refresh(self, history):
            history = history[history["event"] != "acknowledged"] if len(history) else history
            super().refresh(history)

    with pytest.raises(AssertionError, match="acknowledging silences the horn"):
        checks.check_panel(Deaf, solution["RULES"])


# --- definition of done (test_labs.py grades the solution and the blank release through the grader) -----------

def test_the_lab_has_eight_autograded_test_cells():
    assert sum(cell.mode == AUTO for cell in read_graded_cells(NOTEBOOK)) == 8


def test_released_notebook_holds_no_solution_or_hidden_test(tmp_path):
    course = release_lab(tmp_path / "course", "lab3_alerts")
    released = (course.release / "lab3_alerts" / NOTEBOOK.name).read_text()
    for secret in ("BEGIN HIDDEN TESTS", "_checks.check_", "BEGIN SOLUTION", "0.5 * (limit"):
        assert secret not in released, secret
