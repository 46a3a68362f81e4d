"""A lab notebook's texts for translators, and the notebook in another language, its code and grading unchanged.

A lab is written once, in English, in `labs/<lab>/<lab>.ipynb`; its translation is the gettext catalogue of the
domain named after the lab (`locale/<language>/LC_MESSAGES/<lab>.po`). What a learner or an evaluator reads is
translated, nothing that runs or grades:

- each markdown cell, paragraph by paragraph (autograde/i18n_markdown.py: code blocks, nbgrader's markers and
  the quoted official criteria stay as written);
- each graded cell's `metadata.factorylab.checks`, the sentence evaluators read in the reports;
- the message of each `assert` in a code cell when it is a plain string (`assert len(plan) >= 3, "at least
  three actions"`): what the learner reads when a self-check fails. An f-string message stays as written.

Everything else is kept as it is: the cells, their order, their ids and metadata (nbgrader's grade_id and
points, the criteria), and every code cell but for its assert messages (comments and identifiers stay English:
code is code), so a lab released in French is graded exactly as one released in English. `code_signature` is
what the tests compare to prove it.

`extract` is the Babel extractor of the labs (`locale/labs.cfg`).
"""

import ast
import copy
import json
from collections.abc import Callable, Iterator

import nbformat

from autograde import i18n_markdown

NAMESPACE = "factorylab"


def assert_messages(source: str) -> list[tuple[int, int, int, int, str]]:
    """The plain-string messages of the asserts of a code cell: (line, column, end line, end column, text),
    columns in characters, lines 1-based; none when the cell is not plain Python (an IPython magic)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines(keepends=True)

    def column(line: int, byte_offset: int) -> int:  # ast counts columns in UTF-8 bytes
        return len(lines[line - 1].encode("utf-8")[:byte_offset].decode("utf-8"))

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
            message = node.msg
            found.append((message.lineno, column(message.lineno, message.col_offset),
                          message.end_lineno, column(message.end_lineno, message.end_col_offset), message.value))
    return sorted(found)


def _string_literal(text: str) -> str:
    """`text` as a double-quoted Python string literal (JSON's string syntax is a subset of Python's)."""
    return json.dumps(text, ensure_ascii=False)


def translate_code(source: str, gettext: Callable[[str], str]) -> str:
    """`source` with each plain assert message replaced by a string literal of its translation."""
    lines = source.splitlines(keepends=True)
    for line, col, end_line, end_col, text in reversed(assert_messages(source)):
        translated = gettext(text)
        if translated == text:
            continue
        head, tail = lines[line - 1][:col], lines[end_line - 1][end_col:]
        lines[line - 1:end_line] = [head + _string_literal(translated) + tail]
    return "".join(lines)


def translate_notebook(notebook: nbformat.NotebookNode, gettext: Callable[[str], str]) -> nbformat.NotebookNode:
    """A copy of `notebook` whose texts are translated by `gettext` (see the module's docstring)."""
    translated = copy.deepcopy(notebook)
    for cell in translated.cells:
        if cell.cell_type == "markdown":
            cell.source = i18n_markdown.translate(cell.source, gettext)
        elif cell.cell_type == "code":
            cell.source = translate_code(cell.source, gettext)
        tags = cell.metadata.get(NAMESPACE)
        if isinstance(tags, dict) and isinstance(tags.get("checks"), str) and tags["checks"].strip():
            tags["checks"] = gettext(tags["checks"])
    return translated


def texts(notebook: nbformat.NotebookNode) -> Iterator[tuple[int, str, str]]:
    """(cell number from 1, what it is, text) of every text of `notebook` to translate, in order."""
    for number, cell in enumerate(notebook.cells, start=1):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        where = f"cell {number}" + (f" ({grade_id})" if grade_id else "")
        if cell.cell_type == "markdown":
            for piece in i18n_markdown.paragraphs(cell.source):
                yield number, f"{where}, markdown", piece.text
        elif cell.cell_type == "code":
            for *_position, text in assert_messages(cell.source):
                yield number, f"{where}, self-check message (assert)", text
        checks = cell.metadata.get(NAMESPACE, {}).get("checks")
        if isinstance(checks, str) and checks.strip():
            yield number, f"{where}: what the cell checks, shown to evaluators", checks


def code_signature(notebook: nbformat.NotebookNode) -> list[tuple]:
    """What must be identical in every language: each cell's type, metadata (the `checks` sentence and nbgrader's
    checksum of a released cell, a hash of its text, aside) and, for code, its syntax tree with the assert messages
    blanked out (its text when it is not plain Python)."""
    signature = []
    for cell in notebook.cells:
        metadata = copy.deepcopy(dict(cell.metadata))
        for namespace, key in ((NAMESPACE, "checks"), ("nbgrader", "checksum")):
            if isinstance(metadata.get(namespace), dict) and key in metadata[namespace]:
                metadata[namespace][key] = "…"
        code = None
        if cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                code = cell.source
            else:
                for node in ast.walk(tree):
                    if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant) \
                            and isinstance(node.msg.value, str):
                        node.msg = ast.Constant("…")
                code = ast.dump(tree)
        signature.append((cell.cell_type, json.dumps(metadata, sort_keys=True), code))
    return signature


def extract(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """Babel extractor for a lab notebook: its texts (see `texts`), located by cell number, each with a note
    saying which cell and what it is for the translator."""
    notebook = nbformat.reads(fileobj.read().decode("utf-8"), as_version=4)
    for number, where, text in texts(notebook):
        yield number, None, text, [where]
