"""Checks of lab1_prepare_data: the learner's selection, cleaning, per-minute series, transfer and archive,
compared with the ground truth of the learner's own plant variant.

The brief of the lab (its "cahier des charges") fixes what is right, and this module holds the brief's
answers: the signals and period a maintenance objective needs (`TARGETS`, `PERIOD`), the rules the brief
gives for cleaning (`RANGE_MARGIN_FRACTION`, `MIN_SAMPLES_PER_MINUTE`) and the archive's schema. The truth
of the readings comes from `simulators.learner.load_truth` for the learner's seed: every sample's defect
label says whether a correct filter keeps it (`KEEP_DEFECTS`) or removes it (`REMOVE_DEFECTS`).

Every check raises AssertionError with a message a learner can act on (what is wrong, a few examples, what
to look at), and returns None when the work is right. Filters are graded on rates, not on exact sets: a
filter that misses one spike in twenty is a good filter.
"""

import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from simulators.learner import load_dataset, load_truth
from simulators.plantfile import load_plant
from simulators.sensors import sensor_metadata

LAB_ID = "lab1_prepare_data"
SCENARIO = "normal"
HOURS = 8.0
# The brief: the CNC spindle (temperature and power) and the saw blade (vibration), 06:00 to the 10:00 break.
TARGETS = (("cnc", "spindle_temperature"), ("cnc", "spindle_power"), ("saw", "vibration"))
PERIOD = (pd.Timestamp("2026-01-05T06:00:00Z"), pd.Timestamp("2026-01-05T10:00:00Z"))
RANGE_MARGIN_FRACTION = 0.02  # datasheet accuracy: ±2 % of the span beyond [low, high] is still a reading
MIN_SAMPLES_PER_MINUTE = 30  # fewer samples in a minute: no mean for that minute (a gap, not a value)
RETENTION_HOURS = 72.0  # the line PC keeps three days, measured back from the newest reading archived

KEEP_DEFECTS = ("ok", "drift", "late", "duplicate", "clock_jitter")
REMOVE_DEFECTS = ("spike", "out_of_range", "stuck")
MIN_REMOVED = 0.9  # share of each removable defect a filter must remove
MIN_KEPT = 0.98  # share of good samples a filter must keep
MEAN_TOLERANCE_FRACTION = 0.005  # a per-minute mean may differ from the truth's by 0.5 % of the span
MIN_MINUTES_MATCHING = 0.98

SOURCE_COLUMNS = ("topic", "machine", "sensor", "kind", "unit", "low", "high", "period_s")
CLEAN_COLUMNS = ("machine", "sensor", "seq", "timestamp", "value")
MINUTE_COLUMNS = ("machine", "sensor", "minute", "value_mean", "n_samples")
KEY = ["machine", "sensor", "seq"]
ARCHIVE_COLUMNS = {
    "sensors": (("machine", "TEXT"), ("sensor", "TEXT"), ("topic", "TEXT"), ("kind", "TEXT"), ("unit", "TEXT"),
                ("low", "REAL"), ("high", "REAL"), ("period_s", "REAL")),
    "readings": (("machine", "TEXT"), ("sensor", "TEXT"), ("seq", "INTEGER"), ("ts_utc", "TEXT"),
                 ("value", "REAL")),
}
ARCHIVE_KEYS = {"sensors": ("machine", "sensor"), "readings": ("machine", "sensor", "seq")}
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def sandbox_topic(learner: str, machine: str, sensor: str) -> str:
    """Where the brief asks for the per-minute series of one signal: the learner's own sandbox subtree."""
    return f"sandbox/{learner}/maintenance/{machine}/{sensor}"


def iso_utc(timestamps: pd.Series) -> pd.Series:
    """UTC timestamps as the archive stores them: ISO 8601 with milliseconds and a Z (sortable as text)."""
    return timestamps.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


# --- the truth of one seed ---


@lru_cache(maxsize=4)
def _labelled(seed: int) -> pd.DataFrame:
    """The target readings of the period as received (duplicates included), each with its truth label."""
    readings = load_dataset(SCENARIO, seed=seed, hours=HOURS).readings
    selected = _plain(readings[_is_target(readings) & _in_period(readings["timestamp"])]).reset_index(drop=True)
    truth = load_truth(SCENARIO, seed=seed, hours=HOURS)["readings_truth"]
    labels = _plain(truth.loc[_is_target(truth), [*KEY, "defect"]])
    labelled = selected.merge(labels, on=KEY, how="left", validate="many_to_one")
    labelled["first_copy"] = ~labelled.duplicated(KEY)
    return labelled


def expected_selection(seed: int) -> pd.DataFrame:
    """The rows a correct selection keeps: every message of the target sensors stamped in the period."""
    return _labelled(seed).drop(columns=["defect", "first_copy"])


def reference_clean(seed: int) -> pd.DataFrame:
    """The readings a perfect filter keeps, one per sample, in sample order (as received otherwise)."""
    labelled = _labelled(seed)
    keep = labelled[labelled["first_copy"] & labelled["defect"].isin(KEEP_DEFECTS)]
    return keep.drop(columns=["defect", "first_copy"]).sort_values(KEY).reset_index(drop=True)


@lru_cache(maxsize=4)
def reference_minutes(seed: int) -> pd.DataFrame:
    """The per-minute means of the perfectly filtered readings, one row per target and minute of the period."""
    clean = reference_clean(seed)
    minutes = clean.assign(minute=clean["timestamp"].dt.floor("min"))
    stats = minutes.groupby(["machine", "sensor", "minute"])["value"].agg(["mean", "size"])
    grid = pd.MultiIndex.from_tuples(
        [(machine, sensor, minute) for machine, sensor in TARGETS
         for minute in pd.date_range(PERIOD[0], PERIOD[1], freq="min", inclusive="left")],
        names=["machine", "sensor", "minute"])
    stats = stats.reindex(grid)
    n_samples = stats["size"].fillna(0).astype(int)
    value_mean = stats["mean"].where(n_samples >= MIN_SAMPLES_PER_MINUTE)
    return pd.DataFrame({"value_mean": value_mean, "n_samples": n_samples}).reset_index()


def reference_sources() -> pd.DataFrame:
    """The retained metadata of the target sensors: topic, kind, unit, valid range and period."""
    return _reference_sources().copy()


@lru_cache(maxsize=1)
def _reference_sources() -> pd.DataFrame:
    metadata = pd.DataFrame(sensor_metadata(load_plant()))
    rows = [metadata[(metadata["machine"] == m) & (metadata["sensor"] == s)] for m, s in TARGETS]
    return pd.concat(rows)[list(SOURCE_COLUMNS)].reset_index(drop=True)


def _spans() -> dict[tuple[str, str], float]:
    sources = _reference_sources()
    return {(m, s): h - lo for m, s, lo, h in zip(sources.machine, sources.sensor, sources.low, sources.high,
                                                  strict=True)}


# --- identify and locate ---


def check_targets(targets: Iterable, period: tuple) -> None:
    """The signals and period the brief asks for: (machine, sensor) pairs, and [start, end) in UTC."""
    try:
        chosen = {(str(machine), str(sensor)) for machine, sensor in targets}
    except (TypeError, ValueError) as error:
        raise AssertionError(f"TARGETS must be a list of (machine, sensor) pairs, e.g. ('cnc', 'vibration'): "
                             f"{error}") from error
    missing, extra = set(TARGETS) - chosen, chosen - set(TARGETS)
    assert not extra, (f"TARGETS holds signals the brief's objectives do not need: {sorted(extra)}; "
                       "reread the objectives: which machine and which measure does each one name?")
    assert not missing, (f"TARGETS misses {len(missing)} signal(s) the brief's objectives need; reread each "
                         "objective and list every measure it names, machine by machine")
    try:
        start, end = (pd.Timestamp(moment) for moment in period)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"PERIOD must be (start, end), two timestamps: {error}") from error
    assert start.tzinfo is not None and end.tzinfo is not None, (
        "PERIOD: give timezone-aware timestamps (the plant's clock is UTC), e.g. pd.Timestamp('…T06:00Z')")
    assert (start, end) == PERIOD, (f"PERIOD is {start} to {end}: the brief asks for another window; "
                                    "reread which shift and which part of it the study covers")


def check_metadata(metadata: list) -> None:
    """The retained `_meta` messages of every sensor of the plant, as dicts (the live topic tree's sources)."""
    expected = {meta["topic"] for meta in sensor_metadata(load_plant())}
    try:
        seen = {meta["topic"] for meta in metadata}
    except (TypeError, KeyError) as error:
        raise AssertionError("metadata must be the list of decoded `_meta` payloads (dicts with a 'topic' key): "
                             f"{error!r}") from error
    assert seen >= expected, (f"metadata lacks {len(expected - seen)} of the plant's {len(expected)} sensors, "
                              f"e.g. {sorted(expected - seen)[:2]}: subscribe to every machine's `_meta` topics "
                              "with wildcards and wait until the retained messages have arrived")


def check_sources(sources: pd.DataFrame) -> None:
    """One row per target signal, with its topic, kind, unit, range and period as the plant's metadata says."""
    _require_columns(sources, SOURCE_COLUMNS, "sources")
    chosen = _plain(sources)
    pairs = list(zip(chosen["machine"], chosen["sensor"], strict=True))
    assert sorted(pairs) == sorted(TARGETS), (
        f"sources has rows for {sorted(pairs)}: give exactly one row per signal of TARGETS")
    expected = reference_sources().set_index(["machine", "sensor"])
    for row in chosen.itertuples(index=False):
        truth = expected.loc[(row.machine, row.sensor)]
        for field in ("topic", "kind", "unit"):
            assert getattr(row, field) == truth[field], (
                f"sources {row.machine}/{row.sensor}: {field} is {getattr(row, field)!r}, but its `_meta` topic "
                f"says {truth[field]!r}: copy it from the retained metadata, do not guess it")
        for field in ("low", "high", "period_s"):
            assert np.isclose(float(getattr(row, field)), truth[field]), (
                f"sources {row.machine}/{row.sensor}: {field} is {getattr(row, field)!r}, but its `_meta` topic "
                f"says {truth[field]!r} (the supplier's datasheet values)")


# --- filter ---


def check_selection(selected: pd.DataFrame, seed: int) -> None:
    """Every received message of the target signals in the period, and nothing else (cleaning comes later)."""
    _require_columns(selected, CLEAN_COLUMNS, "selected")
    chosen = _plain(selected)
    _check_targets_and_period(chosen, "selected")
    expected = expected_selection(seed)
    assert len(chosen) == len(expected), (
        f"selected has {len(chosen)} rows, the target signals sent {len(expected)} messages in the period: "
        "select only (keep duplicates, late and bad messages: the next step cleans them)")
    counts = chosen.groupby(KEY).size().sort_index()
    expected_counts = expected.groupby(KEY).size().sort_index()
    assert counts.equals(expected_counts), (
        "selected has the right number of rows but not the same messages as the dataset: "
        "filter the rows of `readings` without changing them")


def check_clean(clean: pd.DataFrame, seed: int, *, name: str = "clean", ordered: bool = True) -> None:
    """The target readings of the period with defects removed, good samples kept, one row per sample in order."""
    _require_columns(clean, CLEAN_COLUMNS, name)
    chosen = _plain(clean)
    _check_targets_and_period(chosen, name)
    repeated = chosen[chosen.duplicated(KEY, keep=False)]
    assert repeated.empty, (
        f"{name} has {len(repeated)} rows sharing a (machine, sensor, seq) key, e.g. "
        f"{_examples(repeated)}: a repeated seq is a duplicated message, keep one copy")
    if ordered:
        backwards = chosen.groupby(["machine", "sensor"], sort=False)["seq"].diff() <= 0
        assert not backwards.any(), (
            f"{name} is not in sample order: {int(backwards.sum())} readings come after a later sample, e.g. "
            f"{_examples(chosen[backwards])}: late messages arrive out of order, sort each sensor's samples")
    spans = _spans()
    sources = reference_sources().set_index(["machine", "sensor"])
    for (machine, sensor), rows in chosen.groupby(["machine", "sensor"], sort=False):
        low, high = sources.loc[(machine, sensor), ["low", "high"]]
        margin = RANGE_MARGIN_FRACTION * spans[(machine, sensor)]
        outside = rows[(rows["value"] < low - margin) | (rows["value"] > high + margin)]
        assert outside.empty, (
            f"{name} keeps {len(outside)} {machine}/{sensor} values outside its valid range [{low:g}, {high:g}] "
            f"(± the datasheet margin {margin:g}), e.g. {_examples(outside, 'value')}")

    labelled = _labelled(seed)
    firsts = labelled[labelled["first_copy"]]
    merged = firsts.merge(chosen[[*KEY, "value"]], on=KEY, how="left", suffixes=("", "_kept"), indicator=True)
    kept = merged["_merge"] == "both"
    changed = merged[kept & ~np.isclose(merged["value"], merged["value_kept"], rtol=0, atol=1e-9)]
    assert changed.empty, (
        f"{name} changes {len(changed)} reported values, e.g. {_examples(changed, 'value')}: a filter keeps or "
        "removes readings, it does not alter them (smoothing comes with the per-minute means)")
    for defect, what, hint in (
        ("spike", "spikes", "compare each value with the median of its neighbours"),
        ("out_of_range", "out-of-range values", "check the quality flag and the valid range"),
        ("stuck", "stuck-sensor values", "a live sensor never repeats a value exactly: look for repeats"),
    ):
        hit = merged["defect"] == defect
        if hit.any():
            removed = 1 - kept[hit].mean()
            assert removed >= MIN_REMOVED, (
                f"{name} keeps {int(kept[hit].sum())} of the {int(hit.sum())} {what} in the data (removes "
                f"{removed:.0%}, at least {MIN_REMOVED:.0%} expected), e.g. {_examples(merged[hit & kept])}: {hint}")
    late = merged["defect"] == "late"
    if late.any():
        assert kept[late].mean() >= MIN_KEPT, (
            f"{name} drops {int((~kept[late]).sum())} of the {int(late.sum())} late messages, e.g. "
            f"{_examples(merged[late & ~kept])}: a late message carries a good value, put it back in order "
            "instead of dropping it")
    good = merged["defect"].isin(KEEP_DEFECTS)
    assert kept[good].mean() >= MIN_KEPT, (
        f"{name} drops {int((~kept[good]).sum())} of the {int(good.sum())} good readings "
        f"({1 - kept[good].mean():.1%}, at most {1 - MIN_KEPT:.0%} allowed), e.g. {_examples(merged[good & ~kept])}: "
        "the filter is too strict; check its thresholds against the signals' normal behaviour")


def check_minutes(minutes: pd.DataFrame, seed: int, *, name: str = "minutes") -> None:
    """One row per target signal and minute of the period: the mean of the clean readings, NaN for a gap."""
    _require_columns(minutes, MINUTE_COLUMNS, name)
    chosen = _plain(minutes)
    chosen["minute"] = pd.to_datetime(chosen["minute"], utc=True)
    expected = reference_minutes(seed)
    assert len(chosen) == len(expected), (
        f"{name} has {len(chosen)} rows: expected one per target signal and minute of the period, "
        f"{len(TARGETS)} × {len(expected) // len(TARGETS)} = {len(expected)} (minutes without data included)")
    merged = expected.merge(chosen, on=["machine", "sensor", "minute"], how="left", suffixes=("", "_learner"),
                            indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, (f"{name} lacks {len(missing)} (machine, sensor, minute) rows, e.g. "
                           f"{_examples(missing, 'minute')}: minutes start on the minute, in UTC")
    _check_means(merged, name)


def check_transfer(messages: list, learner: str, seed: int) -> None:
    """The per-minute means published under the learner's sandbox: every target, only targets, no gaps sent."""
    expected_topics = {sandbox_topic(learner, m, s): (m, s) for m, s in TARGETS}
    topics = {topic for topic, _payload in messages}
    extra = topics - set(expected_topics)
    assert not extra, (f"{len(extra)} topic(s) published that the brief does not ask for, e.g. {sorted(extra)[:2]}: "
                       f"send each target signal to {sandbox_topic(learner, '<machine>', '<sensor>')}")
    assert topics == set(expected_topics), (
        f"nothing arrived on {sorted(set(expected_topics) - topics)}: publish every target signal")
    units = reference_sources().set_index(["machine", "sensor"])["unit"]
    rows = []
    for topic, payload in messages:
        machine, sensor = expected_topics[topic]
        assert isinstance(payload, dict) and {"timestamp", "value", "unit"} <= set(payload), (
            f"{topic}: payload {payload!r} must be a JSON object with timestamp, value and unit")
        assert payload["value"] is not None, (
            f"{topic}: a message at {payload['timestamp']} has no value: send only the minutes that have a mean")
        assert payload["unit"] == units[(machine, sensor)], (
            f"{topic}: unit {payload['unit']!r}, the sensor's metadata says {units[(machine, sensor)]!r}")
        rows.append((machine, sensor, payload["timestamp"], payload["value"]))
    received = pd.DataFrame(rows, columns=["machine", "sensor", "timestamp", "value_mean"])
    try:
        received["minute"] = pd.to_datetime(received["timestamp"], utc=True, format="ISO8601")
    except ValueError as error:
        raise AssertionError(f"a payload's timestamp is not ISO 8601: {error}") from error
    repeated = received[received.duplicated(["machine", "sensor", "minute"], keep=False)]
    assert repeated.empty, f"{len(repeated)} minutes were sent more than once, e.g. {_examples(repeated, 'minute')}"
    expected = reference_minutes(seed)
    merged = expected.merge(received, on=["machine", "sensor", "minute"], how="outer", suffixes=("", "_learner"),
                            indicator=True)
    unexpected = merged[merged["_merge"] == "right_only"]
    assert unexpected.empty, (f"{len(unexpected)} messages are stamped outside the period's minutes, e.g. "
                              f"{_examples(unexpected, 'minute')}")
    _check_means(merged, "the published series")


def _check_means(merged: pd.DataFrame, name: str) -> None:
    """Compare a learner's per-minute means (`value_mean_learner`) with the truth's, gaps included."""
    span_of = _spans()
    spans = pd.Series([span_of[pair] for pair in zip(merged["machine"], merged["sensor"], strict=True)],
                      index=merged.index)
    expected_gap = merged["value_mean"].isna()
    learner_gap = merged["value_mean_learner"].isna()
    borderline = (merged["n_samples"] - MIN_SAMPLES_PER_MINUTE).abs() <= 3
    filled = merged[expected_gap & ~learner_gap & ~borderline]
    assert filled.empty, (
        f"{name} has a value for {len(filled)} minutes with fewer than {MIN_SAMPLES_PER_MINUTE} readings, e.g. "
        f"{_examples(filled, 'minute')}: a gap stays a gap (NaN), do not interpolate or carry values forward")
    dropped = merged[~expected_gap & learner_gap & ~borderline]
    assert dropped.empty, (
        f"{name} has no value for {len(dropped)} minutes that hold enough clean readings, e.g. "
        f"{_examples(dropped, 'minute')}: check the readings kept and the minute boundaries")
    both = ~expected_gap & ~learner_gap
    close = (merged["value_mean"] - merged["value_mean_learner"]).abs() <= MEAN_TOLERANCE_FRACTION * spans
    share = close[both].mean() if both.any() else 0.0
    assert share >= MIN_MINUTES_MATCHING, (
        f"{name}: only {share:.1%} of the minute means match the truth within {MEAN_TOLERANCE_FRACTION:.1%} of "
        f"the sensor span, e.g. {_examples(merged[both & ~close], 'value_mean_learner')}: average the clean "
        "readings of each minute [hh:mm:00, hh:mm+1:00)")


# --- archive ---


def check_archive_schema(db_path: Path | str) -> None:
    """The archive's tables, columns, keys and index are those the brief's archiving instructions give."""
    with _open_read_only(db_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, columns in ARCHIVE_COLUMNS.items():
            assert table in tables, f"{db_path}: no table {table!r} (tables: {sorted(tables)})"
            info = db.execute(f"PRAGMA table_info({table})").fetchall()
            found = {row[1]: (row[2].upper(), bool(row[3]), row[5]) for row in info}
            for column, sql_type in columns:
                assert column in found, f"{db_path}: table {table} has no column {column!r}"
                declared, not_null, _position = found[column]
                assert declared == sql_type, f"{db_path}: {table}.{column} is {declared or 'untyped'}, not {sql_type}"
                assert not_null, f"{db_path}: {table}.{column} must be NOT NULL (no reading without it)"
            key = tuple(column for column, (_, _, position) in sorted(found.items(), key=lambda item: item[1][2])
                        if position)
            assert key == ARCHIVE_KEYS[table], (f"{db_path}: the primary key of {table} is {key or 'missing'}, "
                                                f"the brief asks for {ARCHIVE_KEYS[table]}")
        references = {(row[2], row[3], row[4]) for row in db.execute("PRAGMA foreign_key_list(readings)")}
        assert {("sensors", "machine", "machine"), ("sensors", "sensor", "sensor")} <= references, (
            f"{db_path}: readings (machine, sensor) must be a FOREIGN KEY referencing sensors (machine, sensor)")
        indexed = [db.execute(f"PRAGMA index_info({row[1]!r})").fetchall()
                   for row in db.execute("PRAGMA index_list(readings)")]
        assert any(columns and columns[0][2] == "ts_utc" for columns in indexed), (
            f"{db_path}: no index on readings(ts_utc): queries by time window would scan the whole table")


def check_archive_content(db_path: Path | str, seed: int) -> None:
    """The archive holds the target sensors' metadata and exactly the clean readings, timestamps in ISO UTC."""
    with _open_read_only(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"{db_path}: integrity_check fails"
        orphans = db.execute("PRAGMA foreign_key_check(readings)").fetchall()
        assert not orphans, f"{db_path}: {len(orphans)} readings have no row in sensors: archive the sensors first"
        sensors = pd.read_sql_query("SELECT * FROM sensors", db)
        readings = pd.read_sql_query("SELECT machine, sensor, seq, ts_utc, value FROM readings", db)
    check_sources(sensors)
    bad = readings[~readings["ts_utc"].str.match(ISO_UTC_MS)]
    assert bad.empty, (f"{db_path}: {len(bad)} ts_utc values are not ISO 8601 UTC with milliseconds, e.g. "
                       f"{bad['ts_utc'].head(2).tolist()}: write them like 2026-01-05T06:00:00.000Z")
    readings["timestamp"] = pd.to_datetime(readings["ts_utc"], utc=True, format="ISO8601")
    check_clean(readings, seed, name=f"{db_path} readings", ordered=False)
    reported = reference_clean(seed)[[*KEY, "timestamp"]]
    merged = readings.merge(reported, on=KEY, suffixes=("", "_reported"))
    moved = merged[merged["timestamp"] != merged["timestamp_reported"]]
    assert moved.empty, (f"{db_path}: {len(moved)} readings are archived with another time than the sensor "
                         f"reported, e.g. {_examples(moved, 'ts_utc')}: store the reported timestamp")


def check_archive_updates(archive: Callable, workdir: Path | str, seed: int) -> None:
    """`archive(db_path, readings, sources, retention_hours=...)` loads incrementally without duplicates,
    applies the retention from the newest reading, and reports what it did.

    Runs the learner's function on a fresh database in `workdir` with the perfectly filtered readings:
    a first load, an overlapping second load, the same load again, then a short retention.
    """
    db_path = Path(workdir) / "archive_update_check.sqlite"
    db_path.unlink(missing_ok=True)
    clean, sources = reference_clean(seed), reference_sources()
    first = clean[clean["timestamp"] < PERIOD[0] + pd.Timedelta(hours=2)]

    def load(rows: pd.DataFrame, what: str, **options) -> dict:
        report = archive(db_path, rows.copy(), sources.copy(), **options)
        assert isinstance(report, dict) and {"added", "deleted", "integrity"} <= set(report), (
            f"archive_readings must return a dict with 'added', 'deleted' and 'integrity'; {what} returned {report!r}")
        assert report["integrity"] == "ok", f"{what}: integrity is {report['integrity']!r}, expected 'ok'"
        return report

    def count() -> int:
        with _open_read_only(db_path) as db:
            return db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]

    report = load(first, "the first load")
    assert report["added"] == len(first) == count(), (
        f"the first load of {len(first)} readings into an empty archive reports {report['added']} added "
        f"and leaves {count()} rows")
    report = load(clean, "the second, overlapping load")
    assert count() == len(clean), (
        f"after loading {len(first)} readings then {len(clean)} (the first ones again, and new ones) the archive holds "
        f"{count()} rows instead of {len(clean)}: an update must skip the readings already archived")
    assert report["added"] == len(clean) - len(first), (
        f"the second load reports {report['added']} added; {len(clean) - len(first)} readings were new")
    report = load(clean, "loading the same readings again")
    assert report["added"] == 0 and report["deleted"] == 0 and count() == len(clean), (
        f"loading the same readings again reports {report} and leaves {count()} rows: it must change nothing")
    newest = clean["timestamp"].max()
    kept = clean[clean["timestamp"] >= newest - pd.Timedelta(hours=1)]
    report = load(clean, "a load with retention_hours=1", retention_hours=1.0)
    assert count() == len(kept) and report["deleted"] == len(clean) - len(kept), (
        f"with retention_hours=1 the archive must keep only the readings of the hour before the newest one "
        f"({len(kept)} rows, {len(clean) - len(kept)} deleted); it holds {count()} rows and reports {report}")


# --- helpers ---


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with categorical columns as plain strings, so merges and comparisons behave the same."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


def _is_target(frame: pd.DataFrame) -> pd.Series:
    """Rows of the target signals (compares categorical columns as they are: fast on a whole dataset)."""
    wanted = pd.Series(False, index=frame.index)
    for machine, sensor in TARGETS:
        wanted |= (frame["machine"] == machine) & (frame["sensor"] == sensor)
    return wanted


def _in_period(timestamps: pd.Series) -> pd.Series:
    return (timestamps >= PERIOD[0]) & (timestamps < PERIOD[1])


def _check_targets_and_period(frame: pd.DataFrame, name: str) -> None:
    other = frame[~_is_target(frame)]
    assert other.empty, (f"{name} has {len(other)} rows of signals the brief does not ask for, e.g. "
                         f"{sorted(set(zip(other['machine'], other['sensor'], strict=True)))[:3]}")
    try:
        outside = frame[~_in_period(frame["timestamp"])]
    except TypeError as error:
        raise AssertionError(f"{name}.timestamp must hold timezone-aware UTC timestamps: {error}") from error
    assert outside.empty, (f"{name} has {len(outside)} rows stamped outside the period [{PERIOD[0]}, {PERIOD[1]}), "
                           f"e.g. {_examples(outside, 'timestamp')}")


def _require_columns(frame: object, columns: Iterable[str], name: str) -> None:
    assert isinstance(frame, pd.DataFrame), f"{name} must be a pandas DataFrame, got {type(frame).__name__}"
    missing = [column for column in columns if column not in frame.columns]
    assert not missing, f"{name} lacks the column(s) {missing}; it has {list(frame.columns)}"


def _examples(rows: pd.DataFrame, column: str = "seq", n: int = 3) -> str:
    """A few rows named by signal and `column`, for an error message."""
    shown = [f"{m}/{s} {column}={v}" for m, s, v in
             zip(rows["machine"].head(n), rows["sensor"].head(n), rows[column].head(n), strict=True)]
    return ", ".join(shown) if shown else "(none)"


def _open_read_only(db_path: Path | str) -> "_Closing":
    path = Path(db_path)
    assert path.is_file(), f"{path}: no archive there; create it with archive_readings"
    return _Closing(sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True))


class _Closing:
    """sqlite3's own context manager commits but does not close: this one closes (Windows keeps files locked)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc_info: object) -> None:
        self.db.close()


def decode_messages(raw: Iterable[tuple[str, bytes]]) -> list[tuple[str, object]]:
    """(topic, payload bytes) as received → (topic, decoded JSON, or the text when it is not JSON)."""
    decoded = []
    for topic, payload in raw:
        text = payload.decode("utf-8", errors="replace")
        try:
            decoded.append((topic, json.loads(text)))
        except ValueError:
            decoded.append((topic, text))
    return decoded
