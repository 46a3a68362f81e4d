"""lab1_prepare_data's kit: the inputs the hidden test cells feed the learner's functions, and the probes that
turn what those functions did into plain data for the grader.

Nothing here knows the brief's answers (which signals, which period) or the ground truth of a reading. The
hidden cells do not judge the learner's own pipeline, where one early mistake would spoil every later step:
each runs one of the learner's functions on inputs the grader chose for this learner's graded variant
(`probe(name)`, read from the variant's folder when grading) and records the result. The inputs are drawn by
`grader_inputs` from the observed readings of the plant and a seed: the grader's secret seed when grading (the
kernel only sees the result), the public practice seed otherwise. They cover other signals and other windows
than the brief's, so a function must follow its arguments, not the brief's constants.
"""

import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit import plaindata
from labkit.variant import graded_input
from simulators.learner import learner_seed, load_dataset

SCENARIO = "normal"
HOURS = 8.0
KEY = ["machine", "sensor", "seq"]
SOURCE_COLUMNS = ("topic", "machine", "sensor", "kind", "unit", "low", "high", "period_s")
SELECT_COLUMNS = ("machine", "sensor", "seq", "timestamp", "value", "quality")
CLEAN_COLUMNS = ("machine", "sensor", "seq", "timestamp", "value")
MINUTE_COLUMNS = ("machine", "sensor", "minute", "value_mean", "n_samples")
ARCHIVE_TABLES = ("sensors", "readings")
RESAMPLE_MINUTES = (90, 150)  # length of the resampling probe's period, minutes
TRANSFER_MINUTES = 30
ARCHIVE_HOURS = 3
RETENTION_CHOICES = (0.5, 1.0, 1.5)  # hours: the retention the update probe asks for


# --- the grader's inputs ---------------------------------------------------------------------------------------

def grader_inputs(readings: pd.DataFrame, sensors: pd.DataFrame, seed: int) -> dict[str, Any]:
    """name -> value of every input of the hidden test cells, drawn from a run's observed tables and `seed`.

    The grader calls it with the learner's secret seed and writes the result into the variant's folder; at home
    the practice seed is used. Signals and windows are drawn at random among the plant's, so they are not the
    brief's (or only by chance).
    """
    rng = np.random.default_rng([int(seed), 0x1AB1])
    plain = readings.assign(machine=readings["machine"].astype(str), sensor=readings["sensor"].astype(str))
    pairs = list(zip(sensors["machine"].astype(str), sensors["sensor"].astype(str), strict=True))
    metadata = sensors.assign(machine=sensors["machine"].astype(str), sensor=sensors["sensor"].astype(str))
    metadata = metadata.set_index(["machine", "sensor"])
    start = plain["timestamp"].min().floor("h")

    def pick(n: int) -> list[tuple[str, str]]:
        return [pairs[i] for i in rng.choice(len(pairs), size=n, replace=False)]

    def rows_of(chosen: list[tuple[str, str]], frame: pd.DataFrame) -> pd.Series:
        wanted = pd.Series(False, index=frame.index)
        for machine, sensor in chosen:
            wanted |= (frame["machine"] == machine) & (frame["sensor"] == sensor)
        return wanted

    def sources_of(chosen: list[tuple[str, str]]) -> pd.DataFrame:
        return metadata.loc[chosen].reset_index()[list(SOURCE_COLUMNS)].astype(
            {"low": float, "high": float, "period_s": float})

    def minute(offset_min: int) -> pd.Timestamp:
        return start + pd.Timedelta(minutes=int(offset_min))

    def deduplicated(frame: pd.DataFrame) -> pd.DataFrame:
        """One good-quality reading per sample, in sample order (a plausible clean table, not a reference)."""
        frame = frame[frame["quality"].astype(str) == "good"].drop_duplicates(KEY).sort_values(KEY)
        return frame.reset_index(drop=True)

    inputs: dict[str, Any] = {"locate_targets": [list(pair) for pair in pick(4)]}

    # select: three signals, a window whose bounds are the stamps of two readings ([start, end): one in, one out)
    chosen = pick(3)
    window_start = minute(rng.integers(0, 5 * 60)) + pd.Timedelta(seconds=float(rng.uniform(0, 59)))
    first = plain[rows_of(chosen[:1], plain) & (plain["timestamp"] >= window_start)]["timestamp"].min()
    window_end = first + pd.Timedelta(minutes=int(rng.integers(60, 120)))
    last = plain[rows_of(chosen[-1:], plain) & (plain["timestamp"] >= window_end)]["timestamp"].min()
    inputs["select_targets"] = [list(pair) for pair in chosen]
    inputs["select_period"] = [first.isoformat(), last.isoformat()]

    # clean: three whole signals as received, at least one of them repeating values (a stuck sensor's mark)
    unique = plain.drop_duplicates(KEY).sort_values(KEY)
    repeats = unique.groupby(["machine", "sensor"])["value"].diff().eq(0).groupby(
        [unique["machine"], unique["sensor"]]).any()
    chosen = pick(3)
    repeating = [pair for pair in pairs if repeats.get(pair, False) and pair not in chosen]
    if repeating and not any(repeats.get(pair, False) for pair in chosen):
        chosen[-1] = repeating[int(rng.integers(len(repeating)))]
    inputs["clean_selected"] = readings[rows_of(chosen, plain)].reset_index(drop=True)
    inputs["clean_sources"] = sources_of(chosen)

    # resample: clean-looking readings of three signals over a period of whole minutes, with empty minutes at
    # both ends and inside, and minutes of exactly 29 and 30 readings
    chosen = pick(3)
    length = int(rng.integers(*RESAMPLE_MINUTES))
    period_start = minute(rng.integers(0, int(HOURS * 60) - length))
    period = (period_start, period_start + pd.Timedelta(minutes=length))
    frame = deduplicated(plain[rows_of(chosen, plain) & plain["timestamp"].between(*period, inclusive="left")])
    frame = frame[list(CLEAN_COLUMNS)]
    floors = frame["timestamp"].dt.floor("min")
    middle = sorted(rng.choice(np.arange(2, length - 2), size=3, replace=False).tolist())
    emptied = [(chosen[0], 0), (chosen[1], length - 1), (chosen[2], middle[0])]
    for (machine, sensor), offset in emptied:
        frame = frame[~((frame["machine"] == machine) & (frame["sensor"] == sensor)
                        & (floors.loc[frame.index] == period[0] + pd.Timedelta(minutes=offset)))]
    for (machine, sensor), offset, keep in ((chosen[0], middle[1], 29), (chosen[1], middle[2], 30)):
        in_minute = ((frame["machine"] == machine) & (frame["sensor"] == sensor)
                     & (floors.loc[frame.index] == period[0] + pd.Timedelta(minutes=offset)))
        frame = frame.drop(frame.index[in_minute][keep:])
    inputs["resample_clean"] = frame.reset_index(drop=True)
    inputs["resample_targets"] = [list(pair) for pair in chosen]
    inputs["resample_period"] = [moment.isoformat() for moment in period]

    # transfer: per-minute means of two signals (values drawn in their ranges, some minutes without a value)
    chosen = pick(2)
    first_minute = minute(rng.integers(0, int(HOURS * 60) - TRANSFER_MINUTES))
    grid = [(machine, sensor, first_minute + pd.Timedelta(minutes=offset))
            for machine, sensor in chosen for offset in range(TRANSFER_MINUTES)]
    minutes = pd.DataFrame(grid, columns=["machine", "sensor", "minute"])
    limits = minutes.join(metadata[["low", "high"]], on=["machine", "sensor"])
    minutes["n_samples"] = rng.integers(20, 61, size=len(minutes))
    minutes.loc[rng.choice(len(minutes), size=4, replace=False), "n_samples"] = [0, 12, 29, 25]
    minutes["value_mean"] = limits["low"] + rng.uniform(0.05, 0.95, len(minutes)) * (limits["high"] - limits["low"])
    minutes["value_mean"] = minutes["value_mean"].where(minutes["n_samples"] >= 30)
    inputs["transfer_minutes"] = minutes[list(MINUTE_COLUMNS)]
    inputs["transfer_sources"] = sources_of(chosen)
    inputs["transfer_learner"] = f"grader-{int(rng.integers(16 ** 6)):06x}"

    # archive: clean-looking readings of three signals over three hours, loaded in two overlapping updates
    chosen = pick(3)
    archive_start = minute(rng.integers(0, int((HOURS - ARCHIVE_HOURS) * 60)))
    archive_end = archive_start + pd.Timedelta(hours=ARCHIVE_HOURS)
    frame = deduplicated(plain[rows_of(chosen, plain) & plain["timestamp"].between(archive_start, archive_end,
                                                                                     inclusive="left")])
    inputs["archive_readings"] = frame.drop(columns=["site", "area", "line"], errors="ignore")
    inputs["archive_sources"] = sources_of(chosen)
    inputs["archive_split"] = (archive_start + pd.Timedelta(minutes=int(rng.integers(45, 90)))).isoformat()
    inputs["archive_retention_hours"] = float(rng.choice(RETENTION_CHOICES))
    return inputs


@functools.lru_cache(maxsize=1)
def _practice_inputs(seed: int) -> dict[str, Any]:
    data = load_dataset(SCENARIO, seed=seed, hours=HOURS)
    return plaindata.roundtrip(grader_inputs(data.readings, data.sensors, seed))


def probe(name: str) -> Any:
    """The grader's input `name` for this notebook (this learner's graded variant when grading, else the
    practice one), as the learner's functions take it: pairs as tuples, periods as UTC Timestamps."""
    return as_given(name, graded_input(name, practice=lambda: _practice_inputs(learner_seed())[name]))


def as_given(name: str, value: Any) -> Any:
    """An input as the learner's functions take it (the grader's verdicts see it the same way)."""
    if name.endswith("_targets"):
        return [tuple(pair) for pair in value]
    if name.endswith("_period"):
        return tuple(pd.Timestamp(moment) for moment in value)
    if name.endswith("_split"):
        return pd.Timestamp(value)
    if isinstance(value, pd.DataFrame):
        return value.copy()
    return value


# --- probes: what a learner's function did, as plain data -----------------------------------------------------

def as_table(value: Any, columns) -> Any:
    """The columns `columns` of a function's result that it has (in its row order, categories as text), or a
    short description of what it returned if that is not a DataFrame (the grader's message names it)."""
    if not isinstance(value, pd.DataFrame):
        return {"not_a_dataframe": type(value).__name__}
    frame = value[[column for column in columns if column in value.columns]].reset_index(drop=True)
    for column in frame.columns:
        textual = isinstance(frame[column].dtype, pd.CategoricalDtype) or frame[column].dtype == object
        if textual and column not in ("timestamp", "minute"):
            frame[column] = frame[column].astype(str)
    return frame


def collect_published(broker_url: str, topic_filter: str, publish: Callable[[], Any], *,
                      timeout_s: float = 10.0, quiet_s: float = 0.5) -> dict[str, Any]:
    """Listen on `topic_filter` while `publish()` runs, until the broker has been quiet for `quiet_s` seconds;
    then subscribe anew to see what stayed retained. Returns what `publish()` returned (`result`), the messages
    received (`messages`: [topic, decoded JSON or text, QoS]) and the topics still retained (`retained`)."""
    from simulators.transport import MqttClient

    received: list = []
    stamp = time.monotonic_ns()
    with MqttClient(broker_url, client_id=f"grader-listen-{stamp}") as listener:
        listener.subscribe(topic_filter, lambda message: received.append(
            (message.topic, bytes(message.payload), message.qos, message.retain)))
        result = publish()
        deadline, seen = time.monotonic() + timeout_s, -1
        while len(received) != seen and time.monotonic() < deadline:
            seen = len(received)
            time.sleep(quiet_s)
    retained: list = []
    with MqttClient(broker_url, client_id=f"grader-retained-{stamp}") as reader:
        reader.subscribe(topic_filter, lambda message: retained.append(message.topic))
        time.sleep(quiet_s)
    messages = [[topic, _decoded(payload), qos] for topic, payload, qos, _retain in received]
    if isinstance(result, np.integer | np.floating):
        result = result.item()
    return {"result": result if isinstance(result, int | float | str | None) else repr(result)[:200],
            "messages": messages, "retained": sorted(set(retained))}


def _decoded(payload: bytes) -> Any:
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def fresh_database(folder: Path | str, name: str) -> Path:
    """A path in `folder` where no database exists yet."""
    path = Path(folder) / f"grader_{name}.sqlite"
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def archive_schema(db_path: Path | str) -> dict[str, Any]:
    """The schema of an SQLite file as plain data: per table, its SQL, columns (PRAGMA table_info), foreign keys
    (PRAGMA foreign_key_list) and indexes (PRAGMA index_list, with their columns)."""
    with _connect(db_path) as db:
        tables = {}
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall():
            quoted = '"' + name.replace('"', '""') + '"'
            columns = [dict(zip(("cid", "name", "type", "notnull", "default", "pk"), row, strict=True))
                       for row in db.execute(f"PRAGMA table_info({quoted})")]
            keys = [dict(zip(("id", "seq", "table", "from", "to", "on_update", "on_delete", "match"), row,
                             strict=True)) for row in db.execute(f"PRAGMA foreign_key_list({quoted})")]
            indexes = []
            for row in db.execute(f"PRAGMA index_list({quoted})").fetchall():
                index = dict(zip(("seq", "name", "unique", "origin", "partial"), row, strict=True))
                index_name = '"' + str(index["name"]).replace('"', '""') + '"'
                index["columns"] = [info[2] for info in db.execute(f"PRAGMA index_info({index_name})")]
                indexes.append(index)
            tables[name] = {"sql": sql, "columns": columns, "foreign_keys": keys, "indexes": indexes}
    return {"tables": tables}


def archive_contents(db_path: Path | str) -> dict[str, Any]:
    """The rows of the archive's tables (as DataFrames, each column's values of one type or all as text),
    the answer of `PRAGMA integrity_check` and the number of foreign-key violations."""
    with _connect(db_path) as db:
        contents: dict[str, Any] = {
            "integrity": [row[0] for row in db.execute("PRAGMA integrity_check")],
            "foreign_key_violations": len(db.execute("PRAGMA foreign_key_check").fetchall()),
        }
        present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in ARCHIVE_TABLES:
            contents[f"{table}_rows"] = _rows(db, table) if table in present else {"missing_table": table}
    return contents


def _rows(db: sqlite3.Connection, table: str) -> pd.DataFrame:
    cursor = db.execute(f"SELECT * FROM {table}")
    names = [description[0] for description in cursor.description]
    frame = pd.DataFrame(cursor.fetchall(), columns=names)
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and not all(value is None or isinstance(value, str) for value in values):
            frame[column] = frame[column].map(lambda value: None if value is None else str(value))
    return frame


def archive_schema_probe(archive: Callable, folder: Path | str) -> dict[str, Any]:
    """Load the grader's readings into a fresh database with `archive`; the schema it created."""
    db_path = fresh_database(folder, "schema")
    archive(db_path, probe("archive_readings"), probe("archive_sources"))
    return archive_schema(db_path)


def archive_content_probe(archive: Callable, folder: Path | str) -> dict[str, Any]:
    """Load the grader's readings into a fresh database in two overlapping updates, as the notebook does
    (the readings before the grader's split, then all of them); the archive's contents (what the updates
    returned is judged by `archive_update_probe`'s cell)."""
    db_path = fresh_database(folder, "content")
    readings, sources, split = probe("archive_readings"), probe("archive_sources"), probe("archive_split")
    archive(db_path, readings[readings["timestamp"] < split].copy(), sources.copy())
    archive(db_path, readings.copy(), sources.copy())
    return archive_contents(db_path)


def archive_update_probe(archive: Callable, folder: Path | str) -> dict[str, Any]:
    """Run `archive` on a fresh database: a first load, an overlapping one, the same again, then the same with
    the grader's `retention_hours`; what each returned, the rows after each, and the keys left at the end."""
    db_path = fresh_database(folder, "updates")
    readings, sources, split = probe("archive_readings"), probe("archive_sources"), probe("archive_split")
    steps = []
    for rows, options in ((readings[readings["timestamp"] < split], {}), (readings, {}), (readings, {}),
                          (readings, {"retention_hours": probe("archive_retention_hours")})):
        report = _report(archive(db_path, rows.copy(), sources.copy(), **options))
        with _connect(db_path) as db:
            count = db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        steps.append({"report": report, "rows": count})
    with _connect(db_path) as db:
        kept = pd.DataFrame(db.execute("SELECT machine, sensor, seq FROM readings").fetchall(), columns=KEY)
    kept = kept.astype({"machine": str, "sensor": str})
    kept["seq"] = pd.to_numeric(kept["seq"], errors="coerce")
    return {"steps": steps, "kept": kept}


def _report(report: Any) -> Any:
    if isinstance(report, dict) and all(isinstance(key, str) for key in report):
        return {key: (value if isinstance(value, int | float | str | bool | None) else repr(value)[:100])
                for key, value in report.items()}
    return {"not_a_dict": repr(report)[:200]}


def _connect(db_path: Path | str) -> contextlib.closing[sqlite3.Connection]:
    """A read-only connection that closes on exit (sqlite3's own context manager commits but does not close)."""
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no archive there; archive_readings must create it")
    return contextlib.closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True))
