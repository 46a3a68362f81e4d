"""lab1_prepare_data's kit: the inputs the hidden test cells feed the learner's functions, and the probes that
turn what those functions did into plain data for the grader.

Nothing here knows the brief's answers (which signals, which period) or the ground truth of a reading. The
hidden cells do not judge the learner's own pipeline, where one early mistake would spoil every later step:
each runs one of the learner's functions on inputs the grader chose for this learner's graded variant
(`probe(name)`, read from the variant's folder when grading) and records the result. The inputs are drawn by
`grader_inputs` from the observed tables of the plant and a seed: the grader's secret seed when grading (the
kernel only sees the result), the public practice seed otherwise. They cover other signals, other windows and
other resampling intervals than the brief's, so a function must follow its arguments, not the brief's constants.

The recordings are those of the plant's real sensor network (`plants/realistic.yaml`): each sensor samples at its
own period (5 s to 5 min) and reports values rounded to its resolution. Two exports of the same shift are used:
the gateway's recording of the MQTT messages (`SCENARIO`, with each sensor's sample counter `seq`) and the site
historian's export (`EXPORT_SCENARIO`: no `seq`, correlated noise, and its clock stepping back one hour once).
"""

import contextlib
import functools
import json
import math
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
from simulators.plantfile import load_plant
from simulators.sensors import sensor_metadata

PLANT = "realistic"  # the recorded plant: the line as its real sensor network reports it
SCENARIO = "normal"  # the gateway's recording of the MQTT messages (with `seq`)
EXPORT_SCENARIO = "historian"  # the site historian's export of the same shift (no `seq`, a clock step)
HOURS = 8.0
SIGNAL = ["machine", "sensor"]
KEY = ["machine", "sensor", "seq"]
SOURCE_COLUMNS = ("topic", "machine", "sensor", "kind", "unit", "low", "high", "period_s")
SELECT_COLUMNS = ("machine", "sensor", "seq", "timestamp", "value", "quality")
CLEAN_COLUMNS = ("machine", "sensor", "seq", "timestamp", "value")
EXPORT_COLUMNS = ("machine", "sensor", "timestamp", "value")
MEAN_COLUMNS = ("machine", "sensor", "bin_start", "value_mean", "n_samples")
ARCHIVE_COLUMNS = ("machine", "sensor", "timestamp", "value")
ARCHIVE_KEY = ["machine", "sensor", "ts_utc"]
ARCHIVE_TABLES = ("sensors", "readings")
BIN_CHOICES_S = (120.0, 300.0, 600.0, 900.0)  # the resampling intervals the grader may ask for
RESAMPLE_BINS = (10, 16)  # number of intervals in the resampling probe's period
MIN_COVERAGE = 0.5  # a bin has a mean when at least this share of the sensor's expected samples arrived
TRANSFER_BINS = 24
RETENTION_CHOICES = (2.0, 3.0, 4.0)  # hours: the retention the update probe asks for
FAST_PERIOD_S = 10.0  # a signal sampled this often or faster shows many samples per bin


# --- the grader's inputs ---------------------------------------------------------------------------------------

def grader_inputs(gateway: pd.DataFrame, export: pd.DataFrame, sensors: pd.DataFrame, seed: int) -> dict[str, Any]:
    """name -> value of every input of the hidden test cells, drawn from a shift's observed tables and `seed`:
    `gateway` the recorded MQTT readings (with `seq`), `export` the historian's export of the same shift (without),
    `sensors` their datasheets.

    The grader calls it with the learner's secret seed and writes the result into the variant's folder; at home
    the practice seed is used. Signals, windows and intervals are drawn at random among the plant's, so they are
    not the brief's (or only by chance).
    """
    rng = np.random.default_rng([int(seed), 0x1AB1])
    plain = _plain(gateway)
    plain_export = _plain(export)
    metadata = _plain(sensors).set_index(SIGNAL)
    pairs = list(metadata.index)
    periods = metadata["period_s"].astype(float)
    start = plain["timestamp"].min().floor("h")

    def pick(n: int, among: list | None = None) -> list[tuple[str, str]]:
        among = pairs if among is None else among
        return [among[i] for i in rng.choice(len(among), size=n, replace=False)]

    def sources_of(chosen: list[tuple[str, str]]) -> pd.DataFrame:
        return metadata.loc[chosen].reset_index()[list(SOURCE_COLUMNS)].astype(
            {"low": float, "high": float, "period_s": float})

    # locate: signals the live plant describes on its `_meta` topics (the demo line may lack a recorded sensor)
    live = {(meta["machine"], meta["sensor"]) for meta in sensor_metadata(load_plant())}
    inputs: dict[str, Any] = {"locate_targets": [list(pair) for pair in pick(4, [p for p in pairs if p in live])]}

    # select: three signals, a window whose bounds are the stamps of two readings ([start, end): one in, one out)
    chosen = pick(3)
    window_start = start + pd.Timedelta(minutes=int(rng.integers(0, 5 * 60)), seconds=float(rng.uniform(0, 59)))
    first = plain[_of(plain, chosen[:1]) & (plain["timestamp"] >= window_start)]["timestamp"].min()
    window_end = first + pd.Timedelta(minutes=int(rng.integers(60, 120)))
    last = plain[_of(plain, chosen[-1:]) & (plain["timestamp"] >= window_end)]["timestamp"].min()
    inputs["select_targets"] = [list(pair) for pair in chosen]
    inputs["select_period"] = [first.isoformat(), last.isoformat()]

    # clean (gateway): three whole signals as received: the signal whose longest frozen run stands out most from
    # its own repeats (a stuck sensor's mark), the one whose loneliest reading stands out most from its own jumps
    # (a spike's), and one drawn at random; both marks are read in the observed data alone
    fast = [pair for pair in pairs if periods[pair] <= FAST_PERIOD_S]
    chosen = _suspects(plain, pairs)
    chosen.append(pick(1, [pair for pair in pairs if pair not in chosen])[0])
    inputs["clean_selected"] = gateway[_of(plain, chosen)].reset_index(drop=True)
    inputs["clean_sources"] = sources_of(chosen)

    # clean (historian export): the same marks, the spike's among the signals sampled fast (the clock step's
    # repeated hour then holds many time stamps of other samples), and one slower signal drawn at random
    chosen = _suspects(_plain(export.assign(seq=export.groupby(SIGNAL, observed=True).cumcount())), pairs, fast)
    chosen.append(pick(1, [pair for pair in pairs if pair not in chosen and pair not in fast])[0])
    inputs["export_selected"] = export[_of(plain_export, chosen)].reset_index(drop=True)
    inputs["export_sources"] = sources_of(chosen)

    # resample: clean-looking readings of a fast, a medium and a slow signal, on intervals of the grader's
    # length, with empty intervals at both ends and inside, and intervals of exactly the required count and one
    # less for the fast signal
    bin_s = float(rng.choice(BIN_CHOICES_S))
    slow = [pair for pair in pairs if periods[pair] >= 300.0]
    medium = [pair for pair in pairs if FAST_PERIOD_S < periods[pair] < 300.0]
    chosen = [*pick(1, fast), *pick(1, medium), *pick(1, slow)]
    n_bins = int(rng.integers(*RESAMPLE_BINS))
    first_bin = int(rng.integers(0, int(HOURS * 3600 / bin_s) - n_bins))
    period = tuple(start + pd.Timedelta(seconds=index * bin_s) for index in (first_bin, first_bin + n_bins))
    frame = _deduplicated(plain[_of(plain, chosen) & plain["timestamp"].between(*period, inclusive="left")])
    frame = frame[list(CLEAN_COLUMNS)]
    bins = ((frame["timestamp"] - period[0]) // pd.Timedelta(seconds=bin_s)).astype(int)
    middle = sorted(rng.choice(np.arange(2, n_bins - 2), size=3, replace=False).tolist())
    for pair, index in ((chosen[0], 0), (chosen[1], n_bins - 1), (chosen[2], middle[0])):
        frame = frame[~(_of(frame, [pair]) & (bins.loc[frame.index] == index))]
    required = math.ceil(MIN_COVERAGE * bin_s / periods[chosen[0]])
    for index, keep in ((middle[1], required - 1), (middle[2], required)):
        in_bin = _of(frame, chosen[:1]) & (bins.loc[frame.index] == index)
        frame = frame.drop(frame.index[in_bin][keep:])
    inputs["resample_clean"] = frame.reset_index(drop=True)
    inputs["resample_sources"] = sources_of(chosen)
    inputs["resample_period"] = [moment.isoformat() for moment in period]
    inputs["resample_bin_s"] = bin_s

    # transfer: means of two signals per interval (values drawn in their ranges, some intervals without a value)
    chosen = pick(2)
    transfer_bin_s = float(rng.choice(BIN_CHOICES_S))
    first_start = start + pd.Timedelta(seconds=transfer_bin_s * int(rng.integers(0, 8)))
    grid = [(machine, sensor, first_start + pd.Timedelta(seconds=transfer_bin_s * offset))
            for machine, sensor in chosen for offset in range(TRANSFER_BINS)]
    means = pd.DataFrame(grid, columns=["machine", "sensor", "bin_start"])
    limits = means.join(metadata[["low", "high"]], on=SIGNAL)
    means["n_samples"] = rng.integers(5, 40, size=len(means))
    means["value_mean"] = limits["low"] + rng.uniform(0.05, 0.95, len(means)) * (limits["high"] - limits["low"])
    means.loc[rng.choice(len(means), size=4, replace=False), "value_mean"] = np.nan
    inputs["transfer_means"] = means[list(MEAN_COLUMNS)]
    inputs["transfer_sources"] = sources_of(chosen)
    inputs["transfer_learner"] = f"grader-{int(rng.integers(16 ** 6)):06x}"

    # archive: clean-looking readings of three signals over the whole shift, loaded in overlapping updates
    chosen = [*pick(1, fast), *pick(2, [pair for pair in pairs if pair not in fast])]
    frame = _deduplicated(plain[_of(plain, chosen)])
    inputs["archive_readings"] = frame[list(ARCHIVE_COLUMNS)].reset_index(drop=True)
    inputs["archive_sources"] = sources_of(chosen)
    inputs["archive_split"] = (start + pd.Timedelta(minutes=int(rng.integers(5 * 60, 6 * 60)))).isoformat()
    inputs["archive_retention_hours"] = float(rng.choice(RETENTION_CHOICES))
    return inputs


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(machine=frame["machine"].astype(str), sensor=frame["sensor"].astype(str))


def _of(frame: pd.DataFrame, pairs) -> pd.Series:
    wanted = pd.Series(False, index=frame.index)
    for machine, sensor in pairs:
        wanted |= (frame["machine"] == machine) & (frame["sensor"] == sensor)
    return wanted


def _deduplicated(frame: pd.DataFrame) -> pd.DataFrame:
    """One good-quality reading per sample, in sample order (a plausible clean table, not a reference)."""
    frame = frame[frame["quality"].astype(str) == "good"].drop_duplicates(KEY).sort_values(KEY)
    return frame.reset_index(drop=True)


def _suspects(readings: pd.DataFrame, pairs: list, spiky_among: list | None = None) -> list[tuple[str, str]]:
    """Two signals worth cleaning, read in the observed readings (one per sample, good quality, in `seq` order):
    the one whose longest run of one repeated value most exceeds its second longest (a frozen stretch), and
    another, among `spiky_among` if given, whose loneliest reading leaves both neighbours by the most, in units of
    the 99th percentile of the signal's jumps (an outlier)."""
    frozen, lonely = {}, {}
    for pair, rows in _deduplicated(readings).groupby(SIGNAL, sort=False):
        values = rows["value"].to_numpy()
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        runs = np.sort(np.diff(np.r_[starts, len(values)]))
        frozen[pair] = float(runs[-1] / runs[-2]) if len(runs) > 1 else 0.0
        jumps = np.abs(np.diff(values))
        usual = float(np.quantile(jumps, 0.99)) if len(jumps) else 0.0
        apart = np.fmin(jumps[:-1], jumps[1:])
        lonely[pair] = float(apart.max() / usual) if len(apart) and usual > 0 else 0.0
    stuck = max(pairs, key=lambda pair: frozen.get(pair, 0.0))
    spiky = max([pair for pair in (spiky_among or pairs) if pair != stuck], key=lambda pair: lonely.get(pair, 0.0))
    return [stuck, spiky]


@functools.lru_cache(maxsize=1)
def _practice_inputs(seed: int) -> dict[str, Any]:
    gateway = load_dataset(SCENARIO, seed=seed, hours=HOURS, plant=PLANT)
    export = load_dataset(EXPORT_SCENARIO, seed=seed, hours=HOURS, plant=PLANT)
    return plaindata.roundtrip(grader_inputs(gateway.readings, export.readings, gateway.sensors, seed))


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
        if textual and column not in ("timestamp", "bin_start"):
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
    (the readings before the grader's split, then all of them), with the default retention; the archive's
    contents (what the updates returned is judged by `archive_update_probe`'s cell)."""
    db_path = fresh_database(folder, "content")
    readings, sources, split = probe("archive_readings"), probe("archive_sources"), probe("archive_split")
    archive(db_path, readings[readings["timestamp"] < split].copy(), sources.copy())
    archive(db_path, readings.copy(), sources.copy())
    return archive_contents(db_path)


def archive_update_probe(archive: Callable, folder: Path | str) -> dict[str, Any]:
    """Run `archive` on a fresh database with the grader's `retention_hours`, shorter than the shift: a first
    load (the readings before the split), an overlapping one (all of them), the same again, then the first
    load's readings again; what each returned, the rows after each, and the keys left at the end."""
    db_path = fresh_database(folder, "updates")
    readings, sources, split = probe("archive_readings"), probe("archive_sources"), probe("archive_split")
    options = {"retention_hours": probe("archive_retention_hours")}
    earlier = readings[readings["timestamp"] < split]
    steps = []
    for rows in (earlier, readings, readings, earlier):
        report = _report(archive(db_path, rows.copy(), sources.copy(), **options))
        with _connect(db_path) as db:
            count = db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        steps.append({"report": report, "rows": count})
    with _connect(db_path) as db:
        kept = pd.DataFrame(db.execute("SELECT machine, sensor, ts_utc FROM readings").fetchall(),
                            columns=ARCHIVE_KEY)
    return {"steps": steps, "kept": kept.astype({"machine": str, "sensor": str, "ts_utc": str})}


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
