"""The grader's feedback messages can be translated: each is a literal template whose placeholders are given.

A verdict's message (`expect(condition, "…", **values)`, `VerdictFailed("…", **values)`, autograde/verdicts/)
reaches the learner's feedback in the course's language through its lab's catalogue (locale/README.md). gettext
can only find a text it was given as written: an f-string, or a message built elsewhere and passed along, would
stay English in every language, and tests/test_i18n.py could not see it. So every such call passes its message as
a literal, and the values of its placeholders by name, no more and no fewer.
"""

import ast
import string
from pathlib import Path

import pytest

from autograde import i18n
from autograde.verdicts import VerdictFailed, expect, phrase

VERDICTS = Path(__file__).resolve().parents[1] / "autograde" / "verdicts"
MESSAGE_POSITION = {"expect": 1, "VerdictFailed": 0, "MissingEvidence": 0}


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _fields(template: str) -> set[str]:
    """The names a str.format template needs (`{objective.pair}` needs `objective`)."""
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(template)
            if field is not None}


def literal_messages(path: Path) -> set[str]:
    """The literal templates of the message calls of `path`, as Python reads them."""
    return {node.args[MESSAGE_POSITION[_called(node)]].value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            if isinstance(node, ast.Call) and _called(node) in MESSAGE_POSITION
            and len(node.args) > MESSAGE_POSITION[_called(node)]
            and isinstance(node.args[MESSAGE_POSITION[_called(node)]], ast.Constant)
            and isinstance(node.args[MESSAGE_POSITION[_called(node)]].value, str)}


def message_problems(path: Path) -> list[str]:
    """Each call of `path` whose message is not a literal template with exactly its placeholders' values."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call) or _called(node) not in MESSAGE_POSITION:
            continue
        where = f"{path.name}:{node.lineno}"
        position = MESSAGE_POSITION[_called(node)]
        if len(node.args) <= position:
            problems.append(f"{where}: no message")
            continue
        message = node.args[position]
        if not (isinstance(message, ast.Constant) and isinstance(message.value, str)):
            problems.append(f"{where}: the message is not a literal text ({type(message).__name__}): write it as "
                            "a template with named placeholders, values given as keywords")
            continue
        given = {keyword.arg for keyword in node.keywords}
        if None in given:
            problems.append(f"{where}: values given as **mapping: name each one")
            continue
        try:
            needed = _fields(message.value) if given else set()
        except ValueError as error:
            problems.append(f"{where}: not a str.format template ({error}): double a literal brace")
            continue
        if needed != given:
            problems.append(f"{where}: the placeholders {sorted(needed)} and the values {sorted(given)} differ")
    return problems


@pytest.mark.parametrize("path", sorted(VERDICTS.glob("[!_]*.py")), ids=lambda path: path.stem)
def test_every_feedback_message_is_a_literal_template(path):
    assert message_problems(path) == []


@pytest.mark.parametrize("path", sorted(VERDICTS.glob("[!_]*.py")), ids=lambda path: path.stem)
def test_the_lab_catalogue_holds_every_feedback_message(path):
    """Babel's extractor reads the message calls token by token: a comma inside brackets in a condition
    (`expect(set(x) >= {"a", "b"}, "…")`) makes it take a word of the condition for the message, and the real
    message is never offered to translators. What Python reads as the message must be what Babel extracts."""
    extracted = {message.id for message in i18n.extract(path.stem) if message.id}
    missed = sorted(literal_messages(path) - extracted)
    assert missed == [], f"{path.name}: Babel misses these messages (name the condition in a variable): {missed}"


def test_an_f_string_or_a_missing_value_is_named(tmp_path):
    module = tmp_path / "lab_x.py"
    module.write_text('def f(e, v, n):\n    expect(n > 1, f"{n} items")\n    expect(n > 1, "{n} of {m}", n=n)\n'
                      '    raise VerdictFailed("fine {n}", n=n)\n')
    problems = message_problems(module)
    assert [problem.split(":")[1] for problem in problems] == ["2", "3"], problems
    assert "not a literal text (JoinedStr)" in problems[0] and "['m', 'n'] and the values ['n']" in problems[1]


def test_a_failed_verdict_is_english_and_translates_its_template():
    with pytest.raises(VerdictFailed) as failed:
        expect(False, "{count} rule(s) on {pair}", count=2, pair="cnc/power")
    assert str(failed.value) == "2 rule(s) on cnc/power"
    french = {"{count} rule(s) on {pair}": "{count} règle(s) sur {pair}"}
    assert failed.value.translated(lambda text: french.get(text, text)) == "2 règle(s) sur cnc/power"


def test_words_and_failures_given_as_values_are_translated_with_the_message():
    inner = VerdictFailed("{count} rule(s) on {pair}", count=2, pair="cnc/power")
    outer = VerdictFailed("{where}: {failure}", where=phrase("your site"), failure=inner)
    assert str(outer) == "your site: 2 rule(s) on cnc/power"
    french = {"{count} rule(s) on {pair}": "{count} règle(s) sur {pair}", "your site": "votre site",
              "{where}: {failure}": "{where} : {failure}"}
    assert outer.translated(lambda text: french.get(text, text)) == "votre site : 2 règle(s) sur cnc/power"
