"""lab2_dashboard: its checks accept the solution and reject typical wrong dashboards; its release hides the tests.

The solution under test is the notebook's own (its solution cells are executed here), so the notebook and
these tests cannot drift apart.
"""

import json
from pathlib import Path

import nbformat
import pytest
from lab_grading import release_lab

from autograde.catalogue import load_catalogue
from autograde.checks import lab2_dashboard as checks
from autograde.criteria_tags import read_graded_cells, validate_lab_tags
from simulators.learner import load_dataset

NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / "lab2_dashboard" / "lab2_dashboard.ipynb"
LAB = "lab2_dashboard"


@pytest.fixture(scope="module")
def solution() -> dict:
    """The notebook's imports, `show_figure`, `Dashboard` and `make_feed`, executed from its source cells."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    wanted = [cell for cell in cells if cell.cell_type == "code" and (
        "def show_figure" in cell.source
        or cell.metadata.get("nbgrader", {}).get("grade_id") in ("lab2_dashboard_class", "lab2_dashboard_feed"))]
    imports = next(cell for cell in cells if cell.cell_type == "code" and "import plotly" in cell.source)
    namespace: dict = {}
    header = "\n".join(line for line in imports.source.splitlines() if line.startswith(("import", "from")))
    exec(header, namespace)
    for cell in wanted:
        exec(cell.source, namespace)
    return namespace


@pytest.fixture(scope="module")
def sensors():
    return load_dataset().sensors


def test_recorded_stream_starts_with_retained_states_and_is_deterministic():
    first = checks.recorded_messages(start_min=60, minutes=2)
    assert first == checks.recorded_messages(start_min=60, minutes=2)
    assert [m.topic.rsplit("/", 1)[1] for m in first[:5]] == ["_state"] * 5
    readings = [json.loads(m.payload) for m in first if not m.topic.endswith("/_state")]
    assert len(readings) > 2 * 60 * 19  # 20 sensors at 1 Hz, a few lost
    assert {"timestamp", "value", "unit", "quality"} == set(readings[0])


@pytest.mark.parametrize(("payload", "kept"), [
    ({"value": 3.0, "quality": "good"}, True),
    ({"value": 3.0, "quality": "bad"}, False),
    ({"value": None, "quality": "good"}, False),
    ({"value": 26.0, "quality": "good"}, False),
    ({"value": -0.1, "quality": "good"}, False),
])
def test_keep_reading_keeps_good_values_within_range(payload, kept):
    assert checks.keep_reading(payload, 0.0, 25.0) is kept


def test_the_solution_passes_every_check(solution, sensors):
    checks.check_representations(dict(checks.REPRESENTATIONS))
    checks.check_signals({"cnc_vibration": [("cnc", "vibration")],
                          "cnc_spindle_temperature": [("cnc", "spindle_temperature")],
                          "power_by_machine": [(m, "spindle_power" if m == "cnc" else "power")
                                               for m in ("saw", "cnc", "deburr", "wash", "inspect")],
                          "latest_values": [("cnc", "coolant_pressure"), ("deburr", "air_pressure"),
                                            ("inspect", "air_pressure")]}, sensors)
    checks.check_layout(solution["Dashboard"](sensors), sensors)
    checks.check_replayed_values(solution["Dashboard"])
    checks.check_feed(solution["make_feed"], solution["Dashboard"])


def test_a_gauge_for_an_evolution_is_refused_with_the_brief_s_need():
    wrong = {**checks.REPRESENTATIONS, "cnc_spindle_temperature": "gauge"}
    with pytest.raises(AssertionError, match=r"cnc_spindle_temperature: 'gauge' does not fit.*evolved"):
        checks.check_representations(wrong)


def test_signals_missing_the_cnc_power_sensor_are_refused(sensors):
    signals = {"cnc_vibration": [("cnc", "vibration")], "cnc_spindle_temperature": [("cnc", "spindle_temperature")],
               "power_by_machine": [(m, "power") for m in ("saw", "deburr", "wash", "inspect")],
               "latest_values": [("cnc", "coolant_pressure"), ("deburr", "air_pressure"), ("inspect", "air_pressure")]}
    with pytest.raises(AssertionError, match=r"power_by_machine.*missing \[\('cnc', 'spindle_power'\)\]"):
        checks.check_signals(signals, sensors)


def test_a_gauge_without_the_alarm_limit_is_refused(solution, sensors):
    dashboard = solution["Dashboard"](sensors)
    dashboard.figures["cnc_vibration"].data[0].gauge.threshold.value = None
    with pytest.raises(AssertionError, match="alarm limit"):
        checks.check_layout(dashboard, sensors)


def test_a_trend_without_unit_is_refused(solution, sensors):
    dashboard = solution["Dashboard"](sensors)
    dashboard.figures["cnc_spindle_temperature"].update_layout(yaxis_title_text="temperature")
    with pytest.raises(AssertionError, match="°C"):
        checks.check_layout(dashboard, sensors)


def test_a_dashboard_keeping_the_last_arrived_value_is_refused(solution):
    """The replay ends with a late reading: overwriting the newest value with it shows on the gauge."""
    class LastArrived(solution["Dashboard"]):
        def update(self, topic, payload):
            super().update(topic, payload)
            pair = self.pair_of.get(topic)
            if pair is not None:
                self.latest[pair] = (self.latest[pair][0], payload["value"])

    with pytest.raises(AssertionError, match=r"vibration gauge: shows 0\.123"):
        checks.check_replayed_values(LastArrived, windows=[(60, 2)])


def test_lights_in_the_wrong_colour_are_refused(solution):
    class Monochrome(solution["Dashboard"]):
        def refresh(self):
            super().refresh()
            for machine, light in self.lights.items():
                light.value = f"<b>{machine}: {self.states.get(machine)}</b>"

    with pytest.raises(AssertionError, match="site's colour"):
        checks.check_replayed_values(Monochrome, windows=[(60, 2)])


def test_a_feed_redrawing_faster_than_asked_is_refused(solution):
    def eager_feed(dashboard, *, max_refresh_hz, clock):
        return solution["make_feed"](dashboard, max_refresh_hz=2 * max_refresh_hz, clock=clock)

    with pytest.raises(AssertionError, match="at most 2 per second"):
        checks.check_feed(eager_feed, solution["Dashboard"])


def test_a_feed_without_the_filter_is_refused(solution):
    def unfiltered_feed(dashboard, *, max_refresh_hz, clock):
        last = [None]

        def feed(message):
            dashboard.update(message.topic, json.loads(message.payload))
            if last[0] is None or clock() - last[0] >= 1 / max_refresh_hz:
                last[0] = clock()
                dashboard.refresh()
        return feed

    with pytest.raises(AssertionError, match="keep_reading"):
        checks.check_feed(unfiltered_feed, solution["Dashboard"])


def test_the_notebook_is_stored_clean_and_tagged_for_every_criterion_of_competence_2():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}
    for cell in notebook.cells:
        assert set(cell.metadata) <= {"nbgrader", "factorylab"}
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert validate_lab_tags([NOTEBOOK], load_catalogue(), enforce_coverage=["ccpm_iiot:CCPM-C2"]) == []
    modes = {cell.grade_id: cell.mode for cell in read_graded_cells(NOTEBOOK)}
    assert sum(mode == "auto" for mode in modes.values()) == 6


# --- the definition of done (test_labs.py grades the solution and the blank release through the grader) ---------


def test_the_release_holds_no_hidden_test(tmp_path):
    course = release_lab(tmp_path / "course", LAB)
    released = (course.release / LAB / f"{LAB}.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" not in released and "check_replayed_values(Dashboard)\n" not in released
