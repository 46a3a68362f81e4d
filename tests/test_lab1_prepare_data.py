"""lab1_prepare_data: its verdicts accept the notebook's solutions run on the grader's inputs, for the practice
variant and a graded one, and reject typical wrong answers with a message that names what is wrong, never the
expected value; its kit holds no answer; through the grader, a mistake costs only its own cell.
(tests/test_labs.py grades the solution and the blank release of every lab.)"""

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from lab_grading import grade_variants, solution_with, the_solution

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import read_graded_cells, validate_lab_tags
from autograde.variants import Variant, practice_variant, prepare_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab1_prepare_data as verdicts
from labkit import lab1_prepare_data as kit
from simulators.seeding import VARIANT_ENV

LAB = "lab1_prepare_data"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
KIT = Path(kit.__file__)
PRACTICE = practice_variant(LAB)
GRADED = Variant(LAB, "ana", 0x2F3A_91C4_5D6E_7B80)  # a 62-bit seed, as the course's secret gives


def solution_cell(grade_id: str) -> str:
    nb = nbformat.read(SOURCE, as_version=4)
    return next(cell.source for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def functions(**replacements: str) -> dict:
    """The notebook's solution functions (select, clean, resample, publish, archive), optionally with a piece of
    their source replaced (a typical mistake)."""
    source = "\n".join(solution_cell(grade_id).split("\n\nselected = ")[0].split("\n\nclean = ")[0]
                       .split("\n\nmeans = ")[0]
                       for grade_id in ("lab1_select", "lab1_clean", "lab1_resample", "lab1_transfer", "lab1_archive"))
    locate = solution_cell("lab1_locate")
    source += "\n" + locate[locate.index("def locate_sources"):locate.index("\n\nlive_sources = ")]
    for old, new in replacements.items():
        assert old in source, old
        source = source.replace(old, new)
    from simulators.transport import MqttClient

    namespace = {"pd": pd, "np": np, "json": json, "sqlite3": __import__("sqlite3"), "MqttClient": MqttClient}
    exec(compile(source, f"<{LAB}>", "exec"), namespace)
    return namespace


@pytest.fixture
def practice_kit(monkeypatch):
    """The kit reading the public practice inputs, as a kernel does outside grading."""
    monkeypatch.delenv(VARIANT_ENV, raising=False)
    monkeypatch.delenv("FACTORYLAB_SEED", raising=False)


@pytest.fixture(params=[PRACTICE, GRADED], ids=["practice", "graded"])
def variant(request, monkeypatch):
    """A variant, and the kit reading its inputs as a graded kernel would (or the practice ones)."""
    if request.param is GRADED:
        monkeypatch.setenv(VARIANT_ENV, str(prepare_variant(GRADED)))
    else:
        request.getfixturevalue("practice_kit")
    return request.param


def evidence(grade_id: str, **artefacts) -> Evidence:
    """Artefacts as the grader decodes them (labkit.plaindata's round trip)."""
    return Evidence.recorded(grade_id, **artefacts)


def judge(grade_id: str, variant: Variant, **artefacts) -> None:
    verdicts.VERDICTS.cells[grade_id](evidence(grade_id, **artefacts), variant)


def select_evidence(f: dict) -> dict:
    from simulators.learner import load_dataset

    selected = f["select_targets"](load_dataset("normal", plant=kit.PLANT).readings, kit.probe("select_targets"),
                                   kit.probe("select_period"))
    return {"selected": kit.as_table(selected, kit.SELECT_COLUMNS)}


def clean_evidence(f: dict) -> dict:
    return {"clean": kit.as_table(f["clean_readings"](kit.probe("clean_selected"), kit.probe("clean_sources")),
                                  kit.CLEAN_COLUMNS)}


def export_evidence(f: dict) -> dict:
    return {"clean": kit.as_table(f["clean_readings"](kit.probe("export_selected"), kit.probe("export_sources")),
                                  kit.EXPORT_COLUMNS)}


def means_evidence(f: dict) -> dict:
    means = f["resample_means"](kit.probe("resample_clean"), kit.probe("resample_sources"),
                                kit.probe("resample_period"), bin_s=kit.probe("resample_bin_s"))
    return {"means": kit.as_table(means, kit.MEAN_COLUMNS)}


def transfer_evidence(broker_url: str, f: dict, learner: str | None = None) -> dict:
    learner = learner or kit.probe("transfer_learner")
    published = kit.collect_published(
        broker_url, f"sandbox/{kit.probe('transfer_learner')}/#",
        lambda: f["publish_means"](broker_url, kit.probe("transfer_means"), kit.probe("transfer_sources"), learner),
        quiet_s=0.3)
    return {"sent": published["result"], "messages": published["messages"], "retained": published["retained"]}


def messages_of(means: pd.DataFrame, sources: pd.DataFrame, learner: str) -> list:
    """What the brief asks to publish, as the grader's listener records it: [topic, payload, QoS]."""
    units = dict(zip(zip(sources["machine"], sources["sensor"], strict=True), sources["unit"], strict=True))
    return [[f"sandbox/{learner}/maintenance/{row.machine}/{row.sensor}",
             {"timestamp": row.bin_start.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "value": float(row.value_mean),
              "unit": units[(row.machine, row.sensor)]}, 1]
            for row in means.dropna(subset=["value_mean"]).itertuples()]


# --- the solution passes, on the practice variant and on a graded one ------------------------------------------

def test_the_solution_passes_every_function_verdict(variant, tmp_path):
    f = functions()
    judge("lab1_select_test", variant, **select_evidence(f))
    judge("lab1_clean_test", variant, **clean_evidence(f))
    judge("lab1_clean_export_test", variant, **export_evidence(f))
    judge("lab1_resample_test", variant, **means_evidence(f))
    metadata = [dict(row) for _, row in verdicts.plant_sources().reset_index().iterrows()]
    judge("lab1_locate_test", variant, metadata=metadata,
          located=kit.as_table(f["locate_sources"](metadata, kit.probe("locate_targets")), kit.SOURCE_COLUMNS))
    learner = kit.probe("transfer_learner")
    judge("lab1_transfer_test", variant, sent=int(kit.probe("transfer_means")["value_mean"].notna().sum()),
          retained=[], messages=messages_of(kit.probe("transfer_means"), kit.probe("transfer_sources"), learner))
    judge("lab1_archive_schema_test", variant, **kit.archive_schema_probe(f["archive_readings"], tmp_path))
    judge("lab1_archive_content_test", variant, **kit.archive_content_probe(f["archive_readings"], tmp_path))
    judge("lab1_archive_update_test", variant, **kit.archive_update_probe(f["archive_readings"], tmp_path))


def test_the_graded_inputs_differ_from_the_practice_ones_and_cover_the_real_data_properties():
    """Each variant's inputs hold what real data show: several sample periods, an export without seq whose clock
    steps back, evident defects of every removable kind, borderline intervals."""
    practice = verdicts.inputs(PRACTICE.seed)
    graded = verdicts.inputs(GRADED.seed)
    for name in ("select_targets", "select_period", "resample_period", "transfer_learner", "archive_split"):
        assert practice[name] != graded[name], name
    brief = {tuple(pair) for pair in verdicts.TARGETS}
    assert {tuple(pair) for pair in graded["clean_sources"][["machine", "sensor"]].to_numpy()} != brief
    for seed in (PRACTICE.seed, GRADED.seed):
        for labelled in (verdicts.labelled_gateway(seed), verdicts.labelled_export(seed)):
            evident = set(labelled.loc[labelled["evident"], "defect"])
            assert "spike" in evident, "each clean probe holds evident spikes (a stuck sensor when the run has one)"
            assert seed != PRACTICE.seed or evident == {"spike", "stuck"}, evident
        export = verdicts.labelled_export(seed)
        assert "seq" not in verdicts.given(seed, "export_selected").columns
        assert (export["expected_ts"] != export["timestamp"]).sum() > 100, "the export's clock steps back"
        assert export["collides"].sum() >= verdicts.MIN_COLLISIONS, "the step repeats time stamps of other samples"
        assert verdicts.given(seed, "resample_sources")["period_s"].nunique() == 3, "three sample periods"
        means = verdicts.expected_means(seed)
        fast = means[means["required"] == means["required"].max()]
        assert {fast["required"].iloc[0], fast["required"].iloc[0] - 1, 0} <= set(fast["n_samples"]), \
            "the resample probe has empty intervals and intervals of exactly the required count and one fewer"


def test_a_wrong_seed_answer_fails_on_the_graded_variant(practice_kit):
    """Evidence computed on the practice inputs does not pass for a graded variant (no shared answers)."""
    f = functions()
    with pytest.raises(VerdictFailed):
        judge("lab1_clean_test", GRADED, **clean_evidence(f))
    with pytest.raises(VerdictFailed):
        judge("lab1_resample_test", GRADED, **means_evidence(f))


# --- identify and locate --------------------------------------------------------------------------------------

def brief(targets=verdicts.TARGETS, period=verdicts.PERIOD) -> dict:
    return {"targets": [list(pair) for pair in targets], "period": [pd.Timestamp(t).isoformat() for t in period]}


def test_identify_accepts_the_brief_and_rejects_wrong_targets_or_period():
    judge("lab1_identify_test", PRACTICE, **brief(list(reversed(verdicts.TARGETS))))
    with pytest.raises(VerdictFailed, match=r"do not need: \[\('wash', 'power'\)\]"):
        judge("lab1_identify_test", PRACTICE, **brief([*verdicts.TARGETS, ("wash", "power")]))
    with pytest.raises(VerdictFailed, match="misses 1 signal") as failed:
        judge("lab1_identify_test", PRACTICE, **brief(verdicts.TARGETS[:2]))
    assert "vibration" not in str(failed.value), "the message must not name the missing signal"
    with pytest.raises(VerdictFailed, match="ends at another moment"):
        judge("lab1_identify_test", PRACTICE, **brief(period=(verdicts.PERIOD[0], pd.Timestamp("2026-01-05T14:00Z"))))
    with pytest.raises(VerdictFailed, match="timezone-aware"):
        judge("lab1_identify_test", PRACTICE,
              **brief(period=(pd.Timestamp("2026-01-05T06:00"), pd.Timestamp("2026-01-05T10:00"))))


def test_locate_rejects_partial_metadata_a_guessed_unit_and_a_function_ignoring_its_targets(practice_kit):
    f = functions()
    metadata = [dict(row) for _, row in verdicts.plant_sources().reset_index().iterrows()]
    located = f["locate_sources"](metadata, kit.probe("locate_targets"))
    with pytest.raises(VerdictFailed, match="lacks 10 of the plant's 20 sensors"):
        judge("lab1_locate_test", PRACTICE, metadata=metadata[:10], located=located)
    guessed = located.assign(unit="bar")
    with pytest.raises(VerdictFailed, match="unit is 'bar', not what its `_meta` topic says"):
        judge("lab1_locate_test", PRACTICE, metadata=metadata, located=guessed)
    brief_only = f["locate_sources"](metadata, verdicts.TARGETS)
    with pytest.raises(VerdictFailed, match=r"one row per .machine, sensor. of its `targets` argument"):
        judge("lab1_locate_test", PRACTICE, metadata=metadata, located=brief_only)
    with pytest.raises(VerdictFailed, match="must return a pandas DataFrame, got list"):
        judge("lab1_locate_test", PRACTICE, metadata=metadata, located=kit.as_table([1], kit.SOURCE_COLUMNS))


# --- filter ---------------------------------------------------------------------------------------------------

def test_select_rejects_dropped_duplicates_an_inclusive_end_and_changed_rows(practice_kit):
    deduplicating = functions(**{"return readings[wanted].reset_index(drop=True)":
                                 "return readings[wanted].drop_duplicates(['machine', 'sensor', 'seq'])"})
    with pytest.raises(VerdictFailed, match=r"drops messages .*select only"):
        judge("lab1_select_test", PRACTICE, **select_evidence(deduplicating))
    inclusive = functions(**{'(readings["timestamp"] < period[1])': '(readings["timestamp"] <= period[1])'})
    with pytest.raises(VerdictFailed, match=r"at or after the period's end.*\[start, end\)"):
        judge("lab1_select_test", PRACTICE, **select_evidence(inclusive))
    rounding = functions(**{"return readings[wanted].reset_index(drop=True)":
                            "return readings[wanted].assign(value=readings.value.round(0)).reset_index(drop=True)"})
    with pytest.raises(VerdictFailed, match="without changing them"):
        judge("lab1_select_test", PRACTICE, **select_evidence(rounding))


def test_clean_rejects_kept_spikes_without_naming_them(practice_kit):
    lax = functions(**{"SPIKE_JUMPS = 2.0": "SPIKE_JUMPS = 50.0"})
    with pytest.raises(VerdictFailed, match=r"keeps \d+ of the \d+ evident spikes .*ever jumps") as failed:
        judge("lab1_clean_test", PRACTICE, **clean_evidence(lax))
    assert "seq=" not in str(failed.value), "the ground truth's spikes must not be listed"


def test_clean_rejects_a_spike_threshold_in_units_of_the_span_that_deletes_real_single_readings(practice_kit):
    """A fixed 2 %-of-span spike threshold deletes the single readings of a slowly sampled machine cycle (a real
    event: inspect/power once a minute, a 40 s cycle) in any variant's input that holds such a signal."""
    fixed = functions(**{"SPIKE_JUMPS * usual)": "0 * usual)"})
    selected = kit.probe("clean_selected")
    inspect = kit.load_dataset("normal", plant=kit.PLANT).readings
    inspect = inspect[(inspect["machine"] == "inspect") & (inspect["sensor"] == "power")]
    with pytest.raises(VerdictFailed, match=r"standing alone between two readings of another level"):
        verdicts._judge_filter(*_filtered(fixed, pd.concat([selected, inspect]), "inspect", "power"),
                               "clean_readings (gateway recording)")


def _filtered(f: dict, selected: pd.DataFrame, machine: str, sensor: str) -> tuple[pd.DataFrame, pd.Series]:
    """What `verdicts._judge_filter` receives for the signal (machine, sensor) of `selected` cleaned by `f`."""
    from autograde.variants import truth_tables

    sources = verdicts.recorded_sources().reset_index()
    cleaned = f["clean_readings"](selected, sources)
    samples = verdicts._plain(selected).drop_duplicates(kit.KEY)
    samples = samples[(samples["machine"] == machine) & (samples["sensor"] == sensor)]
    truth = verdicts._plain(truth_tables("normal", PRACTICE.seed, kit.HOURS, tables=("readings_truth",),
                                         plant=kit.PLANT)["readings_truth"])
    labelled = verdicts.labels(samples, truth)
    kept = labelled[kit.KEY].merge(verdicts._plain(cleaned)[kit.KEY].assign(kept=True), on=kit.KEY, how="left")
    return labelled, kept["kept"].fillna(False).astype(bool)


def test_clean_rejects_a_stuck_rule_that_deletes_the_repeats_of_rounded_values(practice_kit):
    """The exact-repeat rule (diff() == 0) deletes 5 to 50 % of the readings of a signal stored rounded to its
    resolution, as historians store them."""
    exact = functions(**{"frame = frame[~(repeat & (length >= 1 + np.ceil(np.log(STUCK_CHANCE) / np.log(share))))]":
                         "frame = frame[~repeat]"})
    with pytest.raises(VerdictFailed, match=r"good readings equal to the reading before them: values are stored "
                                            r"rounded"):
        judge("lab1_clean_test", PRACTICE, **clean_evidence(exact))
    with pytest.raises(VerdictFailed, match=r"equal to the reading before them"):
        judge("lab1_clean_export_test", PRACTICE, **export_evidence(exact))


def test_clean_rejects_a_stuck_rule_that_keeps_frozen_runs(practice_kit):
    blind = functions(**{"STUCK_CHANCE = 1e-6": "STUCK_CHANCE = 1e-300"})
    with pytest.raises(VerdictFailed, match=r"evident stuck-sensor values"):
        judge("lab1_clean_test", PRACTICE, **clean_evidence(blind))


def test_clean_rejects_duplicates_disorder_smoothing_and_a_too_strict_filter(practice_kit):
    f = functions()
    clean = f["clean_readings"](kit.probe("clean_selected"), kit.probe("clean_sources"))
    with pytest.raises(VerdictFailed, match=r"sharing a .machine, sensor, seq. key"):
        judge("lab1_clean_test", PRACTICE, clean=pd.concat([clean, clean.head(3)])[list(kit.CLEAN_COLUMNS)])
    with pytest.raises(VerdictFailed, match=r"not in sample order.*late messages"):
        judge("lab1_clean_test", PRACTICE, clean=clean.iloc[::-1][list(kit.CLEAN_COLUMNS)])
    smoothed = clean.assign(value=clean.groupby(["machine", "sensor"])["value"].transform(
        lambda s: s.rolling(3, 1).mean()))
    with pytest.raises(VerdictFailed, match=r"changes .* reported values"):
        judge("lab1_clean_test", PRACTICE, clean=smoothed[list(kit.CLEAN_COLUMNS)])
    with pytest.raises(VerdictFailed, match=r"drops \d+ (of the \d+ )?good readings|drops \d+ of the \d+ late"):
        judge("lab1_clean_test", PRACTICE, clean=clean.drop(clean.index[::20])[list(kit.CLEAN_COLUMNS)])
    unsorted = functions(**{'.sort_values([*keys, "seq"], kind="stable")': ""})
    with pytest.raises(VerdictFailed, match="not in sample order"):
        judge("lab1_clean_test", PRACTICE, **clean_evidence(unsorted))


def test_clean_export_rejects_a_de_duplication_by_time_stamp_that_merges_the_clock_step(practice_kit):
    """After the historian's clock steps back one hour, an hour of time stamps comes twice with other samples:
    de-duplicating by (sensor, time stamp) merges some of them."""
    by_stamp = functions(**{'frame = frame.drop_duplicates([*keys, "timestamp", "value"])':
                            'frame = frame.drop_duplicates([*keys, "timestamp"])',
                            'fall = frame.groupby(keys)["timestamp"].diff()':
                            'frame = frame.drop_duplicates(["machine", "sensor", "timestamp"])\n'
                            '        fall = frame.groupby(keys)["timestamp"].diff()'})
    with pytest.raises(VerdictFailed, match=r"same time as another reading of their sensor but another value.*not "
                                            r"duplicates"):
        judge("lab1_clean_export_test", PRACTICE, **export_evidence(by_stamp))


def test_clean_export_rejects_an_uncorrected_clock_step_and_time_order_of_the_raw_stamps(practice_kit):
    uncorrected = functions(**{"fall < -CLOCK_STEP": "fall < -100 * CLOCK_STEP"})
    with pytest.raises(VerdictFailed, match=r"stamped with the historian's clock after it stepped back"):
        judge("lab1_clean_export_test", PRACTICE, **export_evidence(uncorrected))
    f = functions()
    clean = f["clean_readings"](kit.probe("export_selected"), kit.probe("export_sources"))
    shuffled = clean.sample(frac=1.0, random_state=1)
    with pytest.raises(VerdictFailed, match=r"not in sample order.*corrected time"):
        judge("lab1_clean_export_test", PRACTICE, clean=shuffled[list(kit.EXPORT_COLUMNS)])
    unrounded = functions(**{'.dt.round("15min")': ""})
    with pytest.raises(VerdictFailed, match=r"neither the exported one nor that one corrected by the clock's step"):
        judge("lab1_clean_export_test", PRACTICE, **export_evidence(unrounded))


def test_resample_rejects_a_per_minute_rule_of_30_readings_on_sensors_sampled_every_few_minutes(practice_kit):
    """QD-07's old rule (1-minute bins, 30 readings required) gives no value at all for a 5-minute sensor."""
    fixed = functions(**{"required = np.maximum(1, np.ceil(MIN_COVERAGE * bin_s / period_s))": "required = 30"})
    with pytest.raises(VerdictFailed, match=r"no value for \d+ intervals .* samples every 300 s; derive the "
                                            r"required count from each sensor's period_s"):
        judge("lab1_resample_test", PRACTICE, **means_evidence(fixed))


def test_resample_rejects_filled_gaps_missing_intervals_and_the_wrong_threshold(practice_kit):
    f = functions()
    means = f["resample_means"](kit.probe("resample_clean"), kit.probe("resample_sources"),
                                kit.probe("resample_period"), bin_s=kit.probe("resample_bin_s"))
    filled = means.assign(value_mean=means.groupby(["machine", "sensor"])["value_mean"].ffill())
    with pytest.raises(VerdictFailed, match="a gap stays a gap"):
        judge("lab1_resample_test", PRACTICE, means=filled)
    with pytest.raises(VerdictFailed, match=r"lacks .* rows of its period"):
        judge("lab1_resample_test", PRACTICE, means=means[means["n_samples"] > 0])
    strict = functions(**{'stats["n_samples"] >= required': 'stats["n_samples"] > required'})
    with pytest.raises(VerdictFailed, match=r"no value for \d+ intervals that hold at least half"):
        judge("lab1_resample_test", PRACTICE, **means_evidence(strict))
    with pytest.raises(VerdictFailed, match="not the mean of that interval"):
        judge("lab1_resample_test", PRACTICE, means=means.assign(value_mean=means["value_mean"] * 1.01 + 0.1))
    brief_interval = functions(**{"def resample_means(clean, sources, period, bin_s=BIN_S):":
                                  "def resample_means(clean, sources, period, bin_s=BIN_S):\n    bin_s = BIN_S"})
    if kit.probe("resample_bin_s") != 300.0:
        with pytest.raises(VerdictFailed, match=r"rows (outside|of its period)"):
            judge("lab1_resample_test", PRACTICE, **means_evidence(brief_interval))


# --- transfer -------------------------------------------------------------------------------------------------

def test_transfer_rejects_extra_topics_gaps_units_qos_retained_and_the_wrong_learner(practice_kit):
    means, sources, learner = (kit.probe("transfer_means"), kit.probe("transfer_sources"),
                                 kit.probe("transfer_learner"))
    right = messages_of(means, sources, learner)
    sent = len(right)
    judge("lab1_transfer_test", PRACTICE, messages=right, retained=[], sent=sent)

    def fails(pattern: str, messages=right, retained=(), count=sent) -> None:
        with pytest.raises(VerdictFailed, match=pattern):
            judge("lab1_transfer_test", PRACTICE, messages=messages, retained=list(retained), sent=count)

    stray = [f"sandbox/{learner}/maintenance/saw/power",
             {"timestamp": "2026-01-05T06:00:00.000Z", "value": 1.0, "unit": "kW"}, 1]
    fails("does not ask for", [*right, stray])
    gap = means[means["value_mean"].isna()].head(1).assign(value_mean=0.0)
    fails("intervals without a value", right + messages_of(gap, sources, learner))
    fails("no numeric value", right + [[t, {**p, "value": None}, q] for t, p, q in messages_of(gap, sources, learner)])
    fails("is not the sensor's", [[t, {**p, "unit": "W"}, q] for t, p, q in right])
    fails("QoS 1", [[t, p, 0] for t, p, _q in right])
    fails("do not retain", retained=[right[0][0]])
    fails("does not ask for", messages_of(means, sources, "someone-else"))
    fails("another moment", [[t, {**p, "timestamp": p["timestamp"].replace(":00.000Z", ":30.000Z")}, q]
                             for t, p, q in right])
    fails("were not received", right[1:], count=sent - 1)
    fails("number of messages", count=sent + 1)


def test_publish_means_through_a_broker(embedded_broker, practice_kit):
    """The kit's listener records what the solution publishes; a version ignoring its `learner` argument fails."""
    url = embedded_broker.url
    f = functions()
    judge("lab1_transfer_test", PRACTICE, **transfer_evidence(url, f))
    with pytest.raises(VerdictFailed, match="nothing arrived"):
        judge("lab1_transfer_test", PRACTICE, **transfer_evidence(url, f, learner="my-login"))


# --- archive --------------------------------------------------------------------------------------------------

def test_an_archive_without_a_primary_key_fails_schema_and_updates(practice_kit, tmp_path):
    keyless = functions(**{"        PRIMARY KEY (machine, sensor, ts_utc),\n": ""})["archive_readings"]
    with pytest.raises(VerdictFailed, match=r"primary key of readings is missing"):
        judge("lab1_archive_schema_test", PRACTICE, **kit.archive_schema_probe(keyless, tmp_path))
    with pytest.raises(VerdictFailed, match="exactly once"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(keyless, tmp_path))


def test_an_archive_keyed_by_seq_fails_its_schema(practice_kit, tmp_path):
    """The IT instruction keys a sample by its sensor and UTC time: a historian's export has no seq."""
    by_seq = functions(**{"PRIMARY KEY (machine, sensor, ts_utc)": "PRIMARY KEY (machine, sensor, value)"})
    with pytest.raises(VerdictFailed, match=r"primary key of readings is \('machine', 'sensor', 'value'\)"):
        judge("lab1_archive_schema_test", PRACTICE, **kit.archive_schema_probe(by_seq["archive_readings"], tmp_path))


def test_an_archive_without_time_index_or_retention_fails(practice_kit, tmp_path):
    unindexed = functions(**{"CREATE INDEX IF NOT EXISTS readings_ts ON readings (ts_utc);": ""})
    with pytest.raises(VerdictFailed, match=r"no index on readings\(ts_utc\)"):
        judge("lab1_archive_schema_test", PRACTICE, **kit.archive_schema_probe(unindexed["archive_readings"],
                                                                               tmp_path))
    forgetful = functions(**{"pd.Timedelta(hours=retention_hours)": "pd.Timedelta(hours=10_000)"})["archive_readings"]
    with pytest.raises(VerdictFailed, match="keeps readings older than retention_hours"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(forgetful, tmp_path))
    clocked = functions(**{"pd.Timestamp(newest) - pd.Timedelta": "pd.Timestamp.now(tz='UTC') - pd.Timedelta"})
    with pytest.raises(VerdictFailed, match=r"first load|younger"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(clocked["archive_readings"], tmp_path))


def test_a_retention_applied_after_inserting_churns_on_every_reload(practice_kit, tmp_path):
    """The previous instruction's archive: insert everything, then delete what is older than the retention. Its
    first load of a long history deletes most of what it adds, and every reload of older readings adds them
    again only to delete them."""
    churning = functions(**{"recent = (stamps >= cutoff).to_numpy()": "recent = (stamps == stamps).to_numpy()"})
    with pytest.raises(VerdictFailed, match=r"a reading older than the retention is not added"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(churning["archive_readings"],
                                                                               tmp_path))


def test_an_archive_with_timestamps_cut_to_the_second_or_local_time_fails(practice_kit, tmp_path):
    seconds = functions(**{'.str[:-3] + "Z"': '.str[:-7] + "Z"'})["archive_readings"]
    with pytest.raises(VerdictFailed, match="not ISO 8601 UTC with milliseconds"):
        judge("lab1_archive_content_test", PRACTICE, **kit.archive_content_probe(seconds, tmp_path))
    paris = functions(**{'tz_convert("UTC")': 'tz_convert("Europe/Paris")'})["archive_readings"]
    with pytest.raises(VerdictFailed, match="another time than the one given"):
        judge("lab1_archive_content_test", PRACTICE, **kit.archive_content_probe(paris, tmp_path))
    replacing = functions(**{"INSERT OR IGNORE INTO readings": "INSERT OR REPLACE INTO readings"})["archive_readings"]
    with pytest.raises(VerdictFailed, match=r"second, overlapping load does not report|change nothing"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(replacing, tmp_path))


def test_missing_evidence_or_a_non_table_fails_closed():
    with pytest.raises(VerdictFailed, match="did not record 'clean'"):
        verdicts.VERDICTS.cells["lab1_clean_test"](Evidence("lab1_clean_test", {}), PRACTICE)
    with pytest.raises(VerdictFailed, match="must return a pandas DataFrame, got NoneType"):
        judge("lab1_clean_test", PRACTICE, clean=kit.as_table(None, kit.CLEAN_COLUMNS))
    incomplete = pd.DataFrame({"machine": ["cnc"], "sensor": ["vibration"], "value_mean": [1.0],
                               "bin_start": [pd.Timestamp("2026-01-05T06:00Z")]})
    with pytest.raises(VerdictFailed, match=r"lacks the column\(s\) \['n_samples'\]"):
        judge("lab1_resample_test", PRACTICE, means=incomplete)


# --- the kit and the notebook ---------------------------------------------------------------------------------

def test_the_kit_holds_no_answer_and_imports_nothing_of_the_grader():
    text = KIT.read_text()
    assert "autograde" not in text
    assert "spindle_temperature" not in text and "10:00" not in text and "truth_tables" not in text
    assert verdicts.VERDICTS.cells.keys() == {cell.grade_id for cell in read_graded_cells(SOURCE)
                                              if cell.mode == "auto"}


def test_the_notebook_is_stored_clean_imports_no_grader_code_and_its_tags_cover_competence_1():
    nb = nbformat.read(SOURCE, as_version=4)
    nbformat.validate(nb)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in nb.cells if cell.cell_type == "code")
    assert all(set(cell.metadata) <= {"nbgrader", "factorylab"} for cell in nb.cells)
    assert not any("autograde" in cell.source or "SEED" in cell.source for cell in nb.cells if cell.cell_type == "code")
    assert validate_lab_tags([SOURCE], load_catalogue(), enforce_coverage=["ccpm_iiot:CCPM-C1"]) == []
    modes = {cell.grade_id: cell.mode for cell in read_graded_cells(SOURCE)}
    assert sum(mode == "auto" for mode in modes.values()) == 10 and sum(m == "manual" for m in modes.values()) == 5


# --- through the grader ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_through_the_grader_a_mistake_costs_only_its_own_cell(tmp_path):
    """The solution scores full marks for two learners (two secret variants); a wrong target signal costs only
    the identification, a historian de-duplicated by its raw time stamps only the export's cleaning, a per-minute
    rule of 30
    readings only the resampling, although each of these feeds the later parts of the learner's own pipeline."""
    graded = grade_variants(tmp_path / "course", LAB, {
        "ana": the_solution,
        "bob": the_solution,
        "wrong_target": solution_with("lab1_identify", '("saw", "vibration")', '("saw", "power")'),
        "by_stamp": solution_with("lab1_clean", 'fall = frame.groupby(keys)["timestamp"].diff()',
                                  'frame = frame.drop_duplicates([*keys, "timestamp"])\n'
                                  '        fall = frame.groupby(keys)["timestamp"].diff()'),
        "per_minute_30": solution_with("lab1_resample", "required = np.maximum(1, np.ceil(MIN_COVERAGE * bin_s / "
                                       "period_s))", "required = 30"),
    })
    graded.assert_full_marks_on_distinct_variants("ana", "bob")
    learners = ("ana", "bob", "wrong_target", "by_stamp", "per_minute_30")
    assert all(len(graded.auto_scores(learner)) == 10 for learner in learners)
    lost = {learner: graded.lost_points(learner) for learner in learners}
    assert lost == {"ana": {}, "bob": {}, "wrong_target": {"lab1_identify_test": 2},
                    "by_stamp": {"lab1_clean_export_test": 3}, "per_minute_30": {"lab1_resample_test": 2}}
