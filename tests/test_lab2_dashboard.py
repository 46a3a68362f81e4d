"""lab2_dashboard: its verdicts accept the solution and reject typical wrong dashboards; its release hides the tests.

The solution under test is the notebook's own (its solution cells are executed here), so the notebook and these
tests cannot drift apart. Its artefacts are recorded as the hidden cells do (labkit.lab2_dashboard's probes) on
the practice variant, through plain data, and judged by autograde.verdicts.lab2_dashboard; the end-to-end test
grades versions of the notebook through the real pipeline, each learner on a secret variant.
"""

import dataclasses
import json
from pathlib import Path

import nbformat
import pytest
from lab_grading import grade_variants, release_lab, solution_with, the_solution

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import AUTO, read_graded_cells, validate_lab_tags
from autograde.variants import practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab2_dashboard as verdicts
from labkit import lab2_dashboard as kit
from simulators.learner import load_dataset

NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / "lab2_dashboard" / "lab2_dashboard.ipynb"
LAB = "lab2_dashboard"
PRACTICE = practice_variant(LAB)
GRADED = dataclasses.replace(PRACTICE, learner="ada", seed=4242)
RIGHT_SIGNALS = {"cnc_vibration": [("cnc", "vibration")], "cnc_spindle_temperature": [("cnc", "spindle_temperature")],
                 "power_by_machine": [(m, "spindle_power" if m == "cnc" else "power")
                                      for m in ("saw", "cnc", "deburr", "wash", "inspect")],
                 "latest_values": [("cnc", "coolant_pressure"), ("deburr", "air_pressure"),
                                   ("inspect", "air_pressure")]}


@pytest.fixture(autouse=True)
def practice_plant(monkeypatch):
    monkeypatch.delenv("FACTORYLAB_SEED", raising=False)
    monkeypatch.delenv("FACTORYLAB_VARIANT", raising=False)


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
    return load_dataset(plant=kit.PLANT).sensors


@pytest.fixture
def graded_kernel(monkeypatch, tmp_path):
    """The kit reading GRADED's folder, as written by the preparer, as a graded kernel does."""
    folder = tmp_path / "variant"
    verdicts.prepare(GRADED, folder)
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(folder))


def judge(grade_id: str, variant=PRACTICE, **artefacts) -> None:
    """Judge artefacts as the grader decodes them (plain data on the way)."""
    verdicts.VERDICTS.cells[grade_id](Evidence.recorded(grade_id, **artefacts), variant)


# --- the kit --------------------------------------------------------------------------------------------

def test_recorded_stream_starts_with_retained_states_and_is_deterministic():
    first = kit.recorded_messages(start_min=60, minutes=2)
    assert first == kit.recorded_messages(start_min=60, minutes=2)
    assert [m.topic.rsplit("/", 1)[1] for m in first[:5]] == ["_state"] * 5
    readings = [json.loads(m.payload) for m in first if not m.topic.endswith("/_state")]
    periods = load_dataset(plant=kit.PLANT).sensors.period_s
    assert periods.nunique() >= 4, "the recordings' sensors sample at several periods, 5 s to 5 min"
    expected = float((2 * 60 / periods).sum())
    assert 0.9 * expected < len(readings) < 1.1 * expected  # every sensor at its own period, a few lost
    assert {"timestamp", "value", "unit", "quality"} == set(readings[0])


@pytest.mark.parametrize(("payload", "kept"), [
    ({"value": 3.0, "quality": "good"}, True),
    ({"value": 3.0, "quality": "bad"}, False),
    ({"value": None, "quality": "good"}, False),
    ({"value": 26.0, "quality": "good"}, False),
    ({"value": -0.1, "quality": "good"}, False),
])
def test_keep_reading_keeps_good_values_within_range(payload, kept):
    assert kit.keep_reading(payload, 0.0, 25.0) is kept


def test_the_feed_monitor_shows_the_newest_reading_and_raises_an_alarm_when_the_feed_stops():
    now = [100.0]
    monitor = kit.FeedMonitor(stale_after_s=5, clock=lambda: now[0])
    assert "WAITING FOR THE FEED" in monitor.widget.value
    fed = []
    feed = monitor.wrap(fed.append)
    for stamp in ("2024-03-04T06:00:02.000Z", "2024-03-04T06:00:01.000Z"):  # the second one arrives late
        feed(kit.Message("f/l/cnc/vibration", json.dumps({"timestamp": stamp, "value": 1.0}).encode()))
    assert len(fed) == 2, "every message still reaches the dashboard's feed"
    now[0] += 2
    monitor.refresh()
    assert "LIVE" in monitor.widget.value and "last reading 06:00:02 UTC" in monitor.widget.value
    assert "received 2 s ago" in monitor.widget.value and not monitor.stale
    now[0] += 4  # 6 s without a message
    monitor.refresh()
    assert monitor.stale and "FEED STALE" in monitor.widget.value and "received 6 s ago" in monitor.widget.value
    assert kit.STATE_COLOURS["down"] in monitor.widget.value


def test_the_live_dashboard_cell_is_what_the_wall_screen_shows():
    tagged = [cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells
              if "dashboard" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and "live_dashboard = Dashboard(sensors)" in tagged[0].source
    assert "FeedMonitor" in tagged[0].source
    template = NOTEBOOK.parent / "jupyter" / "voila" / "templates" / "dashboard-only" / "index.html.j2"
    assert '"dashboard" in cell.metadata.get("tags", [])' in template.read_text()


def test_every_autograded_cell_has_a_verdict_and_the_notebook_imports_no_grader_code():
    tests = {cell.grade_id for cell in read_graded_cells(NOTEBOOK) if cell.mode == AUTO}
    assert tests == set(verdicts.VERDICTS.cells)
    assert "autograde" not in NOTEBOOK.read_text()
    assert "autograde" not in Path(kit.__file__).read_text()


def test_graded_inputs_change_the_gauge_range_and_the_windows():
    graded = verdicts.grader_inputs(GRADED)
    practice = verdicts.grader_inputs(PRACTICE)
    assert graded["replay_windows"] != practice["replay_windows"]
    vibration = lambda s: s[(s.machine == "cnc") & (s.kind == "vibration")].high.iloc[0]  # noqa: E731
    assert vibration(graded["layout_sensors"]) != vibration(practice["layout_sensors"])


# --- the verdicts on the solution -----------------------------------------------------------------------

def test_the_solution_passes_every_verdict(solution, sensors):
    judge("lab2_dashboard_representations_test", representations=dict(verdicts.REPRESENTATIONS))
    judge("lab2_dashboard_signals_test", signals=RIGHT_SIGNALS)
    judge("lab2_dashboard_layout_test", layout=kit.probe_layout(solution["Dashboard"]))
    judge("lab2_dashboard_replay_test", shown=kit.probe_replay(solution["Dashboard"]))
    judge("lab2_dashboard_feed_test", feed=kit.probe_feed(solution["make_feed"]))


def test_the_solution_passes_on_a_graded_variant_s_inputs(solution, graded_kernel):
    """The kernel reads the variant folder the preparer wrote; the verdicts judge against the same variant."""
    judge("lab2_dashboard_layout_test", GRADED, layout=kit.probe_layout(solution["Dashboard"]))
    judge("lab2_dashboard_replay_test", GRADED, shown=kit.probe_replay(solution["Dashboard"]))
    judge("lab2_dashboard_feed_test", GRADED, feed=kit.probe_feed(solution["make_feed"]))


def test_a_gauge_for_an_evolution_is_refused_with_the_brief_s_need():
    wrong = {**verdicts.REPRESENTATIONS, "cnc_spindle_temperature": "gauge"}
    with pytest.raises(VerdictFailed, match=r"cnc_spindle_temperature: 'gauge' does not fit.*evolved"):
        judge("lab2_dashboard_representations_test", representations=wrong)


def test_signals_missing_the_cnc_power_sensor_are_refused():
    signals = {**RIGHT_SIGNALS, "power_by_machine": [(m, "power") for m in ("saw", "deburr", "wash", "inspect")]}
    with pytest.raises(VerdictFailed, match=r"power_by_machine'\]: 1 pair\(s\) missing"):
        judge("lab2_dashboard_signals_test", signals=signals)


def test_a_gauge_without_the_alarm_limit_is_refused(solution):
    class NoLimit(solution["Dashboard"]):
        def __init__(self, sensors):
            super().__init__(sensors)
            self.figures["cnc_vibration"].data[0].gauge.threshold.value = None

    with pytest.raises(VerdictFailed, match="alarm limit"):
        judge("lab2_dashboard_layout_test", layout=kit.probe_layout(NoLimit))


def test_a_gauge_range_typed_in_is_refused_on_the_grader_s_metadata(solution, request):
    """A range typed in for the practice plant fits its metadata, not the one the grader builds the dashboard from."""
    class TypedRange(solution["Dashboard"]):
        def __init__(self, sensors):
            super().__init__(sensors)
            self.figures["cnc_vibration"].data[0].gauge.axis.range = [0, 25]

    judge("lab2_dashboard_layout_test", layout=kit.probe_layout(TypedRange))  # right for the practice plant
    request.getfixturevalue("graded_kernel")
    with pytest.raises(VerdictFailed, match="read from the sensor metadata"):
        judge("lab2_dashboard_layout_test", GRADED, layout=kit.probe_layout(TypedRange))


def test_a_trend_without_unit_is_refused(solution):
    class NoUnit(solution["Dashboard"]):
        def __init__(self, sensors):
            super().__init__(sensors)
            self.figures["cnc_spindle_temperature"].update_layout(yaxis_title_text="temperature")

    with pytest.raises(VerdictFailed, match="°C"):
        judge("lab2_dashboard_layout_test", layout=kit.probe_layout(NoUnit))


def test_a_dashboard_keeping_the_last_arrived_value_is_refused(solution):
    """Each replayed window ends with a late reading: overwriting the newest value with it shows on the gauge."""
    class LastArrived(solution["Dashboard"]):
        def update(self, topic, payload):
            super().update(topic, payload)
            pair = self.pair_of.get(topic)
            if pair is not None:
                self.latest[pair] = (self.latest[pair][0], payload["value"])

    with pytest.raises(VerdictFailed, match=r"first replayed window: the CNC vibration gauge: shows 0\.123, which is "
                                            r"not the newest"):
        judge("lab2_dashboard_replay_test", shown=kit.probe_replay(LastArrived))


def test_lights_in_the_wrong_colour_are_refused(solution):
    class Monochrome(solution["Dashboard"]):
        def refresh(self):
            super().refresh()
            for machine, light in self.lights.items():
                light.value = f"<b>{machine}: {self.states.get(machine)}</b>"

    with pytest.raises(VerdictFailed, match="site's colour"):
        judge("lab2_dashboard_replay_test", shown=kit.probe_replay(Monochrome))


def test_a_feed_redrawing_faster_than_asked_is_refused(solution):
    def eager_feed(dashboard, *, max_refresh_hz, clock):
        return solution["make_feed"](dashboard, max_refresh_hz=2 * max_refresh_hz, clock=clock)

    with pytest.raises(VerdictFailed, match="more often than max_refresh_hz=2"):
        judge("lab2_dashboard_feed_test", feed=kit.probe_feed(eager_feed))


def test_a_feed_without_the_filter_is_refused(solution):
    def unfiltered_feed(dashboard, *, max_refresh_hz, clock):
        last = [None]

        def feed(message):
            dashboard.update(message.topic, json.loads(message.payload))
            if last[0] is None or clock() - last[0] >= 1 / max_refresh_hz:
                last[0] = clock()
                dashboard.refresh()
        return feed

    with pytest.raises(VerdictFailed, match="keep_reading"):
        judge("lab2_dashboard_feed_test", feed=kit.probe_feed(unfiltered_feed))


def test_a_live_gauge_that_never_moves_or_a_missing_light_is_refused(sensors):
    lights = {machine: f"{machine}: running" for machine in sensors.machine}
    with pytest.raises(VerdictFailed, match="did not change"):
        judge("lab2_dashboard_live_test", live={"gauge": [2.5, 2.5], "lights": lights})
    with pytest.raises(VerdictFailed, match="every machine"):
        judge("lab2_dashboard_live_test", live={"gauge": [2.5, 2.7], "lights": {"cnc": "cnc: running"}})
    judge("lab2_dashboard_live_test", live={"gauge": [2.5, 2.7], "lights": lights})


# --- the notebook and its release -----------------------------------------------------------------------

def test_the_notebook_is_stored_clean_and_tagged_for_every_criterion_of_competence_2():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}
    for cell in notebook.cells:
        assert set(cell.metadata) <= {"nbgrader", "factorylab", "tags"}
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert validate_lab_tags([NOTEBOOK], load_catalogue(), enforce_coverage=["ccpm_iiot:CCPM-C2"]) == []
    modes = {cell.grade_id: cell.mode for cell in read_graded_cells(NOTEBOOK)}
    assert sum(mode == "auto" for mode in modes.values()) == 6


def test_the_release_holds_no_hidden_test(tmp_path):
    course = release_lab(tmp_path / "course", LAB)
    released = (course.release / LAB / f"{LAB}.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" not in released and "record(" not in released


@pytest.mark.slow
def test_grading_the_solution_and_typical_mistakes(tmp_path):
    """The solution scores full marks for two learners (two secret variants); each mistake costs its cell."""
    graded = grade_variants(tmp_path / "course", LAB, {
        "ada": the_solution,
        "bob": the_solution,
        "late": solution_with("lab2_dashboard_class", "if pair not in self.latest or when >= self.latest[pair][0]:",
                              "if True:"),
        "typed": solution_with("lab2_dashboard_class", '"axis": {"range": [vib_low, vib_high]}',
                               '"axis": {"range": [0, 25]}'),
    })
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    lost = {learner: set(graded.lost_points(learner)) for learner in ("late", "typed")}
    assert lost == {"late": {"lab2_dashboard_replay_test"}, "typed": {"lab2_dashboard_layout_test"}}
