"""The roster: under which learner id each person of the LMS is filed.

A CSV file with a header row. Its columns (case, spaces, `-` and `_` aside; other columns ignored):
- `learner`, required: the learner id, the folder under `submitted/` and nbgrader's student id; SAFE_ID_RULE.
- `name`, `email`, `username`, `lms_id`: at least one column, and a value in each row. `lms_id` is the number
  in the download's names (Moodle's participant number, Canvas's and Brightspace's user ids), `username` the
  user name (Blackboard, nbgrader, JupyterHub; an `email` matches it too, whole or before its `@`).
A learner is found by `lms_id` or user name first, then by name: as written (Unicode and case aside), else
with accents folded (`Eloise Dupre` finds `Éloïse Dupré`); Canvas's names (`lovelaceada`) match either order
of a roster name's words. A row with an `lms_id` is only ever found by it, so two homonyms are told apart by
their numbers. Whoever is not found is not placed.

Excel's CSV files are read as they come: UTF-8 with or without BOM, UTF-16 ("Unicode text"), else Windows'
cp1252; separated by `,`, `;` (French Excel) or tabs. The whole roster is checked before anything is placed
and every problem is named by file, line and field: an unsafe or duplicate learner id (two rows on one id would
merge two people's work), a value of `lms_id`, `username` or `email` given to two rows, a row with nothing to
recognise its learner by.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from autograde.collect.identity import NUMBER, USERNAME, Identity
from autograde.collect.names import SAFE_ID_RULE, is_safe_id, learner_id, name_key, squashed
from autograde.errors import CollectError
from autograde.sheets import sheet_rows

IDENTITY_COLUMNS = ("name", "email", "username", "lms_id")
UNIQUE_COLUMNS = ("learner", "lms_id", "username", "email")


class RosterMiss(Exception):
    """No row, or more than one, of the roster is this learner; the message says which and what to do."""


@dataclass
class Row:
    """One learner of the roster, with the line of the file it is on."""

    line: int
    learner: str
    name: str = ""
    email: str = ""
    username: str = ""
    lms_id: str = ""

    def __post_init__(self) -> None:
        if _is_number(self.lms_id):  # as Excel may write a number: 00123, 123.0
            self.lms_id = self.lms_id.partition(".")[0].lstrip("0") or "0"


class Roster:
    """A checked roster, and the row each LMS identity is."""

    def __init__(self, path: Path, rows: list[Row]) -> None:
        self.path, self.rows = path, rows
        self._by_number = {row.lms_id: row for row in rows if row.lms_id}
        self._by_username = {}
        for row in rows:
            for key in (row.username, row.email, row.email.partition("@")[0] if row.email else ""):
                if key:
                    self._by_username.setdefault(key.casefold(), row)

    @classmethod
    def read(cls, path: Path) -> "Roster":
        """The roster in the CSV file `path`; CollectError listing every problem when it is not valid."""
        reader = sheet_rows(path, "the roster", "a header line (learner,name...) and a line per learner",
                            CollectError)
        try:
            return cls._parse(Path(path), reader)
        except csv.Error as error:
            raise CollectError(f"{path}: line {reader.line_num}: not readable as CSV ({error}): save the roster "
                               "again as CSV") from error

    @classmethod
    def _parse(cls, path: Path, reader) -> "Roster":
        header = next(reader)
        spelled = [re.sub(r"[^a-z0-9]", "", cell.casefold()) for cell in header]  # "E-mail", "LMS id"
        columns = {column: spelled.index(column.replace("_", "")) for column in ("learner", *IDENTITY_COLUMNS)
                   if column.replace("_", "") in spelled}
        if "learner" not in columns or len(columns) < 2:
            raise CollectError(f"{path}: line 1 (the header) must name a 'learner' column and at least one of "
                               f"{', '.join(IDENTITY_COLUMNS)}; found {', '.join(map(repr, header))}")
        rows, problems = [], []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            row = Row(reader.line_num, **{column: cells[index].strip() if index < len(cells) else ""
                                          for column, index in columns.items()})
            problems += _problems(path, row)
            rows.append(row)
        problems += _duplicates(path, rows)
        if problems:
            raise CollectError("the roster is not valid, nothing was placed:\n" + "\n".join(problems))
        return cls(path, rows)

    def match(self, identity: Identity) -> Row:
        """The row that is this LMS identity; RosterMiss when none is, or several are."""
        if identity.kind == NUMBER and identity.key in self._by_number:
            return self._by_number[identity.key]
        if identity.kind == USERNAME and identity.key.casefold() in self._by_username:
            return self._by_username[identity.key.casefold()]
        rows = self._named(identity) if identity.name else []
        if len(rows) > 1:
            raise RosterMiss(f"lines {' and '.join(str(row.line) for row in rows)} of the roster {self.path} bear "
                             "this name: give each its lms_id (the number in the download's names)")
        if not rows:
            raise RosterMiss(f"not in the roster {self.path}: no line with this lms_id, user name or name; add one")
        return rows[0]

    def _named(self, identity: Identity) -> list[Row]:
        candidates = [row for row in self.rows if row.name and not (identity.kind == NUMBER and row.lms_id)]
        for key in (name_key, learner_id):
            rows = [row for row in candidates if key(row.name) == key(identity.name)]
            if rows:
                return rows
        if identity.system == "Canvas":
            return [row for row in candidates if squashed(identity.name) in _word_orders(row.name)]
        return []


def _word_orders(name: str) -> set[str]:
    """`Ada Lovelace` -> {adalovelace, lovelaceada}: the name's words in each rotation, squashed."""
    words = [word for word in learner_id(name).split("_") if word]
    return {"".join(words[start:] + words[:start]) for start in range(len(words))}


def _problems(path: Path, row: Row) -> list[str]:
    where = f"{path}: line {row.line}"
    if not row.learner:
        return [f"{where}, field 'learner': empty: give the learner id this person's work is filed under"]
    problems = []
    if not is_safe_id(row.learner):
        problems.append(f"{where}, field 'learner': {row.learner!r} is not a safe learner id (it names a folder "
                        f"under submitted/): use {SAFE_ID_RULE}")
    if not any((row.name, row.email, row.username, row.lms_id)):
        problems.append(f"{where}: no {', '.join(IDENTITY_COLUMNS)}: nothing to recognise {row.learner!r} by")
    return problems


def _duplicates(path: Path, rows: list[Row]) -> list[str]:
    problems = []
    for column in UNIQUE_COLUMNS:
        seen: dict[str, Row] = {}
        for row in rows:
            value = getattr(row, column)
            if not value:
                continue
            first = seen.setdefault(value.casefold(), row)
            if first is not row:
                why = ("two people on one learner id would merge their work: give each their own id"
                       if column == "learner" else "it must name one person: correct one of the lines")
                problems.append(f"{path}: lines {first.line} and {row.line}, field '{column}': both are "
                                f"{value!r}: {why}")
    return problems


def _is_number(text: str) -> bool:
    """Whether `text` is a whole number, possibly written `00123` or `123.0`."""
    whole, _, fraction = text.partition(".")
    return whole.isdigit() and whole.isascii() and (not fraction or set(fraction) == {"0"})
