"""`factorylab plant …` refuses every bad value in one line, in the option's own unit, and starts without
importing the grader (nbgrader): the real program, run as a user runs it."""

import subprocess
import sys

import pytest

FACTORYLAB = [sys.executable, "-m", "factorylab.cli"]
TIMEOUT_S = 60


def factorylab(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([*FACTORYLAB, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("kpis", "--hours", "-5"), ("plant kpis", "--hours", "more than 0 and at most 8784 hours, got -5")),
        (("kpis", "--hours", "0"), ("--hours", "hours, got 0")),
        (("kpis", "--hours", "inf"), ("--hours", "a finite number of hours, got 'inf'")),
        (("kpis", "--hours", "nan"), ("--hours", "a finite number of hours")),
        (("kpis", "--hours", "ten"), ("--hours", "a number of hours, got 'ten'")),
        (("kpis", "--hours", "10", "--warmup-hours", "10"), ("--warmup-hours", "below --hours (10 h), got 10 h")),
        (("kpis", "--hours", "10", "--warmup-hours", "-1"), ("--warmup-hours", "0 hours or more, got -1")),
        (("kpis", "--hours", "1", "--seed", "-1"), ("--seed", "a whole number, 0 or more, got -1")),
        (("kpis", "--hours", "1", "--seed", "2.5"), ("--seed", "whole number", "'2.5'")),
        (("kpis", "--hours", "1", "--format", "xml"), ("--format", "invalid choice: 'xml'")),
        (("kpis",), ("the following arguments are required: --hours",)),
        (("dataset", "--hours", "-1", "--out", "x"), ("plant dataset", "--hours", "got -1")),
        (("run", "--speed", "-2", "--hours", "1"), ("plant run", "--speed", "simulated seconds per wall second")),
        (("run", "--hours", "0"), ("plant run", "--hours", "got 0")),
    ],
)
def test_a_bad_value_is_refused_in_one_line_in_the_options_unit(tmp_path, args, fragments):
    result = factorylab("plant", *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("factorylab: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not list(tmp_path.iterdir())  # nothing written


def test_plant_commands_never_import_the_grader(tmp_path):
    probe = ("import sys\nfrom factorylab.cli import main\nassert main(['plant', 'scenarios']) == 0\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbgrader', 'jupyter_server') "
             "or m.startswith('autograde.cli')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "cooling_failure" in result.stdout


def test_a_bundled_plant_is_named_without_its_path(tmp_path):
    result = factorylab("plant", "kpis", "--plant", "realistic", "--hours", "2", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"bottleneck": "cnc"' in result.stdout
