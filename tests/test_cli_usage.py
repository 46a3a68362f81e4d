"""Every `factorylab` sub-command explains itself (a description and an example in its --help), and a mistyped
or empty selection is an error that names what exists, with a non-zero exit status."""

import argparse
import re

import pytest

from factorylab.cli import EXIT_BAD_INPUT, build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix: str = "factorylab"):
    """(command line, parser) for every sub-command, nested ones (`plant run`) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _commands(sub, f"{prefix} {name}")


COMMANDS = dict(_commands(build_parser()))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_sub_command_has_a_description_and_an_example(command):
    parser = COMMANDS[command]
    assert parser.description and len(parser.description) > 40, f"`{command} --help` needs a description"
    assert parser.epilog and "example" in parser.epilog, f"`{command} --help` needs an example"
    assert re.search(re.escape(command) + r"(\s|$)", parser.epilog), \
        f"`{command} --help`: the example must show `{command} …`"


def test_the_sub_commands_are_all_found():
    assert {"factorylab grade", "factorylab lab", "factorylab plant run", "factorylab report",
            "factorylab verify-badge"} <= set(COMMANDS)


@pytest.fixture
def course(tmp_path):
    """A course folder with two released labs; ada and bea submitted lab_a, nobody lab_b."""
    for lab in ("lab_a", "lab_b"):
        (tmp_path / "release" / lab).mkdir(parents=True)
    for learner in ("ada", "bea"):
        (tmp_path / "submitted" / learner / "lab_a").mkdir(parents=True)
    return tmp_path


def test_a_mistyped_learner_is_an_error_naming_the_learners(course, capsys):
    assert main(["grade", "--course", str(course), "--learner", "ada", "--learner", "adda", "--unsafe"]) \
        == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "no submission by 'adda' (learners with a submission: ada, bea): check the --learner id" in error
    assert "submission(s)" not in error


def test_a_selection_with_nothing_to_grade_is_an_error_naming_what_was_submitted(course, capsys):
    assert main(["grade", "lab_b", "--course", str(course), "--unsafe"]) == EXIT_BAD_INPUT
    assert ("no submission of lab_b to grade (submitted: lab_a: ada, bea; lab_b: none): collect the notebooks "
            "first (factorylab collect)") in capsys.readouterr().err


def test_an_unknown_lab_is_an_error_naming_the_released_labs(course, capsys):
    assert main(["grade", "lab_c", "--course", str(course), "--unsafe"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "no released lab 'lab_c'" in error and "(released: lab_a, lab_b)" in error
