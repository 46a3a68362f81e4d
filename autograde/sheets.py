"""Spreadsheets a trainer or jury fills in and gives back: marks (`factorylab mark --csv`) and decisions
(`factorylab observe --csv`).

They come back from Excel or LibreOffice as they were saved: "CSV UTF-8", French Excel's "CSV (separator:
semicolon)" in Windows-1252, or "Unicode text" (UTF-16, tab-separated). `read_sheet` accepts each, finds the
columns by name whatever their order or case, skips empty lines, and keeps each line's number for messages.
`sheet_rows` decodes and splits such a file for other readers (the collect roster).
"""

import codecs
import csv
import io
from pathlib import Path

from autograde.errors import EvaluationError


def sheet_rows(path: Path, what: str, needs: str, error: type[Exception] = EvaluationError):
    """A csv.reader over the CSV file `path`, decoded and split as the spreadsheet saved it. `error` (the
    caller's kind, naming the file) if it cannot be read, is a workbook or is empty; `what` names the file in
    messages ("the roster") and `needs` says what it must hold."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as failure:
        raise error(f"{path}: cannot read {what} ({failure.strerror})") from failure
    if data.startswith(b"PK\x03\x04"):
        raise error(f"{path}: an Excel workbook, not a CSV file: save it as CSV (File > Save As > CSV UTF-8)")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    if not text.strip():
        raise error(f"{path}: {what} is empty: it needs {needs}")
    header_line = text.splitlines()[0]
    return csv.reader(io.StringIO(text, newline=""), delimiter=max((",", ";", "\t"), key=header_line.count))


def read_sheet(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[tuple[int, dict]]:
    """(line number, {column: stripped text}) for each non-empty line under the header of the CSV file `path`.
    EvaluationError if the file cannot be read or its header lacks a `required` column."""
    reader = sheet_rows(path, "the file", f"a header line ({', '.join(required)}) and a line per entry")
    try:
        header = [cell.strip().casefold() for cell in next(reader)]
        missing = [column for column in required if column not in header]
        if missing:
            raise EvaluationError(f"{path}: line 1 (the header) lacks the column(s) {', '.join(missing)}: the "
                                  f"columns are {', '.join(required + optional)}")
        columns = {column: header.index(column) for column in required + optional if column in header}
        rows = []
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((reader.line_num, {column: cells[index].strip() if index < len(cells) else ""
                                               for column, index in columns.items()}))
    except csv.Error as error:
        raise EvaluationError(f"{path}: line {reader.line_num}: not readable as CSV ({error}): save it again as "
                              "CSV") from error
    return rows
