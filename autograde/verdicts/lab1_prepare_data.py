"""Verdicts of lab1_prepare_data: the learner's targets and period against the brief, and each of the learner's
functions (locate, select, clean, resample, publish, archive) judged on the inputs the grader chose for the
learner's graded variant (labkit/lab1_prepare_data.py draws them), so that one early mistake costs only its
own cell.

The brief of the lab (its "cahier des charges") fixes what is right, and this module holds the brief's answers:
the signals and period the maintenance objectives need (`TARGETS`, `PERIOD`), the cleaning rules
(`RANGE_MARGIN_FRACTION`, `MIN_SAMPLES_PER_MINUTE`) and the archive's schema. The truth of the readings comes
from the grader's own copy of the variant's run (`autograde.variants.truth_tables`): every sample's defect label
says whether a correct filter keeps it (`KEEP_DEFECTS`) or removes it (`REMOVE_DEFECTS`). Filters are judged on
rates, not exact sets: a filter that misses one spike in twenty is a good filter. Messages name the property
that is wrong, with a few of the learner's own rows as examples, never the expected values.
"""

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autograde.variants import Variant, add_dataset, observed_tables, truth_tables
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect
from labkit import plaindata
from labkit.lab1_prepare_data import (
    CLEAN_COLUMNS,
    HOURS,
    KEY,
    MINUTE_COLUMNS,
    SCENARIO,
    SELECT_COLUMNS,
    SOURCE_COLUMNS,
    as_given,
    grader_inputs,
)
from simulators.plantfile import load_plant
from simulators.sensors import sensor_metadata

VERDICTS = LabVerdicts("lab1_prepare_data")

# The brief: the CNC spindle (temperature and power) and the saw blade (vibration), 06:00 to the 10:00 break.
TARGETS = (("cnc", "spindle_temperature"), ("cnc", "spindle_power"), ("saw", "vibration"))
PERIOD = (pd.Timestamp("2026-01-05T06:00:00Z"), pd.Timestamp("2026-01-05T10:00:00Z"))
RANGE_MARGIN_FRACTION = 0.02  # datasheet accuracy: ±2 % of the span beyond [low, high] is still a reading
MIN_SAMPLES_PER_MINUTE = 30  # fewer samples in a minute: no mean for that minute (a gap, not a value)

KEEP_DEFECTS = ("ok", "drift", "late", "duplicate", "clock_jitter")
REMOVE_DEFECTS = ("spike", "out_of_range", "stuck")
MIN_REMOVED = 0.9  # share of each removable defect a filter must remove
MIN_REMOVED_PER_SIGNAL = 0.75  # ... and of each signal's, where it has at least MIN_DEFECTS_PER_SIGNAL of them
MIN_DEFECTS_PER_SIGNAL = 8
MIN_KEPT = 0.98  # share of good samples a filter must keep
MEAN_TOLERANCE_FRACTION = 1e-4  # a per-minute mean of the grader's readings: exact up to rounding (× span)
PUBLISHED_TOLERANCE_FRACTION = 0.005  # a published value may be rounded for the dashboard (× span)
RETENTION_SLACK = pd.Timedelta(seconds=1)  # readings this close to the retention cut-off may go either way

ARCHIVE_COLUMNS = {
    "sensors": (("machine", "TEXT"), ("sensor", "TEXT"), ("topic", "TEXT"), ("kind", "TEXT"), ("unit", "TEXT"),
                ("low", "REAL"), ("high", "REAL"), ("period_s", "REAL")),
    "readings": (("machine", "TEXT"), ("sensor", "TEXT"), ("seq", "INTEGER"), ("ts_utc", "TEXT"),
                 ("value", "REAL")),
}
ARCHIVE_KEYS = {"sensors": ("machine", "sensor"), "readings": ("machine", "sensor", "seq")}
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


# --- the grader's side of the variant -------------------------------------------------------------------------

@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """The variant's shift (observed tables only) and the inputs of its hidden test cells."""
    add_dataset(folder, SCENARIO, variant.seed, HOURS)
    for name, value in inputs(variant.seed).items():
        plaindata.write(folder / "inputs", name, value)


@functools.lru_cache(maxsize=2)
def observed(seed: int) -> dict[str, pd.DataFrame]:
    """The observed tables of the variant's shift (what its kernel reads), read once per seed."""
    return observed_tables(SCENARIO, seed, HOURS)


@functools.lru_cache(maxsize=4)
def inputs(seed: int) -> dict[str, Any]:
    """The inputs the kernel of `seed`'s variant received, as it read them."""
    return plaindata.roundtrip(grader_inputs(observed(seed)["readings"], observed(seed)["sensors"], seed))


def given(seed: int, name: str) -> Any:
    """One input as the learner's function received it (pairs as tuples, periods as Timestamps)."""
    return as_given(name, inputs(seed)[name])


@functools.lru_cache(maxsize=1)
def plant_sources() -> pd.DataFrame:
    """Every sensor's datasheet (its retained `_meta` payload), indexed by (machine, sensor)."""
    metadata = pd.DataFrame(sensor_metadata(load_plant()))
    return metadata[list(SOURCE_COLUMNS)].set_index(["machine", "sensor"])


def span_of(machine: str, sensor: str) -> float:
    row = plant_sources().loc[(machine, sensor)]
    return float(row["high"] - row["low"])


@functools.lru_cache(maxsize=4)
def _labelled_clean_input(seed: int) -> pd.DataFrame:
    """The grader's selection for clean_readings, first copy of each sample, with its truth label."""
    selected = _plain(given(seed, "clean_selected"))
    truth = _plain(truth_tables(SCENARIO, seed, HOURS, tables=("readings_truth",))["readings_truth"])[[*KEY, "defect"]]
    labelled = selected.drop_duplicates(KEY).merge(truth, on=KEY, how="left", validate="one_to_one")
    return labelled.reset_index(drop=True)


# --- identify and locate --------------------------------------------------------------------------------------

@VERDICTS.cell("lab1_identify_test")
def identify(evidence: Evidence, variant: Variant) -> None:
    """The signals and period the brief asks for: (machine, sensor) pairs, and [start, end) in UTC."""
    targets, period = evidence["targets"], evidence["period"]
    expect(isinstance(targets, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in targets),
           "TARGETS must be a list of (machine, sensor) pairs, e.g. ('cnc', 'vibration')")
    chosen = {(str(machine), str(sensor)) for machine, sensor in targets}
    extra, missing = chosen - set(TARGETS), set(TARGETS) - chosen
    expect(not extra, f"TARGETS holds signals the brief's objectives do not need: {sorted(extra)}; "
                      "reread the objectives and the scope: which machine and which measure does each one name?")
    expect(not missing, f"TARGETS misses {len(missing)} signal(s) the brief's objectives need; reread each "
                        "objective and list every measure it names, machine by machine")
    expect(len(targets) == len(chosen), "TARGETS names a signal twice")
    expect(isinstance(period, list) and len(period) == 2, "PERIOD must be (start, end), two timestamps")
    try:
        start, end = (pd.Timestamp(moment) for moment in period)
    except (TypeError, ValueError):
        raise VerdictFailed("PERIOD must be (start, end), two timestamps") from None
    expect(start.tzinfo is not None and end.tzinfo is not None,
           "PERIOD: give timezone-aware timestamps (the plant's clock is UTC), e.g. pd.Timestamp('…T06:00Z')")
    expect(start == PERIOD[0], "PERIOD starts at another moment than the study: reread which shift it covers "
                               "and when that shift starts (plant clock, UTC)")
    expect(end == PERIOD[1], "PERIOD ends at another moment than the study: reread where the brief ends it, and "
                             "remember [start, end) excludes its end")


@VERDICTS.cell("lab1_locate_test")
def locate(evidence: Evidence, variant: Variant) -> None:
    """The retained `_meta` messages of every sensor were read, and `locate_sources` copies each requested
    signal's description from them (run on the grader's signals, not the brief's)."""
    metadata = evidence["metadata"]
    expected = set(plant_sources()["topic"])
    expect(isinstance(metadata, list) and all(isinstance(meta, dict) and "topic" in meta for meta in metadata),
           "metadata must be the list of decoded `_meta` payloads (dicts with a 'topic' key)")
    seen = {meta["topic"] for meta in metadata}
    expect(seen >= expected, f"metadata lacks {len(expected - seen)} of the plant's {len(expected)} sensors: "
                             "subscribe to every machine's `_meta` topics with wildcards and wait until the "
                             "retained messages have arrived")
    expect(seen <= expected, "metadata holds messages that are not `_meta` descriptions of the plant's sensors: "
                             "the filter must receive the `_meta` topics and nothing else")
    located = _table(evidence["located"], SOURCE_COLUMNS, "locate_sources(metadata, targets)")
    asked = given(variant.seed, "locate_targets")
    pairs = list(zip(located["machine"], located["sensor"], strict=True))
    expect(sorted(pairs) == sorted(asked),
           f"locate_sources returned rows for {sorted(set(pairs))} when asked for other signals: return exactly "
           "one row per (machine, sensor) of its `targets` argument")
    truth = plant_sources()
    for row in located.itertuples(index=False):
        datasheet = truth.loc[(row.machine, row.sensor)]
        for field in ("topic", "kind", "unit"):
            expect(getattr(row, field) == datasheet[field],
                   f"locate_sources {row.machine}/{row.sensor}: {field} is {getattr(row, field)!r}, not what its "
                   "`_meta` topic says: copy it from the retained metadata, do not guess it")
        for field in ("low", "high", "period_s"):
            expect(_close(getattr(row, field), datasheet[field]),
                   f"locate_sources {row.machine}/{row.sensor}: {field} is {getattr(row, field)!r}, not what its "
                   "`_meta` topic says (the supplier's datasheet values)")


# --- filter ---------------------------------------------------------------------------------------------------

@VERDICTS.cell("lab1_select_test")
def select(evidence: Evidence, variant: Variant) -> None:
    """`select_targets` on the grader's signals and window: every received message of them in [start, end),
    unchanged, duplicates and bad readings included, and nothing else."""
    selected = _table(evidence["selected"], SELECT_COLUMNS, "select_targets(readings, targets, period)")
    targets, (start, end) = given(variant.seed, "select_targets"), given(variant.seed, "select_period")
    readings = _plain(observed(variant.seed)["readings"])
    wanted = readings[_of(readings, targets) & (readings["timestamp"] >= start) & (readings["timestamp"] < end)]
    other = selected[~_of(selected, targets)]
    expect(other.empty, f"select_targets keeps {len(other)} rows of signals it was not asked for, e.g. "
                        f"{_examples(other)}")
    stamps = _utc(selected["timestamp"], "select_targets: timestamp")
    early, late = selected[stamps < start], selected[stamps >= end]
    expect(early.empty, f"select_targets keeps {len(early)} rows stamped before the period's start, e.g. "
                        f"{_examples(early, 'timestamp')}")
    expect(late.empty, f"select_targets keeps {len(late)} rows stamped at or after the period's end, e.g. "
                       f"{_examples(late, 'timestamp')}: the period is [start, end), its end excluded")
    expect(len(selected) <= len(wanted),
           "select_targets returns more rows than the requested signals sent in the period: filter the rows of "
           "`readings`, do not add any")
    expect(len(selected) >= len(wanted),
           "select_targets drops messages of the requested signals in the period: select only (keep duplicates, "
           "late and bad messages: the next step cleans them), and keep a reading stamped exactly at the start")
    columns = [*KEY, "timestamp", "value"]
    mine = selected[columns].assign(timestamp=stamps).sort_values(columns).reset_index(drop=True)
    theirs = wanted[columns].sort_values(columns).reset_index(drop=True)
    same = len(mine) == len(theirs) and (mine[KEY].to_numpy() == theirs[KEY].to_numpy()).all() and (
        mine["timestamp"].to_numpy() == theirs["timestamp"].to_numpy()).all() and np.allclose(
        mine["value"], theirs["value"], rtol=0, atol=1e-9, equal_nan=True)
    expect(same, "select_targets returns the right number of rows but not the messages of the dataset as "
                 "received: filter the rows of `readings` without changing them")


@VERDICTS.cell("lab1_clean_test")
def clean(evidence: Evidence, variant: Variant) -> None:
    """`clean_readings` on the grader's selection (three signals of the learner's variant, a whole shift as
    received): one row per sample, in sample order, values as reported, defects removed and good samples kept,
    by the labels of the variant's ground truth."""
    seed, name = variant.seed, "clean_readings"
    chosen = _table(evidence["clean"], CLEAN_COLUMNS, name)
    sources = given(seed, "clean_sources")
    targets = list(zip(sources["machine"], sources["sensor"], strict=True))
    other = chosen[~_of(chosen, targets)]
    expect(other.empty, f"{name} returns {len(other)} rows of signals that were not in its input, e.g. "
                        f"{_examples(other)}")
    repeated = chosen[chosen.duplicated(KEY, keep=False)]
    expect(repeated.empty, f"{name} returns {len(repeated)} rows sharing a (machine, sensor, seq) key, e.g. "
                           f"{_examples(repeated)}: a repeated seq is a duplicated message, keep one copy")
    backwards = chosen.groupby(["machine", "sensor"], sort=False)["seq"].diff() <= 0
    expect(not backwards.any(),
           f"{name} is not in sample order: {int(backwards.sum())} readings come after a later sample, e.g. "
           f"{_examples(chosen[backwards])}: late messages arrive out of order, sort each sensor's samples")
    for (machine, sensor), rows in chosen.groupby(["machine", "sensor"], sort=False):
        low, high = plant_sources().loc[(machine, sensor), ["low", "high"]]
        margin = RANGE_MARGIN_FRACTION * (high - low)
        outside = rows[(rows["value"] < low - margin) | (rows["value"] > high + margin)]
        expect(outside.empty, f"{name} keeps {len(outside)} {machine}/{sensor} values outside its valid range "
                              f"[{low:g}, {high:g}] beyond the datasheet margin, e.g. {_examples(outside, 'value')}")

    labelled = _labelled_clean_input(seed)
    merged = labelled.merge(chosen[[*KEY, "value"]], on=KEY, how="left", suffixes=("", "_kept"), indicator=True)
    kept = merged["_merge"] == "both"
    changed = merged[kept & ~np.isclose(merged["value"], merged["value_kept"], rtol=0, atol=1e-9)]
    expect(changed.empty, f"{name} changes {len(changed)} reported values, e.g. {_examples(changed, 'value')}: "
                          "a filter keeps or removes readings, it does not alter them")
    unknown = len(chosen) - int(kept.sum())
    expect(unknown == 0, f"{name} returns {unknown} readings that were not in its input: filter, do not invent")
    for defect, what, hint in (
        ("spike", "spikes", "compare each value with the median of its neighbours, in units of the sensor's span"),
        ("out_of_range", "out-of-range or bad-quality values", "check the quality flag and the valid range"),
        ("stuck", "stuck-sensor values", "a live sensor never repeats a value exactly: look for repeats"),
    ):
        hit = merged["defect"] == defect
        if hit.any():
            removed = 1 - kept[hit].mean()
            expect(removed >= MIN_REMOVED,
                   f"{name} keeps {int(kept[hit].sum())} of the {int(hit.sum())} {what} of its input (removes "
                   f"{removed:.0%}, at least {MIN_REMOVED:.0%} expected): {hint}")
            signals = [merged.loc[hit, "machine"], merged.loc[hit, "sensor"]]
            per_signal = kept[hit].groupby(signals).agg(["mean", "size"])
            weak = per_signal[(per_signal["size"] >= MIN_DEFECTS_PER_SIGNAL)
                              & (1 - per_signal["mean"] < MIN_REMOVED_PER_SIGNAL)]
            expect(weak.empty,
                   f"{name} keeps too many {what} of {'/'.join(weak.index[0]) if len(weak) else ''} (at least "
                   f"{MIN_REMOVED_PER_SIGNAL:.0%} of each signal's expected): {hint}")
    late = merged["defect"] == "late"
    if late.any():
        expect(kept[late].mean() >= MIN_KEPT,
               f"{name} drops {int((~kept[late]).sum())} of the {int(late.sum())} late messages: a late message "
               "carries a good value, put it back in order instead of dropping it")
    good = merged["defect"].isin(KEEP_DEFECTS)
    expect(kept[good].mean() >= MIN_KEPT,
           f"{name} drops {int((~kept[good]).sum())} of the {int(good.sum())} good readings "
           f"({1 - kept[good].mean():.1%}, at most {1 - MIN_KEPT:.0%} allowed): the filter is too strict; check "
           "its thresholds against each signal's span and normal behaviour (load steps, machines at rest)")


def expected_minutes(seed: int) -> pd.DataFrame:
    """The per-minute counts and means of the grader's resampling input (computed from it, no truth needed)."""
    readings = given(seed, "resample_clean")
    targets, (start, end) = given(seed, "resample_targets"), given(seed, "resample_period")
    frame = readings.assign(minute=readings["timestamp"].dt.floor("min"))
    stats = frame.groupby(["machine", "sensor", "minute"])["value"].agg(["mean", "size"])
    grid = pd.MultiIndex.from_tuples(
        [(machine, sensor, minute) for machine, sensor in targets
         for minute in pd.date_range(start, end, freq="min", inclusive="left")],
        names=["machine", "sensor", "minute"])
    stats = stats.reindex(grid)
    n_samples = stats["size"].fillna(0).astype(int)
    return pd.DataFrame({"value_mean": stats["mean"].where(n_samples >= MIN_SAMPLES_PER_MINUTE),
                         "n_samples": n_samples}).reset_index()


@VERDICTS.cell("lab1_resample_test")
def resample(evidence: Evidence, variant: Variant) -> None:
    """`resample_minutes` on the grader's readings, signals and period: one row per signal and minute of the
    period, the mean and count of that minute's readings, and no mean for a minute of fewer than 30."""
    name = "resample_minutes"
    chosen = _table(evidence["minutes"], MINUTE_COLUMNS, name)
    chosen["minute"] = _utc(chosen["minute"], f"{name}: minute")
    expected = expected_minutes(variant.seed)
    repeated = chosen[chosen.duplicated(["machine", "sensor", "minute"], keep=False)]
    expect(repeated.empty, f"{name} returns {len(repeated)} rows sharing a (machine, sensor, minute), e.g. "
                           f"{_examples(repeated, 'minute')}")
    merged = expected.merge(chosen, on=["machine", "sensor", "minute"], how="outer", suffixes=("", "_learner"),
                            indicator=True)
    missing = merged[merged["_merge"] == "left_only"]
    expect(missing.empty, f"{name} lacks {len(missing)} (signal, minute) rows of its period, e.g. "
                          f"{_examples(missing, 'minute')}: one row per signal of `targets` and per minute of "
                          "[start, end), minutes without readings included (at both ends too)")
    extra = merged[merged["_merge"] == "right_only"]
    expect(extra.empty, f"{name} returns {len(extra)} rows outside the signals and minutes of its period, e.g. "
                        f"{_examples(extra, 'minute')}: minutes start on the minute, in UTC, within [start, end)")
    counts = pd.to_numeric(merged["n_samples_learner"], errors="coerce")
    wrong = merged[counts != merged["n_samples"]]
    expect(wrong.empty, f"{name}: n_samples is not the number of readings in the minute for {len(wrong)} rows, "
                        f"e.g. {_examples(wrong, 'minute')} (an empty minute counts 0)")
    expected_gap, learner_gap = merged["value_mean"].isna(), merged["value_mean_learner"].isna()
    filled = merged[expected_gap & ~learner_gap]
    expect(filled.empty, f"{name} has a value for {len(filled)} minutes with fewer than {MIN_SAMPLES_PER_MINUTE} "
                         f"readings, e.g. {_examples(filled, 'minute')}: a gap stays a gap (NaN), do not "
                         "interpolate or carry values forward")
    dropped = merged[~expected_gap & learner_gap]
    expect(dropped.empty, f"{name} has no value for {len(dropped)} minutes that hold at least "
                          f"{MIN_SAMPLES_PER_MINUTE} readings, e.g. {_examples(dropped, 'minute')}")
    spans = pd.Series([span_of(m, s) for m, s in zip(merged["machine"], merged["sensor"], strict=True)],
                      index=merged.index)
    both = ~expected_gap & ~learner_gap
    far = both & ((merged["value_mean"] - merged["value_mean_learner"]).abs() > MEAN_TOLERANCE_FRACTION * spans)
    expect(not far.any(), f"{name}: {int(far.sum())} minute means are not the mean of that minute's readings, "
                          f"e.g. {_examples(merged[far], 'minute')}: average the readings of each minute "
                          "[hh:mm:00, hh:mm+1:00)")


# --- transfer -------------------------------------------------------------------------------------------------

def sandbox_topic(learner: str, machine: str, sensor: str) -> str:
    """Where the brief asks for the per-minute series of one signal: the learner's own sandbox subtree."""
    return f"sandbox/{learner}/maintenance/{machine}/{sensor}"


@VERDICTS.cell("lab1_transfer_test")
def transfer(evidence: Evidence, variant: Variant) -> None:
    """`publish_minutes` on the grader's minutes, sources and learner name: on the live broker, one JSON message
    per minute that has a value, on that signal's sandbox topic, with the sensor's unit, QoS 1, not retained,
    and nothing else."""
    messages, retained, sent = evidence["messages"], evidence["retained"], evidence["sent"]
    seed = variant.seed
    learner = given(seed, "transfer_learner")
    minutes, sources = given(seed, "transfer_minutes"), given(seed, "transfer_sources")
    expected_topics = {sandbox_topic(learner, m, s): (m, s) for m, s in zip(sources["machine"], sources["sensor"],
                                                                           strict=True)}
    expect(isinstance(messages, list) and all(isinstance(m, list) and len(m) == 3 for m in messages),
           "the messages received could not be read")
    topics = {topic for topic, _payload, _qos in messages}
    extra = topics - set(expected_topics)
    expect(not extra, f"{len(extra)} topic(s) published that the brief does not ask for, e.g. "
                      f"{sorted(extra)[:2]}: send each signal to sandbox/<learner>/maintenance/<machine>/<sensor>, "
                      "with the `learner` argument")
    expect(topics == set(expected_topics), "nothing arrived on the topic of a signal that has values: publish "
                                           "every signal of `minutes`")
    units = dict(zip(zip(sources["machine"], sources["sensor"], strict=True), sources["unit"], strict=True))
    rows = []
    for topic, payload, qos in messages:
        machine, sensor = expected_topics[topic]
        expect(isinstance(payload, dict) and {"timestamp", "value", "unit"} <= set(payload),
               f"{topic}: a payload is not a JSON object with timestamp, value and unit ({str(payload)[:80]})")
        expect(plaindata.is_finite_number(payload["value"]),
               f"{topic}: a message at {payload['timestamp']} has no numeric value: send only the minutes that "
               "have a mean, the value as a JSON number")
        expect(payload["unit"] == units[(machine, sensor)],
               f"{topic}: unit {payload['unit']!r} is not the sensor's, as `sources` gives it")
        expect(qos == 1, f"{topic}: messages arrive with QoS {qos}: publish with QoS 1")
        rows.append((machine, sensor, payload["timestamp"], float(payload["value"])))
    expect(not retained, f"{len(retained)} topic(s) keep a retained message, e.g. {retained[:1]}: do not retain")
    received = pd.DataFrame(rows, columns=["machine", "sensor", "timestamp", "value_learner"])
    try:
        received["minute"] = pd.to_datetime(received["timestamp"], utc=True, format="ISO8601")
    except (ValueError, TypeError):
        raise VerdictFailed("a payload's timestamp is not ISO 8601, like 2026-01-05T06:00:00.000Z") from None
    repeated = received[received.duplicated(["machine", "sensor", "minute"], keep=False)]
    expect(repeated.empty, f"{len(repeated)} minutes were sent more than once, e.g. {_examples(repeated, 'minute')}")
    valued = minutes.dropna(subset=["value_mean"])
    merged = valued.merge(received, on=["machine", "sensor", "minute"], how="outer", indicator=True)
    gaps = set(zip(minutes["machine"], minutes["sensor"], minutes["minute"], strict=True)) - set(
        zip(valued["machine"], valued["sensor"], valued["minute"], strict=True))
    unexpected = merged[merged["_merge"] == "right_only"]
    sent_gaps = [row for row in zip(unexpected["machine"], unexpected["sensor"], unexpected["minute"], strict=True)
                 if row in gaps]
    expect(not sent_gaps, f"{len(sent_gaps)} messages were sent for minutes without a value: a gap is not sent")
    expect(unexpected.empty, f"{len(unexpected)} messages are stamped with another moment than a minute of "
                             f"`minutes`, e.g. {_examples(unexpected, 'timestamp')}: stamp each with its minute's "
                             "start, in UTC")
    lost = merged[merged["_merge"] == "left_only"]
    expect(lost.empty, f"{len(lost)} minutes that have a value were not received, e.g. "
                       f"{_examples(lost, 'minute')}: publish every minute with a value")
    spans = np.array([span_of(m, s) for m, s in zip(merged["machine"], merged["sensor"], strict=True)])
    far = merged[(merged["value_mean"] - merged["value_learner"]).abs().to_numpy() > PUBLISHED_TOLERANCE_FRACTION
                 * spans]
    expect(far.empty, f"{len(far)} published values are not their minute's mean, e.g. "
                      f"{_examples(far, 'minute')}")
    expect(plaindata.is_finite_number(sent) and int(sent) == len(valued),
           "publish_minutes must return the number of messages it published")


# --- archive --------------------------------------------------------------------------------------------------

@VERDICTS.cell("lab1_archive_schema_test")
def archive_schema(evidence: Evidence, variant: Variant) -> None:
    """The schema `archive_readings` creates in a fresh file: the tables, typed NOT NULL columns, primary keys,
    foreign key and time index of the brief's IT instruction."""
    tables = evidence["tables"]
    expect(isinstance(tables, dict), "the archive's schema could not be read")
    for table, columns in ARCHIVE_COLUMNS.items():
        expect(table in tables, f"the archive has no table {table!r} (tables: {sorted(tables)})")
        found = {column["name"]: column for column in tables[table]["columns"]}
        for column, sql_type in columns:
            expect(column in found, f"table {table} has no column {column!r}")
            declared = str(found[column]["type"] or "").upper()
            expect(declared == sql_type, f"{table}.{column} is {declared or 'untyped'}, not {sql_type}")
            expect(bool(found[column]["notnull"]), f"{table}.{column} must be NOT NULL (no row without it)")
        key = tuple(column["name"] for column in sorted(found.values(), key=lambda column: column["pk"])
                    if column["pk"])
        expect(key == ARCHIVE_KEYS[table], f"the primary key of {table} is {key or 'missing'}, the brief asks for "
                                           f"{ARCHIVE_KEYS[table]}")
    references = {(key["table"], key["from"], key["to"]) for key in tables["readings"]["foreign_keys"]}
    expect({("sensors", "machine", "machine"), ("sensors", "sensor", "sensor")} <= references,
           "readings (machine, sensor) must be a FOREIGN KEY referencing sensors (machine, sensor)")
    expect(any(index["columns"][:1] == ["ts_utc"] for index in tables["readings"]["indexes"]),
           "no index on readings(ts_utc): queries by time window would scan the whole table")


@VERDICTS.cell("lab1_archive_content_test")
def archive_content(evidence: Evidence, variant: Variant) -> None:
    """The archive `archive_readings` builds from the grader's readings in two overlapping updates: the sources'
    datasheet rows, exactly one row per reading with its reported value and UTC timestamp, integrity ok."""
    seed = variant.seed
    expect(evidence["integrity"] == ["ok"], "PRAGMA integrity_check does not answer ok on the archive")
    expect(evidence["foreign_key_violations"] == 0,
           "some readings have no row in sensors (PRAGMA foreign_key_check): archive the sensors first")
    sensors = _table(evidence["sensors_rows"], SOURCE_COLUMNS, "the table sensors")
    sources = given(seed, "archive_sources")
    pairs = list(zip(sensors["machine"], sensors["sensor"], strict=True))
    expect(sorted(pairs) == sorted(zip(sources["machine"], sources["sensor"], strict=True)),
           "the table sensors must hold one row per signal of `sources`, no more")
    merged = sources.merge(sensors, on=["machine", "sensor"], suffixes=("", "_archived"))
    for field in ("topic", "kind", "unit"):
        expect((merged[field] == merged[f"{field}_archived"]).all(),
               f"sensors.{field} is not what `sources` gives for every signal")
    for field in ("low", "high", "period_s"):
        archived = pd.to_numeric(merged[f"{field}_archived"], errors="coerce")
        expect(np.allclose(merged[field], archived), f"sensors.{field} is not what `sources` gives for every signal")

    rows = _table(evidence["readings_rows"], ("machine", "sensor", "seq", "ts_utc", "value"), "the table readings")
    readings = given(seed, "archive_readings")
    repeated = rows[rows.duplicated(KEY, keep=False)]
    expect(repeated.empty, f"the archive holds {len(repeated)} readings twice, e.g. {_examples(repeated)}: "
                           "an update must skip the readings already archived")
    texts = rows["ts_utc"].astype(str)
    bad = rows[~texts.str.match(ISO_UTC_MS)]
    expect(bad.empty, f"{len(bad)} ts_utc values are not ISO 8601 UTC with milliseconds, e.g. "
                      f"{bad['ts_utc'].astype(str).head(2).tolist()}: write them like 2026-01-05T06:00:00.000Z")
    rows = rows.assign(seq=pd.to_numeric(rows["seq"], errors="coerce"),
                       value=pd.to_numeric(rows["value"], errors="coerce"),
                       timestamp=pd.to_datetime(texts, utc=True, format="ISO8601"))
    merged = readings[[*KEY, "timestamp", "value"]].merge(rows, on=KEY, how="outer", suffixes=("", "_archived"),
                                                          indicator=True)
    lost = merged[merged["_merge"] == "left_only"]
    expect(lost.empty, f"{len(lost)} of the {len(readings)} readings loaded are not in the archive, e.g. "
                       f"{_examples(lost)}")
    extra = merged[merged["_merge"] == "right_only"]
    expect(extra.empty, f"the archive holds {len(extra)} readings that were never loaded, e.g. {_examples(extra)}")
    moved = merged[merged["timestamp"] != merged["timestamp_archived"]]
    expect(moved.empty, f"{len(moved)} readings are archived with another time than the sensor reported, e.g. "
                        f"{_examples(moved, 'ts_utc')}: store the reported timestamp, in UTC")
    changed = merged[~np.isclose(merged["value"], merged["value_archived"], rtol=0, atol=1e-9)]
    expect(changed.empty, f"{len(changed)} readings are archived with another value than reported, e.g. "
                          f"{_examples(changed, 'value_archived')}")


@VERDICTS.cell("lab1_archive_update_test")
def archive_updates(evidence: Evidence, variant: Variant) -> None:
    """`archive_readings` run on a fresh file with the grader's readings: a first load, an overlapping second
    load, the same load again, then a load with a retention: incremental without duplicates, idempotent, the
    retention counted back from the newest reading, and a truthful report after each."""
    seed = variant.seed
    readings, split = given(seed, "archive_readings"), given(seed, "archive_split")
    retention = pd.Timedelta(hours=given(seed, "archive_retention_hours"))
    steps = evidence["steps"]
    expect(isinstance(steps, list) and len(steps) == 4, "the archive's updates could not be read")
    for step, what in zip(steps, ("the first load", "the second, overlapping load", "loading the same readings "
                                  "again", "a load with a shorter retention_hours"), strict=True):
        report = step["report"]
        expect(isinstance(report, dict) and {"added", "deleted", "integrity"} <= set(report),
               f"archive_readings must return a dict with 'added', 'deleted' and 'integrity'; {what} returned "
               f"{str(report)[:120]}")
        expect(report["integrity"] == "ok", f"{what}: integrity is {report['integrity']!r}, expected 'ok'")
    first, second, third, fourth = steps
    n_first = int((readings["timestamp"] < split).sum())
    expect(first["rows"] == n_first and first["report"]["added"] == n_first,
           "the first load into an empty archive does not add, or report, every reading it was given")
    expect(second["rows"] == len(readings),
           "after a second load that overlaps the first, the archive does not hold each reading exactly once: an "
           "update must skip the readings already archived and add the new ones")
    expect(second["report"]["added"] == len(readings) - n_first,
           "the second, overlapping load does not report as added the number of readings that were new")
    expect(third["report"]["added"] == 0 and third["report"]["deleted"] == 0 and third["rows"] == len(readings),
           "loading the same readings again must change nothing, and report 0 added and 0 deleted")
    cutoff = readings["timestamp"].max() - retention
    must_keep = readings[readings["timestamp"] >= cutoff + RETENTION_SLACK]
    may_keep = readings[readings["timestamp"] >= cutoff - RETENTION_SLACK]
    kept = _table(evidence["kept"], KEY, "the archive after the retention")
    kept_keys = set(zip(kept["machine"], kept["sensor"], kept["seq"], strict=True))
    expect(set(zip(must_keep["machine"], must_keep["sensor"], must_keep["seq"], strict=True)) <= kept_keys,
           "the retention deleted readings younger than retention_hours before the newest archived reading")
    expect(kept_keys <= set(zip(may_keep["machine"], may_keep["sensor"], may_keep["seq"], strict=True)),
           "the retention kept readings older than retention_hours before the newest archived reading (measure it "
           "back from the newest reading in the archive, not from the computer's clock)")
    expect(fourth["report"]["deleted"] == len(readings) - fourth["rows"],
           "the load with retention does not report as deleted the number of readings it removed")


# --- helpers --------------------------------------------------------------------------------------------------

def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with categorical and text columns of machine and sensor as str, so merges behave the same."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype) or column in ("machine", "sensor"):
            frame[column] = frame[column].astype(str)
    return frame


def _table(value: Any, columns, name: str) -> pd.DataFrame:
    """The recorded result of a function as a DataFrame with `columns`, or a VerdictFailed naming what lacks."""
    if isinstance(value, dict) and "not_a_dataframe" in value:
        raise VerdictFailed(f"{name} must return a pandas DataFrame, got {value['not_a_dataframe']}")
    if isinstance(value, dict) and "missing_table" in value:
        raise VerdictFailed(f"the archive has no table {value['missing_table']!r}")
    expect(isinstance(value, pd.DataFrame), f"{name} could not be read as a table")
    missing = [column for column in columns if column not in value.columns]
    expect(not missing, f"{name} lacks the column(s) {missing}; it has {list(value.columns)}")
    return _plain(value)


def _of(frame: pd.DataFrame, targets) -> pd.Series:
    wanted = pd.Series(False, index=frame.index)
    for machine, sensor in targets:
        wanted |= (frame["machine"] == machine) & (frame["sensor"] == sensor)
    return wanted


def _utc(values: pd.Series, name: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError):
        raise VerdictFailed(f"{name} must hold timestamps (timezone-aware, UTC)") from None
    return stamps


def _close(value: Any, expected: float) -> bool:
    try:
        return bool(np.isclose(float(value), float(expected)))
    except (TypeError, ValueError):
        return False


def _examples(rows: pd.DataFrame, column: str = "seq", n: int = 3) -> str:
    """A few of the learner's rows named by signal and `column`, for a message."""
    shown = [f"{m}/{s} {column}={v}" for m, s, v in
             zip(rows["machine"].head(n), rows["sensor"].head(n), rows[column].head(n), strict=True)]
    return ", ".join(shown) if shown else "(none)"
