"""End-to-end tests of the `factorylab` command: the real program run as a subprocess, as a user runs it.

Each test checks the exit code, what is printed on stdout and stderr, and the files written. Bad input must
give exit code 2 and one line naming the file and the field, never a traceback (`--debug` shows it).
"""

import copy
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mqtt_fixtures import Inbox

from autograde.catalogue import load_catalogue
from simulators.plantfile import default_plant_path
from simulators.transport import MqttClient

FACTORYLAB = [sys.executable, "-m", "factorylab.cli"]
SCRIPT = Path(sys.executable).with_name("factorylab")
SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "simulators" / "scenarios"
EXIT_BAD_INPUT = 2
TIMEOUT_S = 60  # far above any command here; a hang fails the test instead of blocking the suite
URL = re.compile(r"mqtt://127\.0\.0\.1:\d+")
KNOWN_SCENARIOS = sorted(path.stem for path in SCENARIOS_DIR.glob("*.yaml"))


def factorylab(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `factorylab ARGS` in `cwd` and return its exit code and output (text)."""
    return subprocess.run(
        [*FACTORYLAB, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, nothing on stdout, and exactly one stderr line holding every fragment; returns that line."""
    assert result.returncode == EXIT_BAD_INPUT, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("factorylab: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def write_plant(path: Path, change) -> Path:
    """The bundled plant with `change(data)` applied, written to `path`."""
    data = copy.deepcopy(yaml.safe_load(default_plant_path().read_text(encoding="utf-8")))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the entry point ------------------------------------------------------------------------------------------


def test_installed_script_lists_every_command_in_its_help(tmp_path):
    result = subprocess.run([SCRIPT, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    for command in ("plant", "lab", "coverage", "report"):
        assert command in result.stdout


# --- plant kpis -----------------------------------------------------------------------------------------------


def test_kpis_json_has_the_line_kpis_and_depends_only_on_the_seed(tmp_path):
    first = factorylab("plant", "kpis", "--hours", 8, "--seed", 3, "--format", "json", cwd=tmp_path)
    again = factorylab("plant", "kpis", "--hours", 8, "--seed", 3, "--format", "json", cwd=tmp_path)
    other = factorylab("plant", "kpis", "--hours", 8, "--seed", 4, "--format", "json", cwd=tmp_path)
    for result in (first, again, other):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout

    kpis = json.loads(first.stdout)
    assert kpis["window_s"] == pytest.approx(8 * 3600.0)
    assert kpis["throughput_per_hour"] > 0
    assert kpis["throughput_per_hour"] == pytest.approx(kpis["good_parts"] / 8.0)
    assert kpis["mean_wip"] > 0
    oee = kpis["oee"]
    assert 0 < oee["oee"] <= 1
    assert oee["oee"] == pytest.approx(oee["availability"] * oee["performance"] * oee["quality"])
    assert set(kpis["stations"]) == {"saw", "cnc", "deburr", "wash", "inspect"}
    for station in kpis["stations"].values():
        assert 0 <= station["utilisation"] <= 1


def test_kpis_table_is_a_readable_table_with_the_same_numbers_as_json(tmp_path):
    table = factorylab("plant", "kpis", "--hours", 8, "--seed", 3, "--format", "table", cwd=tmp_path)
    as_json = factorylab("plant", "kpis", "--hours", 8, "--seed", 3, "--format", "json", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(table.stdout)
    kpis = json.loads(as_json.stdout)
    text = table.stdout
    assert "throughput" in text and "OEE" in text
    assert f"{kpis['throughput_per_hour']:.2f}" in text
    assert f"{kpis['oee']['oee']:.1%}" in text
    rows = {line.split()[0] for line in text.splitlines() if line.strip()}
    assert {"saw", "cnc", "deburr", "wash", "inspect"} <= rows


# --- plant scenarios ------------------------------------------------------------------------------------------


def test_scenarios_lists_every_bundled_yaml_with_its_description(tmp_path):
    result = factorylab("plant", "scenarios", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == KNOWN_SCENARIOS
    assert "normal" in KNOWN_SCENARIOS and "cooling_failure" in KNOWN_SCENARIOS
    for line in lines:
        assert len(line.split(maxsplit=1)) == 2, f"no description: {line!r}"


# --- plant dataset --------------------------------------------------------------------------------------------


def test_dataset_writes_files_and_a_data_card_whose_command_regenerates_them_byte_for_byte(tmp_path):
    command = "plant dataset --scenario cooling_failure --seed 5 --hours 1 --out ds --format csv"
    (tmp_path / "a").mkdir()
    result = factorylab(*command.split(), cwd=tmp_path / "a")
    assert result.returncode == 0, result.stderr
    assert "ds" in result.stdout and "DATACARD.md" in result.stdout
    out = tmp_path / "a" / "ds"
    names = {path.name for path in out.iterdir()}
    expected = {f"{table}.csv" for table in
                ("readings", "readings_truth", "events", "states", "setpoints", "faults", "sensors")}
    assert expected | {"DATACARD.md", "manifest.json"} == names
    assert len((out / "readings.csv").read_text().splitlines()) > 1000  # 1 h of 20 sensors at 1 Hz
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["scenario"], manifest["seed"], manifest["format"]) == ("cooling_failure", 5, "csv")

    card = (out / "DATACARD.md").read_text(encoding="utf-8")
    assert "cooling_failure" in card
    written = re.search(r"```\n(factorylab [^\n]+)\n```", card)
    assert written is not None, card
    assert written.group(1) == f"factorylab {command}"

    (tmp_path / "b").mkdir()
    again = factorylab(*shlex.split(written.group(1))[1:], cwd=tmp_path / "b")
    assert again.returncode == 0, again.stderr
    regenerated = tmp_path / "b" / "ds"
    assert {path.name for path in regenerated.iterdir()} == names
    for name in sorted(names):
        assert (regenerated / name).read_bytes() == (out / name).read_bytes(), name


def test_dataset_refuses_a_non_empty_foreign_folder_and_leaves_it_untouched(tmp_path):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.md").write_text("precious", encoding="utf-8")
    result = factorylab("plant", "dataset", "--hours", 1, "--out", foreign, "--format", "csv", cwd=tmp_path)
    assert_one_line_error(result, str(foreign), "not empty")
    assert [path.name for path in foreign.iterdir()] == ["chapter1.md"]
    assert (foreign / "chapter1.md").read_text(encoding="utf-8") == "precious"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["thesis"]  # no partial dataset left behind


# --- plant run ------------------------------------------------------------------------------------------------


def test_run_with_the_embedded_broker_prints_its_url_and_exits_quietly(tmp_path):
    result = factorylab("plant", "run", "--hours", 0.05, "--speed", 0, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert URL.search(result.stdout), result.stdout
    assert "Traceback" not in result.stderr
    # The broker library's internals (amqtt, its state machine) are logged with --debug only.
    assert "transitions.core" not in result.stderr and "amqtt" not in result.stderr, result.stderr


def test_run_streams_readings_and_status_to_the_given_broker(tmp_path, embedded_broker):
    with MqttClient(embedded_broker.url) as learner:
        inbox = Inbox(learner, "factorylab/#")
        result = factorylab("plant", "run", "--broker", embedded_broker.url, "--hours", 0.01, "--speed", 0,
                            "--seed", 7, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert embedded_broker.url in result.stdout
        inbox.wait_for(lambda m: m.topic.endswith("/_status") and json.loads(m.payload)["status"] == "stopped")
        messages = inbox.drain()
    readings = [m for m in messages if m.topic.startswith("factorylab/lyon/machining/line1/cnc/")
                and "value" in json.loads(m.payload)]
    assert len(readings) > 10


def test_run_against_an_unreachable_broker_fails_fast_with_one_line(tmp_path):
    result = factorylab("plant", "run", "--broker", "mqtt://127.0.0.1:1", "--hours", 0.01, cwd=tmp_path)
    assert_one_line_error(result, "cannot reach", "mqtt://127.0.0.1:1")
    assert result.stdout == ""


def test_debug_shows_the_traceback_of_an_unreachable_broker(tmp_path):
    result = factorylab("--debug", "plant", "run", "--broker", "mqtt://127.0.0.1:1", "--hours", 0.01, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "BrokerError" in result.stderr and "cannot reach mqtt://127.0.0.1:1" in result.stderr


# --- bad input ------------------------------------------------------------------------------------------------


def _unknown_key(data):
    data["stations"]["saw"]["colour"] = "red"


def _missing_station(data):
    data["products"]["bracket"]["routing"][1]["station"] = "laser"


def _negative_scrap_rate(data):
    data["stations"]["cnc"]["scrap_rate"] = -0.1


def _negative_mtbf(data):
    data["stations"]["cnc"]["breakdowns"]["mtbf_hours"] = -5


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (_unknown_key, ("stations.saw", "colour")),
        (_missing_station, ("products.bracket.routing[1].station", "laser")),
        (_negative_scrap_rate, ("stations.cnc.scrap_rate", "-0.1")),
        (_negative_mtbf, ("stations.cnc.breakdowns.mtbf_hours", "-5")),
    ],
    ids=["unknown_key", "routing_to_missing_station", "negative_scrap_rate", "negative_mtbf"],
)
def test_a_bad_plant_file_gives_one_line_naming_the_file_and_field(tmp_path, change, fragments):
    plant = write_plant(tmp_path / "myplant.yaml", change)
    result = factorylab("plant", "kpis", "--hours", 1, "--plant", plant, cwd=tmp_path)
    assert_one_line_error(result, str(plant), *fragments)


def test_a_missing_plant_file_gives_one_line(tmp_path):
    result = factorylab("plant", "kpis", "--hours", 1, "--plant", tmp_path / "nope.yaml", cwd=tmp_path)
    assert_one_line_error(result, str(tmp_path / "nope.yaml"))


def test_an_unknown_scenario_name_gives_one_line_listing_the_known_ones(tmp_path):
    result = factorylab("plant", "dataset", "--scenario", "meteor_strike", "--hours", 1, "--out", "ds",
                        cwd=tmp_path)
    assert_one_line_error(result, "meteor_strike", *KNOWN_SCENARIOS)
    assert list(tmp_path.iterdir()) == []


def test_a_scenario_naming_a_machine_the_plant_lacks_gives_one_line(tmp_path):
    scenario = tmp_path / "laser_fire.yaml"
    scenario.write_text(
        "name: laser_fire\ndescription: The laser overheats.\nfaults:\n"
        "  - {id: f1, kind: cooling_failure, machine: laser, start_h: 0.1, duration_h: 0.5}\n",
        encoding="utf-8",
    )
    result = factorylab("plant", "run", "--scenario", scenario, "--hours", 0.01, "--speed", 0, cwd=tmp_path)
    assert_one_line_error(result, str(scenario), "faults[0].machine", "laser")
    assert result.stdout == ""  # refused before any broker was started


# --- coverage and report --------------------------------------------------------------------------------------


def test_coverage_of_an_empty_labs_folder_lists_every_criterion_as_not_assessed(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    result = factorylab("coverage", "--labs", labs, "--out", tmp_path / "cov", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = ("coverage.html", "coverage.csv", "coverage.md")
    for name in names:
        assert name in result.stdout
    assert sorted(path.name for path in (tmp_path / "cov").iterdir()) == sorted(names)

    catalogue = load_catalogue()
    with (tmp_path / "cov" / "coverage.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["criterion_key"] for row in rows] == list(catalogue.criteria)
    assert {row["status"] for row in rows} <= {"not_covered", "outside_labs"}
    assert any(row["status"] == "not_covered" for row in rows)
    assert all(row["grade_id"] == "" for row in rows)
    markdown = (tmp_path / "cov" / "coverage.md").read_text(encoding="utf-8")
    assert "Aucun lab pour l'instant" in markdown  # French by default
    html = (tmp_path / "cov" / "coverage.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "non couvert" in html


def test_coverage_of_a_missing_labs_folder_gives_one_line_and_writes_nothing(tmp_path):
    result = factorylab("coverage", "--labs", tmp_path / "nolabs", "--out", tmp_path / "cov", cwd=tmp_path)
    assert_one_line_error(result, str(tmp_path / "nolabs"), "labs directory not found")
    assert not (tmp_path / "cov").exists()


def test_report_on_a_course_without_gradebook_gives_one_line_and_writes_nothing(tmp_path):
    course, labs = tmp_path / "course", tmp_path / "labs"
    course.mkdir()
    labs.mkdir()
    result = factorylab("report", "--course", course, "--labs", labs, "--out", tmp_path / "rep", cwd=tmp_path)
    assert_one_line_error(result, str(course / "gradebook.db"), "gradebook not found")
    assert not (tmp_path / "rep").exists()
    assert sorted(path.name for path in course.iterdir()) == []  # no gradebook created as a side effect


# --- lab ------------------------------------------------------------------------------------------------------


def test_lab_with_no_workspace_and_no_sources_gives_one_line_before_starting_anything(tmp_path):
    result = factorylab("lab", "--workspace", tmp_path / "mine", "--sources", tmp_path / "nolabs", "--no-browser",
                        cwd=tmp_path)
    assert_one_line_error(result, str(tmp_path / "mine"), "--workspace")
    assert result.stdout == "" and not (tmp_path / "mine").exists()


def test_lab_opens_the_released_labs_in_the_workspace_and_exports_the_broker_to_jupyterlab(tmp_path):
    """A stand-in `jupyterlab` module (first on PYTHONPATH) records how it was started, and exits with 3."""
    fake = tmp_path / "fake" / "jupyterlab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "__main__.py").write_text(
        "import os, sys\nprint('JUPYTERLAB', os.environ['FACTORYLAB_BROKER'], os.environ['FACTORYLAB_SEED'], "
        "*sys.argv[1:], flush=True)\nsys.exit(3)\n",
        encoding="utf-8",
    )
    lab = "lab1_prepare_data"
    shutil.copytree(Path(__file__).resolve().parents[1] / "labs" / lab, tmp_path / "sources" / lab)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))}
    run = ("lab", "--workspace", "mine", "--sources", "sources", "--seed", 11, "--port", 9876, "--no-browser",
           "--speed", 60)
    result = factorylab(*run, cwd=tmp_path, env=env)
    assert result.returncode == 3, result.stderr
    printed = URL.search(result.stdout)
    assert printed is not None, result.stdout
    started = next(line for line in result.stdout.splitlines() if line.startswith("JUPYTERLAB")).split()
    assert started[1:3] == [printed.group(0), "11"]
    root = next(arg.split("=", 1)[1] for arg in started if arg.startswith("--ServerApp.root_dir="))
    assert (tmp_path / root).resolve() == (tmp_path / "mine").resolve()  # relative to where it was started
    assert "--ServerApp.port=9876" in started and "--no-browser" in started
    assert "Traceback" not in result.stderr

    notebook = tmp_path / "mine" / lab / f"{lab}.ipynb"
    released = notebook.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released
    notebook.write_text(released.replace("raise NotImplementedError()", "pass  # my work"), encoding="utf-8")
    assert factorylab(*run, cwd=tmp_path, env=env).returncode == 3
    assert "# my work" in notebook.read_text(encoding="utf-8"), "a learner's notebook is never overwritten"
