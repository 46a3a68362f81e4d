"""Verdicts of lab1_prepare_data: the learner's targets and period against the brief, and each of the learner's
functions (locate, select, clean, resample, publish, archive) judged on the inputs the grader chose for the
learner's graded variant (labkit/lab1_prepare_data.py draws them), so that one early mistake costs only its
own cell.

The brief of the lab (its "cahier des charges") fixes what is right, and this module holds the brief's answers:
the signals and period the maintenance objectives need (`TARGETS`, `PERIOD`), the cleaning rules
(`RANGE_MARGIN_FRACTION`, `MIN_COVERAGE`) and the archive's schema. The truth of the readings comes from the
grader's own copy of the variant's runs (`autograde.variants.truth_tables`): every sample's defect label says
whether a correct filter keeps it (`KEEP_DEFECTS`) or removes it (`REMOVE_DEFECTS`). The historian's export has
no sample counter; the grader ties each of its rows to its sample through the same export written with the
counter (the same rows in the same order), and knows the clock's steps from the scenario.

Filters are judged on rates, and only on what a filter can tell from the data: a spike is *evident* when it
stands out from both neighbours by more than the signal ever jumps between two good readings, a stuck stretch
when its frozen run is far longer than any run of the live, rounded signal. The filter must remove those and
keep the good readings: quiet signals rounded to their resolution repeat their last value legitimately, and a
slowly sampled machine cycle shows as single readings between two of another level, both real. Messages name
the property that is wrong, with a few of the learner's own rows as examples, never the expected values.
"""

import functools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autograde.variants import Variant, add_dataset, observed_tables, truth_tables
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect, phrase
from labkit import plaindata
from labkit.lab1_prepare_data import (
    ARCHIVE_COLUMNS,
    ARCHIVE_KEY,
    CLEAN_COLUMNS,
    EXPORT_COLUMNS,
    EXPORT_SCENARIO,
    HOURS,
    KEY,
    MEAN_COLUMNS,
    MIN_COVERAGE,
    PLANT,
    SCENARIO,
    SELECT_COLUMNS,
    SIGNAL,
    SOURCE_COLUMNS,
    as_given,
    grader_inputs,
)
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario
from simulators.sensors import sensor_metadata

VERDICTS = LabVerdicts("lab1_prepare_data")

# The brief: the CNC spindle (temperature and power) and the saw blade (vibration), 06:00 to the 10:00 break.
TARGETS = (("cnc", "spindle_temperature"), ("cnc", "spindle_power"), ("saw", "vibration"))
PERIOD = (pd.Timestamp("2026-01-05T06:00:00Z"), pd.Timestamp("2026-01-05T10:00:00Z"))
RANGE_MARGIN_FRACTION = 0.02  # datasheet accuracy: ±2 % of the span beyond [low, high] is still a reading
LIVE_PLANT = None  # the plant `start_plant()` streams (the bundled default), whose `_meta` topics Part 2 reads

KEEP_DEFECTS = ("ok", "drift", "late", "duplicate", "clock_jitter")
REMOVE_DEFECTS = ("spike", "out_of_range", "stuck")
MIN_REMOVED = 0.9  # share of each evident defect a filter must remove
MIN_DEFECTS_PER_SIGNAL = 8  # ... of each signal's, where it has at least this many of them
MIN_KEPT = 0.98  # share of good samples a filter must keep
MIN_KEPT_PER_SIGNAL = 0.95  # ... and of each signal's good samples
MIN_LATE_KEPT = 0.9  # share of late messages a filter must put back in order rather than drop
EVIDENT_SPIKE_JUMPS = 3.0  # an evident spike stands out from both neighbours by this many times the signal's
EVIDENT_SPIKE_MIN_FRACTION = 0.02  # 99th percentile of good jumps, and by at least this share of the span
EVIDENT_STUCK_RUNS = 2.0  # an evident stuck run is this many times as long as the signal's longest live run,
EVIDENT_STUCK_MIN_SAMPLES = 6  # holds at least this many samples, and is less likely by chance than this (a tenth
EVIDENT_STUCK_CHANCE = 1e-7  # of the brief's one in a million, so that the brief's rule always catches it)
MIN_COLLISIONS = 5  # the clock step's same-stamp samples are judged when the input holds at least this many
MEAN_TOLERANCE_FRACTION = 1e-4  # a mean of the grader's readings: exact up to rounding (× span)
PUBLISHED_TOLERANCE_FRACTION = 0.005  # a published value may be rounded for the dashboard (× span)
RETENTION_SLACK = pd.Timedelta(seconds=1)  # readings this close to a retention cut-off may go either way

ARCHIVE_SCHEMA = {
    "sensors": (("machine", "TEXT"), ("sensor", "TEXT"), ("topic", "TEXT"), ("kind", "TEXT"), ("unit", "TEXT"),
                ("low", "REAL"), ("high", "REAL"), ("period_s", "REAL")),
    "readings": (("machine", "TEXT"), ("sensor", "TEXT"), ("ts_utc", "TEXT"), ("value", "REAL")),
}
ARCHIVE_KEYS = {"sensors": ("machine", "sensor"), "readings": tuple(ARCHIVE_KEY)}
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# Sets the checks need, named here rather than written in an `expect(...)` condition: Babel's extractor splits a
# call's arguments at every comma outside parentheses, and would miss the message after a literal set.
ARCHIVE_REFERENCES = frozenset({("sensors", "machine", "machine"), ("sensors", "sensor", "sensor")})
PAYLOAD_FIELDS = frozenset({"timestamp", "value", "unit"})
REPORT_FIELDS = frozenset({"added", "deleted", "integrity"})
# The feedback's names of the archive's update steps, in the order labkit's archive_update_probe runs them.
ARCHIVE_STEP_NAMES = (phrase("the first load"), phrase("the second, overlapping load"),
                      phrase("loading the same readings again"),
                      phrase("reloading the first load's readings (older history)"))


# --- the grader's side of the variant -------------------------------------------------------------------------

@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    """The variant's shift as the gateway recorded it and as the historian exported it (observed tables only),
    and the inputs of its hidden test cells."""
    for scenario in (SCENARIO, EXPORT_SCENARIO):
        add_dataset(folder, scenario, variant.seed, HOURS, plant=PLANT)
    for name, value in inputs(variant.seed).items():
        plaindata.write(folder / "inputs", name, value)


@functools.lru_cache(maxsize=2)
def observed(seed: int, scenario: str = SCENARIO) -> dict[str, pd.DataFrame]:
    """The observed tables of the variant's shift (what its kernel reads), read once per seed."""
    return observed_tables(scenario, seed, HOURS, plant=PLANT)


@functools.lru_cache(maxsize=4)
def inputs(seed: int) -> dict[str, Any]:
    """The inputs the kernel of `seed`'s variant received, as it read them."""
    gateway, export = observed(seed), observed(seed, EXPORT_SCENARIO)
    return plaindata.roundtrip(grader_inputs(gateway["readings"], export["readings"], gateway["sensors"], seed))


def given(seed: int, name: str) -> Any:
    """One input as the learner's function received it (pairs as tuples, periods as Timestamps)."""
    return as_given(name, inputs(seed)[name])


@functools.lru_cache(maxsize=1)
def plant_sources() -> pd.DataFrame:
    """Every sensor's datasheet as the live plant publishes it (its retained `_meta` payload)."""
    metadata = pd.DataFrame(sensor_metadata(load_plant(LIVE_PLANT)))
    return metadata[list(SOURCE_COLUMNS)].set_index(SIGNAL)


@functools.lru_cache(maxsize=1)
def recorded_sources() -> pd.DataFrame:
    """Every sensor's datasheet as the recordings carry it (the recorded plant's `sensors` table)."""
    metadata = pd.DataFrame(sensor_metadata(load_plant(PLANT)))
    return metadata[list(SOURCE_COLUMNS)].set_index(SIGNAL)


def span_of(machine: str, sensor: str) -> float:
    row = recorded_sources().loc[(machine, sensor)]
    return float(row["high"] - row["low"])


@functools.lru_cache(maxsize=4)
def labelled_gateway(seed: int) -> pd.DataFrame:
    """The grader's gateway selection for clean_readings, first copy of each sample, with its truth label and
    what a filter can tell of it (`labels`)."""
    selected = _plain(given(seed, "clean_selected"))
    return labels(selected.drop_duplicates(KEY), _truth(seed, SCENARIO))


@functools.lru_cache(maxsize=4)
def labelled_export(seed: int) -> pd.DataFrame:
    """The grader's historian selection, one row per exported row, tied to its sample (`seq`) through the same
    export written with the counter, with `expected_ts` (its time stamp with the clock's steps undone), its
    truth label, `collides` (another sample of its sensor was exported with the same time stamp) and `labels`."""
    selected = _plain(given(seed, "export_selected"))
    counted = _plain(observed_tables(EXPORT_SCENARIO, seed, HOURS, plant=PLANT, sequence_counter=True)["readings"])
    sources = given(seed, "export_sources")
    chosen = counted[_of(counted, zip(sources["machine"], sources["sensor"], strict=True))].reset_index(drop=True)
    expect(len(chosen) == len(selected), "the grader's historian export does not match its counted copy")
    truth = _truth(seed, EXPORT_SCENARIO)
    rows = selected.assign(seq=chosen["seq"].to_numpy())
    true_time = rows.merge(truth[[*KEY, "timestamp"]].rename(columns={"timestamp": "true_ts"}), on=KEY,
                           how="left")["true_ts"].to_numpy()
    start = load_plant(PLANT).start
    shift = np.zeros(len(rows))
    for at_s, step_s in load_scenario(EXPORT_SCENARIO, load_plant(PLANT)).clock_steps(seed):
        shift += np.where(true_time >= pd.Timestamp(start) + pd.Timedelta(seconds=at_s), step_s, 0.0)
    rows["expected_ts"] = rows["timestamp"] - pd.to_timedelta(shift, unit="s")
    samples = rows.drop_duplicates(KEY)
    samples = samples.assign(collides=samples.groupby([*SIGNAL, "timestamp"])["seq"].transform("size") > 1)
    return labels(samples, truth)


def _truth(seed: int, scenario: str) -> pd.DataFrame:
    return _plain(truth_tables(scenario, seed, HOURS, tables=("readings_truth",), plant=PLANT)["readings_truth"])


def labels(samples: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """`samples` (one row per sample, with seq) in sample order with its truth `defect`, and what a filter can
    tell: `evident` (an evident spike or stuck sample), `repeat` (a good reading equal to the sample before it,
    as a rounded quiet signal shows) and `single` (a good reading that stands alone between two neighbours of
    another level, as a slowly sampled machine cycle shows)."""
    frame = samples.merge(truth[[*KEY, "defect"]], on=KEY, how="left", validate="one_to_one")
    frame = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    limits = recorded_sources()[["low", "high"]]
    frame = frame.join(limits, on=SIGNAL)
    span = frame["high"] - frame["low"]
    readable = (frame["quality"].astype(str) == "good") & frame["value"].between(
        frame["low"] - RANGE_MARGIN_FRACTION * span, frame["high"] + RANGE_MARGIN_FRACTION * span)
    frame["evident"] = False
    frame["repeat"] = False
    frame["single"] = False
    for _pair, rows in frame[readable].groupby(SIGNAL, sort=False):
        good = rows["defect"].isin(KEEP_DEFECTS).to_numpy()
        values = rows["value"].to_numpy()
        width = float((rows["high"] - rows["low"]).iloc[0])
        jumps = np.abs(np.diff(values))
        both_good = good[1:] & good[:-1]
        usual = float(np.quantile(jumps[both_good], 0.99)) if both_good.any() else 0.0
        before, after = np.r_[np.nan, values[:-1]], np.r_[values[1:], np.nan]
        apart = np.fmin(np.abs(values - before), np.abs(values - after))
        alone = np.sign(values - before) == np.sign(values - after)
        spike = (rows["defect"] == "spike").to_numpy() & (apart > max(EVIDENT_SPIKE_MIN_FRACTION * width,
                                                                       EVIDENT_SPIKE_JUMPS * usual))
        starts = np.r_[True, values[1:] != values[:-1]]
        run = np.cumsum(starts)
        length = np.bincount(run)[run]
        stuck = (rows["defect"] == "stuck").to_numpy()
        live_runs = pd.Series(length).groupby(run).first()[~pd.Series(stuck).groupby(run).any()]
        longest_live = float(live_runs.max()) if len(live_runs) else 1.0
        share = min(max(float((~starts).mean()), 1e-9), 1 - 1e-9)  # the signal's share of repeated readings
        unlikely = 1 + math.ceil(math.log(EVIDENT_STUCK_CHANCE) / math.log(share))
        frozen = stuck & (length >= max(EVIDENT_STUCK_RUNS * longest_live, EVIDENT_STUCK_MIN_SAMPLES, unlikely))
        frame.loc[rows.index, "evident"] = spike | frozen
        frame.loc[rows.index, "repeat"] = good & ~starts
        frame.loc[rows.index, "single"] = good & alone & (apart > EVIDENT_SPIKE_MIN_FRACTION * width)
    return frame.drop(columns=["low", "high"])


# --- identify and locate --------------------------------------------------------------------------------------

@VERDICTS.cell("lab1_identify_test")
def identify(evidence: Evidence, variant: Variant) -> None:
    """The signals and period the brief asks for: (machine, sensor) pairs, and [start, end) in UTC."""
    targets, period = evidence["targets"], evidence["period"]
    expect(isinstance(targets, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in targets),
           "TARGETS must be a list of (machine, sensor) pairs, e.g. ('cnc', 'vibration')")
    chosen = {(str(machine), str(sensor)) for machine, sensor in targets}
    extra, missing = chosen - set(TARGETS), set(TARGETS) - chosen
    expect(not extra, "TARGETS holds signals the brief's objectives do not need: {extra}; reread the objectives and "
                      "the scope: which machine and which measure does each one name?", extra=sorted(extra))
    expect(not missing, "TARGETS misses {count} signal(s) the brief's objectives need; reread each objective and list "
                        "every measure it names, machine by machine", count=len(missing))
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
    expect(seen >= expected, "metadata lacks {missing} of the plant's {total} sensors: subscribe to every machine's "
                             "`_meta` topics with wildcards and wait until the retained messages have arrived",
                             missing=len(expected - seen), total=len(expected))
    expect(seen <= expected, "metadata holds messages that are not `_meta` descriptions of the plant's sensors: "
                             "the filter must receive the `_meta` topics and nothing else")
    located = _table(evidence["located"], SOURCE_COLUMNS, "locate_sources(metadata, targets)")
    asked = given(variant.seed, "locate_targets")
    pairs = list(zip(located["machine"], located["sensor"], strict=True))
    expect(sorted(pairs) == sorted(asked),
           "locate_sources returned rows for {pairs} when asked for other signals: return exactly one row per "
           "(machine, sensor) of its `targets` argument", pairs=sorted(set(pairs)))
    truth = plant_sources()
    for row in located.itertuples(index=False):
        datasheet = truth.loc[(row.machine, row.sensor)]
        for field in ("topic", "kind", "unit"):
            expect(getattr(row, field) == datasheet[field],
                   "locate_sources {machine}/{sensor}: {field} is {value!r}, not what its `_meta` topic says: copy it "
                   "from the retained metadata, do not guess it",
                   machine=row.machine, sensor=row.sensor, field=field, value=getattr(row, field))
        for field in ("low", "high", "period_s"):
            expect(_close(getattr(row, field), datasheet[field]),
                   "locate_sources {machine}/{sensor}: {field} is {value!r}, not what its `_meta` topic says (the "
                   "supplier's datasheet values)",
                   machine=row.machine, sensor=row.sensor, field=field, value=getattr(row, field))


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
    expect(other.empty, "select_targets keeps {count} rows of signals it was not asked for, e.g. {examples}",
                        count=len(other), examples=_examples(other))
    stamps = _utc(selected["timestamp"], "select_targets", "timestamp")
    early, late = selected[stamps < start], selected[stamps >= end]
    expect(early.empty, "select_targets keeps {count} rows stamped before the period's start, e.g. {examples}",
                        count=len(early), examples=_examples(early, "timestamp"))
    expect(late.empty, "select_targets keeps {count} rows stamped at or after the period's end, e.g. {examples}: the "
                       "period is [start, end), its end excluded",
                       count=len(late), examples=_examples(late, "timestamp"))
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
    """`clean_readings` on the grader's gateway selection (three signals of the learner's variant, a whole shift
    as received, with `seq`): one row per sample, in sample order, values as reported, evident defects removed and
    good samples kept, by the labels of the variant's ground truth."""
    name = phrase("clean_readings (gateway recording)")
    chosen = _table(evidence["clean"], CLEAN_COLUMNS, name)
    chosen["seq"] = pd.to_numeric(chosen["seq"], errors="coerce")
    sources = given(variant.seed, "clean_sources")
    _only_inputs_signals(chosen, sources, name)
    repeated = chosen[chosen.duplicated(KEY, keep=False)]
    expect(repeated.empty, "{name} returns {count} rows sharing a (machine, sensor, seq) key, e.g. {examples}: a "
                           "repeated seq is a duplicated message, keep one copy",
                           name=name, count=len(repeated), examples=_examples(repeated))
    backwards = chosen.groupby(SIGNAL, sort=False)["seq"].diff() <= 0
    expect(not backwards.any(),
           "{name} is not in sample order: {count} readings come after a later sample, e.g. {examples}: late messages "
           "arrive out of order, sort each sensor's samples",
           name=name, count=int(backwards.sum()), examples=_examples(chosen[backwards]))
    _within_ranges(chosen, name)
    labelled = labelled_gateway(variant.seed)
    merged = labelled.merge(chosen[[*KEY, "value"]], on=KEY, how="left", suffixes=("", "_kept"), indicator=True)
    kept = merged["_merge"] == "both"
    changed = merged[kept & ~np.isclose(merged["value"], merged["value_kept"], rtol=0, atol=1e-9)]
    expect(changed.empty, "{name} changes {count} reported values, e.g. {examples}: a filter keeps or removes "
                          "readings, it does not alter them",
                          name=name, count=len(changed), examples=_examples(changed, "value"))
    unknown = len(chosen) - int(kept.sum())
    expect(unknown == 0, "{name} returns {unknown} readings that were not in its input: filter, do not invent",
                         name=name, unknown=unknown)
    _judge_filter(merged, kept, name)


@VERDICTS.cell("lab1_clean_export_test")
def clean_export(evidence: Evidence, variant: Variant) -> None:
    """`clean_readings` on the grader's selection of the historian's export (three signals, a whole shift, no
    `seq`, its clock stepping back once): one row per sample, time stamps with the clock step undone, in sample
    order, values as reported, samples that share a time stamp after the step kept apart, evident defects removed
    and good samples kept."""
    name = phrase("clean_readings (historian export)")
    chosen = _table(evidence["clean"], EXPORT_COLUMNS, name)
    chosen["timestamp"] = _utc(chosen["timestamp"], name, "timestamp")
    sources = given(variant.seed, "export_sources")
    _only_inputs_signals(chosen, sources, name)
    _within_ranges(chosen, name)
    labelled = labelled_export(variant.seed)
    samples = labelled.rename(columns={"timestamp": "reported_ts"})
    keys = [*SIGNAL, "expected_ts", "value"]
    mine = chosen.rename(columns={"timestamp": "expected_ts"})[keys].assign(row=np.arange(len(chosen)))
    matched = mine.merge(samples[[*keys, "seq"]], on=keys, how="left")
    unmatched = matched[matched["seq"].isna()]
    if not unmatched.empty:
        stepped = samples[samples["reported_ts"] != samples["expected_ts"]]
        as_reported = unmatched.merge(stepped.rename(columns={"expected_ts": "fixed", "reported_ts": "expected_ts"})
                                      [keys], on=keys, how="inner")
        expect(len(as_reported) <= len(unmatched) / 2,
               "{name} keeps {count} readings stamped with the historian's clock after it stepped back (e.g. "
               "{examples}): those stamps fall back by the step from one row to the next; move every reading after the "
               "step forward by it, so that each stamp is the sample's UTC time",
               name=name, count=len(as_reported), examples=_examples(as_reported, "expected_ts"))
        near = unmatched.merge(samples[[*SIGNAL, "value", "expected_ts"]].rename(columns={"expected_ts": "true"}),
                               on=[*SIGNAL, "value"])
        near = near[(near["expected_ts"] - near["true"]).abs() < pd.Timedelta(minutes=30)]
        expect(near.empty, "{name} returns {count} readings whose time stamp is neither the exported one nor that one "
                           "corrected by the clock's step, e.g. {examples}: correct a stamp only by the clock's step",
                           name=name, count=unmatched["row"].nunique(), examples=_examples(unmatched, "expected_ts"))
        raise VerdictFailed("{name} returns {count} readings that were not in its input, e.g. {examples}: filter, do "
                            "not invent or change values",
                            name=name, count=len(unmatched), examples=_examples(unmatched, "expected_ts"))
    repeated = matched[matched.duplicated(KEY, keep=False)]
    expect(repeated.empty, "{name} returns {count} rows of one sample, e.g. {examples}: a row exported twice (same "
                           "sensor, time stamp and value) is one sample, keep one copy",
                           name=name, count=len(repeated), examples=_examples(repeated, "expected_ts"))
    backwards = matched.groupby(SIGNAL, sort=False)["seq"].diff() <= 0
    expect(not backwards.any(),
           "{name} is not in sample order: {count} readings come after a later sample, e.g. {examples}: sort each "
           "sensor's readings by their corrected time stamps (after the historian's clock stepped back, its stamps are "
           "not in time order)",
           name=name, count=int(backwards.sum()), examples=_examples(matched[backwards], "expected_ts"))
    merged = labelled.merge(matched[KEY].assign(_kept=True), on=KEY, how="left")
    kept = merged["_kept"].fillna(False).astype(bool)
    _judge_filter(merged, kept, name)
    collided = merged["collides"].fillna(False).astype(bool) & merged["defect"].isin(KEEP_DEFECTS)
    if collided.sum() >= MIN_COLLISIONS:
        expect(kept[collided].mean() >= MIN_REMOVED,
               "{name} drops {dropped} of the {total} good readings stamped with the same time as another reading of "
               "their sensor but another value: after the historian's clock stepped back one hour, an hour of time "
               "stamps comes twice, with other samples; they are not duplicates (a duplicate repeats the time stamp "
               "and the value)", name=name, dropped=int((~kept[collided]).sum()), total=int(collided.sum()))


def _only_inputs_signals(chosen: pd.DataFrame, sources: pd.DataFrame, name: str) -> None:
    targets = list(zip(sources["machine"], sources["sensor"], strict=True))
    other = chosen[~_of(chosen, targets)]
    expect(other.empty, "{name} returns {count} rows of signals that were not in its input, e.g. {examples}",
                        name=name, count=len(other), examples=_examples(other, "value"))


def _within_ranges(chosen: pd.DataFrame, name: str) -> None:
    for (machine, sensor), rows in chosen.groupby(SIGNAL, sort=False):
        low, high = recorded_sources().loc[(machine, sensor), ["low", "high"]]
        margin = RANGE_MARGIN_FRACTION * (high - low)
        outside = rows[(rows["value"] < low - margin) | (rows["value"] > high + margin)]
        expect(outside.empty, "{name} keeps {count} {machine}/{sensor} values outside its valid range [{low:g}, "
                              "{high:g}] beyond the datasheet margin, e.g. {examples}",
                              name=name, count=len(outside), machine=machine, sensor=sensor, low=low, high=high,
                              examples=_examples(outside, "value"))


def _removal(merged: pd.DataFrame, kept: pd.Series, defect: str) -> tuple[pd.Series, float, pd.DataFrame] | None:
    """How a filter treated the samples of one `defect` it must remove (its evident ones; every out-of-range one):
    which they are (`hit`), the share it removed, and the signals where it removed too few of them (`weak`); None
    when its input has none."""
    hit = (merged["defect"] == defect) & (merged["evident"] | (defect == "out_of_range"))
    if not hit.any():
        return None
    removed = 1 - kept[hit].mean()
    per_signal = kept[hit].groupby([merged.loc[hit, "machine"], merged.loc[hit, "sensor"]]).agg(["sum", "size"])
    weak = per_signal[(per_signal["size"] >= MIN_DEFECTS_PER_SIGNAL)
                      & (per_signal["sum"] > _misses_allowed(per_signal["size"]))]
    return hit, removed, weak


def _misses_allowed(count):
    """How many of `count` evident defects a filter may keep: 1 - MIN_REMOVED of them, and always one: on a
    handful of spikes one borderline case would otherwise decide the cell (4 removed of 5 is only 80 %)."""
    return np.maximum(1, np.floor((1 - MIN_REMOVED) * count))


def _judge_filter(merged: pd.DataFrame, kept: pd.Series, name: str) -> None:
    """The rates of a filter, by the truth labels of its input's samples (`merged`) and whether it kept each."""
    removal = _removal(merged, kept, "spike")
    if removal is not None:
        hit, removed, weak = removal
        expect(kept[hit].sum() <= _misses_allowed(hit.sum()),
               "{name} keeps {kept} of the {total} evident spikes of its input (removes {removed:.0%}, at least "
               "{required:.0%} expected): a spike leaves both its neighbours by far more than the signal ever jumps "
               "between two readings, and they agree with each other",
               name=name, kept=int(kept[hit].sum()), total=int(hit.sum()), removed=removed, required=MIN_REMOVED)
        expect(weak.empty, "{name} keeps too many evident spikes of {signal}: a spike leaves both its neighbours by "
                           "far more than the signal ever jumps between two readings, and they agree with each other",
                           name=name, signal="/".join(weak.index[0]) if len(weak) else "")
    removal = _removal(merged, kept, "out_of_range")
    if removal is not None:
        hit, removed, weak = removal
        expect(kept[hit].sum() <= _misses_allowed(hit.sum()),
               "{name} keeps {kept} of the {total} out-of-range or bad-quality values of its input (removes "
               "{removed:.0%}, at least {required:.0%} expected): check the quality flag and the valid range",
               name=name, kept=int(kept[hit].sum()), total=int(hit.sum()), removed=removed, required=MIN_REMOVED)
        expect(weak.empty, "{name} keeps too many out-of-range or bad-quality values of {signal}: check the quality "
                           "flag and the valid range",
                           name=name, signal="/".join(weak.index[0]) if len(weak) else "")
    removal = _removal(merged, kept, "stuck")
    if removal is not None:
        hit, removed, weak = removal
        expect(kept[hit].sum() <= _misses_allowed(hit.sum()),
               "{name} keeps {kept} of the {total} evident stuck-sensor values of its input (removes {removed:.0%}, "
               "at least {required:.0%} expected): a stuck sensor repeats one value far longer than the live, rounded "
               "signal ever does",
               name=name, kept=int(kept[hit].sum()), total=int(hit.sum()), removed=removed, required=MIN_REMOVED)
        expect(weak.empty, "{name} keeps too many evident stuck-sensor values of {signal}: a stuck sensor repeats one "
                           "value far longer than the live, rounded signal ever does",
                           name=name, signal="/".join(weak.index[0]) if len(weak) else "")
    good = merged["defect"].isin(KEEP_DEFECTS)
    dropped = good & ~kept
    for column in ("repeat", "single"):
        lost = dropped & merged[column]
        if lost.sum() > (1 - MIN_KEPT) * good.sum() / 2:
            example = merged[lost]
            if column == "repeat":
                raise VerdictFailed(
                    "{name} drops {count} good readings equal to the reading before them: values are stored rounded "
                    "to the sensor's resolution, so a quiet signal repeats its last digit; only a repeat far longer "
                    "than the signal's own is a stuck sensor (e.g. {examples})",
                    name=name, count=int(lost.sum()), examples=_examples(example, "value"))
            raise VerdictFailed(
                "{name} drops {count} good readings standing alone between two readings of another level: a machine "
                "cycle shorter than the sampling period shows as one reading, a real event; only a jump larger than "
                "anything the signal does on its own is a spike (e.g. {examples})",
                name=name, count=int(lost.sum()), examples=_examples(example, "value"))
    late = merged["defect"] == "late"
    if late.any():  # a late reading may also sit in a long run of a rounded signal: judged at MIN_LATE_KEPT
        expect(kept[late].mean() >= MIN_LATE_KEPT,
               "{name} drops {dropped} of the {total} late messages: a late message carries a good value, put it back "
               "in order instead of dropping it", name=name, dropped=int((~kept[late]).sum()), total=int(late.sum()))
    expect(kept[good].mean() >= MIN_KEPT,
           "{name} drops {dropped} of the {total} good readings ({share:.1%}, at most {allowed:.0%} allowed): the "
           "filter is too strict; check its thresholds against each signal's span and normal behaviour (load steps, "
           "machines at rest)",
           name=name, dropped=int(dropped.sum()), total=int(good.sum()), share=1 - kept[good].mean(),
           allowed=1 - MIN_KEPT)
    per_signal = kept[good].groupby([merged.loc[good, "machine"], merged.loc[good, "sensor"]]).mean()
    weak = per_signal[per_signal < MIN_KEPT_PER_SIGNAL]
    expect(weak.empty, "{name} drops {share:.0%} of the good readings of {signal} (at most {allowed:.0%} of a "
                       "signal's): derive each threshold from the signal's own behaviour (its span, how far it jumps, "
                       "how long it repeats a value)",
                       name=name, share=1 - weak.min(), signal="/".join(weak.idxmin()) if len(weak) else "",
                       allowed=1 - MIN_KEPT_PER_SIGNAL)


# --- resample -------------------------------------------------------------------------------------------------

def required_samples(bin_s: float, period_s: float) -> int:
    """The readings a bin needs for a mean (QD-07 rule 6): at least half of those the sensor takes in it."""
    return max(1, math.ceil(MIN_COVERAGE * bin_s / period_s - 1e-9))


def expected_means(seed: int) -> pd.DataFrame:
    """The per-interval counts and means of the grader's resampling input (computed from it, no truth needed)."""
    readings, sources = given(seed, "resample_clean"), given(seed, "resample_sources")
    (start, end), bin_s = given(seed, "resample_period"), float(given(seed, "resample_bin_s"))
    step = pd.Timedelta(seconds=bin_s)
    frame = readings.assign(bin_start=start + (readings["timestamp"] - start) // step * step)
    stats = frame.groupby([*SIGNAL, "bin_start"])["value"].agg(["mean", "size"])
    starts = pd.date_range(start, end, freq=step, inclusive="left")
    grid = pd.MultiIndex.from_tuples([(m, s, moment) for m, s in zip(sources["machine"], sources["sensor"],
                                                                     strict=True) for moment in starts],
                                     names=[*SIGNAL, "bin_start"])
    stats = stats.reindex(grid)
    n_samples = stats["size"].fillna(0).astype(int)
    needed = pd.Series([required_samples(bin_s, period) for period in
                        sources.set_index(SIGNAL).loc[[(m, s) for m, s, _ in grid], "period_s"]], index=grid)
    return pd.DataFrame({"value_mean": stats["mean"].where(n_samples >= needed), "n_samples": n_samples,
                         "required": needed}).reset_index()


@VERDICTS.cell("lab1_resample_test")
def resample(evidence: Evidence, variant: Variant) -> None:
    """`resample_means` on the grader's readings, sources, period and interval: one row per signal and interval
    of the period, the count and mean of that interval's readings, and no mean where fewer than half of the
    readings the sensor takes in an interval (its `period_s`) arrived."""
    name = "resample_means"
    chosen = _table(evidence["means"], MEAN_COLUMNS, name)
    chosen["bin_start"] = _utc(chosen["bin_start"], name, "bin_start")
    expected = expected_means(variant.seed)
    bin_s = float(given(variant.seed, "resample_bin_s"))
    repeated = chosen[chosen.duplicated([*SIGNAL, "bin_start"], keep=False)]
    expect(repeated.empty, "{name} returns {count} rows sharing a (machine, sensor, bin_start), e.g. {examples}",
                           name=name, count=len(repeated), examples=_examples(repeated, "bin_start"))
    merged = expected.merge(chosen, on=[*SIGNAL, "bin_start"], how="outer", suffixes=("", "_learner"),
                            indicator=True)
    missing = merged[merged["_merge"] == "left_only"]
    expect(missing.empty, "{name} lacks {count} (signal, interval) rows of its period, e.g. {examples}: one row per "
                          "signal of `sources` and per interval of bin_s={bin_s:g} s from the period's start, empty "
                          "intervals included (at both ends too)",
                          name=name, count=len(missing), examples=_examples(missing, "bin_start"), bin_s=bin_s)
    extra = merged[merged["_merge"] == "right_only"]
    expect(extra.empty, "{name} returns {count} rows outside the signals and intervals of its period, e.g. {examples}: "
                        "intervals of bin_s seconds start at the period's start, in UTC, within [start, end)",
                        name=name, count=len(extra), examples=_examples(extra, "bin_start"))
    counts = pd.to_numeric(merged["n_samples_learner"], errors="coerce")
    wrong = merged[counts != merged["n_samples"]]
    expect(wrong.empty, "{name}: n_samples is not the number of readings in the interval for {count} rows, e.g. "
                        "{examples} (an empty interval counts 0)",
                        name=name, count=len(wrong), examples=_examples(wrong, "bin_start"))
    expected_gap, learner_gap = merged["value_mean"].isna(), merged["value_mean_learner"].isna()
    filled = merged[expected_gap & ~learner_gap]
    expect(filled.empty, "{name} has a value for {count} intervals where fewer than half of the sensor's readings "
                         "arrived, e.g. {examples}: a gap stays a gap (NaN), do not interpolate or carry values "
                         "forward", name=name, count=len(filled), examples=_examples(filled, "bin_start"))
    dropped = merged[~expected_gap & learner_gap]
    if not dropped.empty:
        slow = dropped.merge(given(variant.seed, "resample_sources")[[*SIGNAL, "period_s"]], on=SIGNAL)
        slowest = slow.sort_values("period_s").iloc[-1]
        raise VerdictFailed(
            "{name} has no value for {count} intervals that hold at least half of the readings their sensor takes in "
            "{bin_s:g} s, e.g. {examples}: {machine}/{sensor} samples every {period_s:g} s; derive the required count "
            "from each sensor's period_s and the interval's length, not from a fixed number",
            name=name, count=len(dropped), bin_s=bin_s, examples=_examples(dropped, "bin_start"),
            machine=slowest["machine"], sensor=slowest["sensor"], period_s=slowest["period_s"])
    spans = pd.Series([span_of(m, s) for m, s in zip(merged["machine"], merged["sensor"], strict=True)],
                      index=merged.index)
    both = ~expected_gap & ~learner_gap
    far = both & ((merged["value_mean"] - merged["value_mean_learner"]).abs() > MEAN_TOLERANCE_FRACTION * spans)
    expect(not far.any(), "{name}: {count} interval means are not the mean of that interval's readings, e.g. "
                          "{examples}: average the readings of each interval [start, start + bin_s)",
                          name=name, count=int(far.sum()), examples=_examples(merged[far], "bin_start"))


# --- transfer -------------------------------------------------------------------------------------------------

def sandbox_topic(learner: str, machine: str, sensor: str) -> str:
    """Where the brief asks for the series of one signal: the learner's own sandbox subtree."""
    return f"sandbox/{learner}/maintenance/{machine}/{sensor}"


@VERDICTS.cell("lab1_transfer_test")
def transfer(evidence: Evidence, variant: Variant) -> None:
    """`publish_means` on the grader's means, sources and learner name: on the live broker, one JSON message per
    interval that has a value, on that signal's sandbox topic, with the sensor's unit, QoS 1, not retained, and
    nothing else."""
    messages, retained, sent = evidence["messages"], evidence["retained"], evidence["sent"]
    seed = variant.seed
    learner = given(seed, "transfer_learner")
    means, sources = given(seed, "transfer_means"), given(seed, "transfer_sources")
    expected_topics = {sandbox_topic(learner, m, s): (m, s) for m, s in zip(sources["machine"], sources["sensor"],
                                                                           strict=True)}
    expect(isinstance(messages, list) and all(isinstance(m, list) and len(m) == 3 for m in messages),
           "the messages received could not be read")
    topics = {topic for topic, _payload, _qos in messages}
    extra = topics - set(expected_topics)
    expect(not extra, "{count} topic(s) published that the brief does not ask for, e.g. {topics}: send each signal to "
                      "sandbox/<learner>/maintenance/<machine>/<sensor>, with the `learner` argument",
                      count=len(extra), topics=sorted(extra)[:2])
    expect(topics == set(expected_topics), "nothing arrived on the topic of a signal that has values: publish "
                                           "every signal of `means`")
    units = dict(zip(zip(sources["machine"], sources["sensor"], strict=True), sources["unit"], strict=True))
    rows = []
    for topic, payload, qos in messages:
        machine, sensor = expected_topics[topic]
        expect(isinstance(payload, dict) and set(payload) >= PAYLOAD_FIELDS,
               "{topic}: a payload is not a JSON object with timestamp, value and unit ({payload})",
               topic=topic, payload=str(payload)[:80])
        expect(plaindata.is_finite_number(payload["value"]),
               "{topic}: a message at {timestamp} has no numeric value: send only the intervals that have a mean, the "
               "value as a JSON number", topic=topic, timestamp=payload["timestamp"])
        expect(payload["unit"] == units[(machine, sensor)],
               "{topic}: unit {unit!r} is not the sensor's, as `sources` gives it", topic=topic, unit=payload["unit"])
        expect(qos == 1, "{topic}: messages arrive with QoS {qos}: publish with QoS 1", topic=topic, qos=qos)
        rows.append((machine, sensor, payload["timestamp"], float(payload["value"])))
    expect(not retained, "{count} topic(s) keep a retained message, e.g. {example}: do not retain",
                         count=len(retained), example=retained[:1])
    received = pd.DataFrame(rows, columns=["machine", "sensor", "timestamp", "value_learner"])
    try:
        received["bin_start"] = pd.to_datetime(received["timestamp"], utc=True, format="ISO8601")
    except (ValueError, TypeError):
        raise VerdictFailed("a payload's timestamp is not ISO 8601, like 2026-01-05T06:00:00.000Z") from None
    repeated = received[received.duplicated([*SIGNAL, "bin_start"], keep=False)]
    expect(repeated.empty, "{count} intervals were sent more than once, e.g. {examples}",
                           count=len(repeated), examples=_examples(repeated, "bin_start"))
    valued = means.dropna(subset=["value_mean"])
    merged = valued.merge(received, on=[*SIGNAL, "bin_start"], how="outer", indicator=True)
    gaps = set(zip(means["machine"], means["sensor"], means["bin_start"], strict=True)) - set(
        zip(valued["machine"], valued["sensor"], valued["bin_start"], strict=True))
    unexpected = merged[merged["_merge"] == "right_only"]
    sent_gaps = [row for row in zip(unexpected["machine"], unexpected["sensor"], unexpected["bin_start"],
                                    strict=True) if row in gaps]
    expect(not sent_gaps, "{count} messages were sent for intervals without a value: a gap is not sent",
                          count=len(sent_gaps))
    expect(unexpected.empty, "{count} messages are stamped with another moment than an interval of `means`, e.g. "
                             "{examples}: stamp each with its interval's start (bin_start), in UTC",
                             count=len(unexpected), examples=_examples(unexpected, "timestamp"))
    lost = merged[merged["_merge"] == "left_only"]
    expect(lost.empty, "{count} intervals that have a value were not received, e.g. {examples}: publish every interval "
                       "with a value", count=len(lost), examples=_examples(lost, "bin_start"))
    spans = np.array([span_of(m, s) for m, s in zip(merged["machine"], merged["sensor"], strict=True)])
    far = merged[(merged["value_mean"] - merged["value_learner"]).abs().to_numpy() > PUBLISHED_TOLERANCE_FRACTION
                 * spans]
    expect(far.empty, "{count} published values are not their interval's mean, e.g. {examples}",
                      count=len(far), examples=_examples(far, "bin_start"))
    expect(plaindata.is_finite_number(sent) and int(sent) == len(valued),
           "publish_means must return the number of messages it published")


# --- archive --------------------------------------------------------------------------------------------------

@VERDICTS.cell("lab1_archive_schema_test")
def archive_schema(evidence: Evidence, variant: Variant) -> None:
    """The schema `archive_readings` creates in a fresh file: the tables, typed NOT NULL columns, primary keys,
    foreign key and time index of the brief's IT instruction."""
    tables = evidence["tables"]
    expect(isinstance(tables, dict), "the archive's schema could not be read")
    for table, columns in ARCHIVE_SCHEMA.items():
        expect(table in tables, "the archive has no table {table!r} (tables: {tables})",
                                table=table, tables=sorted(tables))
        found = {column["name"]: column for column in tables[table]["columns"]}
        for column, sql_type in columns:
            expect(column in found, "table {table} has no column {column!r}", table=table, column=column)
            declared = str(found[column]["type"] or "").upper()
            if declared:
                expect(declared == sql_type, "{table}.{column} is {declared}, not {sql_type}",
                       table=table, column=column, declared=declared, sql_type=sql_type)
            else:
                expect(declared == sql_type, "{table}.{column} is untyped, not {sql_type}",
                       table=table, column=column, sql_type=sql_type)
            expect(bool(found[column]["notnull"]), "{table}.{column} must be NOT NULL (no row without it)",
                                                   table=table, column=column)
        key = tuple(column["name"] for column in sorted(found.values(), key=lambda column: column["pk"])
                    if column["pk"])
        if key:
            expect(key == ARCHIVE_KEYS[table], "the primary key of {table} is {key}, the brief asks for {expected}",
                   table=table, key=key, expected=ARCHIVE_KEYS[table])
        else:
            expect(key == ARCHIVE_KEYS[table], "the primary key of {table} is missing, the brief asks for {expected}",
                   table=table, expected=ARCHIVE_KEYS[table])
    references = {(key["table"], key["from"], key["to"]) for key in tables["readings"]["foreign_keys"]}
    expect(references >= ARCHIVE_REFERENCES,
           "readings (machine, sensor) must be a FOREIGN KEY referencing sensors (machine, sensor)")
    expect(any(index["columns"][:1] == ["ts_utc"] for index in tables["readings"]["indexes"]),
           "no index on readings(ts_utc): queries by time window would scan the whole table")


def _archive_keys(frame: pd.DataFrame) -> set[tuple[str, str, pd.Timestamp]]:
    return set(zip(frame["machine"], frame["sensor"], frame["timestamp"], strict=True))


@VERDICTS.cell("lab1_archive_content_test")
def archive_content(evidence: Evidence, variant: Variant) -> None:
    """The archive `archive_readings` builds from the grader's readings in two overlapping updates: the sources'
    datasheet rows, exactly one row per reading with its value and UTC time stamp, integrity ok."""
    seed = variant.seed
    expect(evidence["integrity"] == ["ok"], "PRAGMA integrity_check does not answer ok on the archive")
    expect(evidence["foreign_key_violations"] == 0,
           "some readings have no row in sensors (PRAGMA foreign_key_check): archive the sensors first")
    sensors = _table(evidence["sensors_rows"], SOURCE_COLUMNS, phrase("the table sensors"))
    sources = given(seed, "archive_sources")
    pairs = list(zip(sensors["machine"], sensors["sensor"], strict=True))
    expect(sorted(pairs) == sorted(zip(sources["machine"], sources["sensor"], strict=True)),
           "the table sensors must hold one row per signal of `sources`, no more")
    merged = sources.merge(sensors, on=SIGNAL, suffixes=("", "_archived"))
    for field in ("topic", "kind", "unit"):
        expect((merged[field] == merged[f"{field}_archived"]).all(),
               "sensors.{field} is not what `sources` gives for every signal", field=field)
    for field in ("low", "high", "period_s"):
        archived = pd.to_numeric(merged[f"{field}_archived"], errors="coerce")
        expect(np.allclose(merged[field], archived), "sensors.{field} is not what `sources` gives for every signal",
                                                     field=field)

    rows = _table(evidence["readings_rows"], ("machine", "sensor", "ts_utc", "value"), phrase("the table readings"))
    readings = given(seed, "archive_readings")
    repeated = rows[rows.duplicated(ARCHIVE_KEY, keep=False)]
    expect(repeated.empty, "the archive holds {count} readings twice, e.g. {examples}: an update must skip the "
                           "readings already archived", count=len(repeated), examples=_examples(repeated, "ts_utc"))
    texts = rows["ts_utc"].astype(str)
    bad = rows[~texts.str.match(ISO_UTC_MS)]
    expect(bad.empty, "{count} ts_utc values are not ISO 8601 UTC with milliseconds, e.g. {examples}: write them like "
                      "2026-01-05T06:00:00.000Z", count=len(bad), examples=bad["ts_utc"].astype(str).head(2).tolist())
    rows = rows.assign(value=pd.to_numeric(rows["value"], errors="coerce"),
                       timestamp=pd.to_datetime(texts, utc=True, format="ISO8601"))
    merged = readings[list(ARCHIVE_COLUMNS)].merge(rows, on=[*SIGNAL, "timestamp"], how="outer",
                                                   suffixes=("", "_archived"), indicator=True)
    lost = merged[merged["_merge"] == "left_only"]
    extra = merged[merged["_merge"] == "right_only"]
    expect(lost.empty or extra.empty,
           "{count} readings are archived with another time than the one given, e.g. {examples}: store each reading's "
           "timestamp, in UTC", count=len(extra), examples=_examples(extra, "ts_utc"))
    expect(extra.empty, "the archive holds {count} readings that were never loaded, e.g. {examples}",
                        count=len(extra), examples=_examples(extra, "ts_utc"))
    expect(lost.empty, "{count} of the {total} readings loaded are not in the archive, e.g. {examples}",
                       count=len(lost), total=len(readings), examples=_examples(lost, "timestamp"))
    changed = merged[~np.isclose(merged["value"], merged["value_archived"], rtol=0, atol=1e-9)]
    expect(changed.empty, "{count} readings are archived with another value than reported, e.g. {examples}",
                          count=len(changed), examples=_examples(changed, "ts_utc"))


def expected_updates(seed: int) -> list[dict[str, Any]]:
    """What each step of `archive_update_probe` must do with the grader's readings and retention: the readings
    archived after it, those it adds and those it deletes (readings within RETENTION_SLACK of a cut-off may go
    either way: `ambiguous`)."""
    readings, split = given(seed, "archive_readings"), given(seed, "archive_split")
    retention = pd.Timedelta(hours=float(given(seed, "archive_retention_hours")))
    earlier = readings[readings["timestamp"] < split]
    archived: pd.DataFrame = readings.iloc[:0]
    steps = []
    for rows in (earlier, readings, readings, earlier):
        newest = max([moment for moment in (archived["timestamp"].max(), rows["timestamp"].max())
                      if not pd.isna(moment)])
        cutoff = newest - retention
        union = pd.concat([archived, rows]).drop_duplicates([*SIGNAL, "timestamp"])
        after = union[union["timestamp"] >= cutoff]
        ambiguous = union[(union["timestamp"] - cutoff).abs() <= RETENTION_SLACK]
        before_keys, after_keys = _archive_keys(archived), _archive_keys(after)
        steps.append({"added": len(after_keys - before_keys), "deleted": len(before_keys - after_keys),
                      "rows": len(after), "ambiguous": len(ambiguous), "after": after, "cutoff": cutoff})
        archived = after
    return steps


@VERDICTS.cell("lab1_archive_update_test")
def archive_updates(evidence: Evidence, variant: Variant) -> None:
    """`archive_readings` run on a fresh file with the grader's readings and a retention shorter than the shift:
    a first load, an overlapping second load, the same load again, then the first load's readings again:
    incremental without duplicates, the retention counted back from the newest reading, no reading archived that
    the retention deletes at once (a reload changes nothing), and a truthful report after each."""
    steps = evidence["steps"]
    expect(isinstance(steps, list) and len(steps) == len(ARCHIVE_STEP_NAMES), "the archive's updates could not be read")
    for step, what in zip(steps, ARCHIVE_STEP_NAMES, strict=True):
        report = step["report"]
        expect(isinstance(report, dict) and set(report) >= REPORT_FIELDS,
               "archive_readings must return a dict with 'added', 'deleted' and 'integrity'; {what} returned {report}",
               what=what, report=str(report)[:120])
        expect(report["integrity"] == "ok", "{what}: integrity is {integrity!r}, expected 'ok'",
                                            what=what, integrity=report["integrity"])
    expected = expected_updates(variant.seed)
    first, second, third, fourth = zip(steps, expected, strict=True)

    def near(got: Any, want: int, slack: int) -> bool:
        return plaindata.is_finite_number(got) and abs(got - want) <= slack

    (step, want) = first
    expect(near(step["rows"], want["rows"], want["ambiguous"]),
           "the first load keeps readings older than retention_hours before its newest reading, or drops younger "
           "ones: count the retention back from the newest reading (of the archive and of the update), not from "
           "the computer's clock, and do not archive what the retention would delete at once")
    expect(near(step["report"]["added"], want["added"], want["ambiguous"]) and step["report"]["deleted"] == 0,
           "the first load into an empty archive must report as added the readings it archived, and 0 deleted: "
           "a reading older than the retention is not added (adding then deleting it would only churn the disk "
           "and make the report lie)")
    (step, want) = second
    expect(near(step["rows"], want["rows"], want["ambiguous"]),
           "after a second load that overlaps the first, the archive does not hold each reading of the retention "
           "window exactly once: an update skips the readings already archived, adds the new ones and deletes "
           "those that fell out of the window")
    expect(near(step["report"]["added"], want["added"], want["ambiguous"]),
           "the second, overlapping load does not report as added the number of readings that were new")
    expect(near(step["report"]["deleted"], want["deleted"], want["ambiguous"]),
           "the second, overlapping load does not report as deleted the readings the retention removed")
    (step, want) = third
    expect(step["report"]["added"] == 0 and step["report"]["deleted"] == 0 and step["rows"] == second[0]["rows"],
           "loading the same readings again must change nothing, and report 0 added and 0 deleted")
    (step, want) = fourth
    expect(step["report"]["added"] == 0 and step["report"]["deleted"] == 0 and step["rows"] == second[0]["rows"],
           "reloading older readings (already past the retention) must change nothing and report 0 added and 0 "
           "deleted: never archive a reading that the same update's retention deletes")
    kept = _table(evidence["kept"], ARCHIVE_KEY, phrase("the archive after the updates"))
    stamps = pd.to_datetime(kept["ts_utc"].astype(str), utc=True, format="ISO8601", errors="coerce")
    kept_keys = set(zip(kept["machine"], kept["sensor"], stamps, strict=True))
    final = expected[-1]
    must = final["after"][final["after"]["timestamp"] >= final["cutoff"] + RETENTION_SLACK]
    expect(_archive_keys(must) <= kept_keys,
           "the retention deleted readings younger than retention_hours before the newest archived reading")
    expect(len(kept_keys - _archive_keys(final["after"])) <= final["ambiguous"],
           "the archive keeps readings older than retention_hours before its newest reading")


# --- helpers --------------------------------------------------------------------------------------------------

def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with categorical and text columns of machine and sensor as str, so merges behave the same."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype) or column in SIGNAL:
            frame[column] = frame[column].astype(str)
    return frame


def _table(value: Any, columns, name: str) -> pd.DataFrame:
    """The recorded result of a function as a DataFrame with `columns`, or a VerdictFailed naming what lacks."""
    if isinstance(value, dict) and "not_a_dataframe" in value:
        raise VerdictFailed("{name} must return a pandas DataFrame, got {kind}",
                            name=name, kind=value["not_a_dataframe"])
    if isinstance(value, dict) and "missing_table" in value:
        raise VerdictFailed("the archive has no table {table!r}", table=value["missing_table"])
    expect(isinstance(value, pd.DataFrame), "{name} could not be read as a table", name=name)
    missing = [column for column in columns if column not in value.columns]
    expect(not missing, "{name} lacks the column(s) {missing}; it has {columns}",
                        name=name, missing=missing, columns=list(value.columns))
    return _plain(value)


def _of(frame: pd.DataFrame, targets) -> pd.Series:
    wanted = pd.Series(False, index=frame.index)
    for machine, sensor in targets:
        wanted |= (frame["machine"] == machine) & (frame["sensor"] == sensor)
    return wanted


def _utc(values: pd.Series, name: str, column: str) -> pd.Series:
    """`values`, the `column` of `name`'s result, as UTC timestamps, or a VerdictFailed saying they are not."""
    try:
        stamps = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError):
        raise VerdictFailed("{name}: {column} must hold timestamps (timezone-aware, UTC)",
                            name=name, column=column) from None
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
    return ", ".join(shown) if shown else phrase("(none)")
