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
                       .split("\n\nminutes = ")[0].split("\n\nsources = ")[0]
                       for grade_id in ("lab1_select", "lab1_clean", "lab1_resample", "lab1_transfer", "lab1_archive"))
    locate = solution_cell("lab1_locate")
    source += "\n" + locate[locate.index("def locate_sources"):locate.index("\n\nsources = ")]
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

    selected = f["select_targets"](load_dataset("normal").readings, kit.probe("select_targets"),
                                   kit.probe("select_period"))
    return {"selected": kit.as_table(selected, kit.SELECT_COLUMNS)}


def clean_evidence(f: dict) -> dict:
    return {"clean": kit.as_table(f["clean_readings"](kit.probe("clean_selected"), kit.probe("clean_sources")),
                                  kit.CLEAN_COLUMNS)}


def minutes_evidence(f: dict) -> dict:
    minutes = f["resample_minutes"](kit.probe("resample_clean"), kit.probe("resample_targets"),
                                    kit.probe("resample_period"))
    return {"minutes": kit.as_table(minutes, kit.MINUTE_COLUMNS)}


def transfer_evidence(broker_url: str, f: dict, learner: str | None = None) -> dict:
    learner = learner or kit.probe("transfer_learner")
    published = kit.collect_published(
        broker_url, f"sandbox/{kit.probe('transfer_learner')}/#",
        lambda: f["publish_minutes"](broker_url, kit.probe("transfer_minutes"), kit.probe("transfer_sources"),
                                     learner), quiet_s=0.3)
    return {"sent": published["result"], "messages": published["messages"], "retained": published["retained"]}


def messages_of(minutes: pd.DataFrame, sources: pd.DataFrame, learner: str) -> list:
    """What the brief asks to publish, as the grader's listener records it: [topic, payload, QoS]."""
    units = dict(zip(zip(sources["machine"], sources["sensor"], strict=True), sources["unit"], strict=True))
    return [[f"sandbox/{learner}/maintenance/{row.machine}/{row.sensor}",
             {"timestamp": row.minute.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "value": float(row.value_mean),
              "unit": units[(row.machine, row.sensor)]}, 1]
            for row in minutes.dropna(subset=["value_mean"]).itertuples()]


# --- the solution passes, on the practice variant and on a graded one ------------------------------------------

def test_the_solution_passes_every_function_verdict(variant, tmp_path):
    f = functions()
    judge("lab1_select_test", variant, **select_evidence(f))
    judge("lab1_clean_test", variant, **clean_evidence(f))
    judge("lab1_resample_test", variant, **minutes_evidence(f))
    metadata = [dict(row) for _, row in verdicts.plant_sources().reset_index().iterrows()]
    judge("lab1_locate_test", variant, metadata=metadata,
          located=kit.as_table(f["locate_sources"](metadata, kit.probe("locate_targets")), kit.SOURCE_COLUMNS))
    learner = kit.probe("transfer_learner")
    judge("lab1_transfer_test", variant, sent=int(kit.probe("transfer_minutes")["value_mean"].notna().sum()),
          retained=[], messages=messages_of(kit.probe("transfer_minutes"), kit.probe("transfer_sources"), learner))
    judge("lab1_archive_schema_test", variant, **kit.archive_schema_probe(f["archive_readings"], tmp_path))
    judge("lab1_archive_content_test", variant, **kit.archive_content_probe(f["archive_readings"], tmp_path))
    judge("lab1_archive_update_test", variant, **kit.archive_update_probe(f["archive_readings"], tmp_path))


def test_the_graded_inputs_differ_from_the_practice_ones_and_from_the_brief():
    practice = verdicts.inputs(PRACTICE.seed)
    graded = verdicts.inputs(GRADED.seed)
    for name in ("select_targets", "select_period", "resample_period", "transfer_learner", "archive_split"):
        assert practice[name] != graded[name], name
    brief = {tuple(pair) for pair in verdicts.TARGETS}
    assert {tuple(pair) for pair in graded["clean_sources"][["machine", "sensor"]].to_numpy()} != brief
    clean_input = verdicts._labelled_clean_input(GRADED.seed)
    assert set(verdicts.REMOVE_DEFECTS) <= set(clean_input["defect"]), "the clean probe holds every removable defect"
    minutes = verdicts.expected_minutes(GRADED.seed)
    assert set(minutes["n_samples"]) >= {0, 29, 30}, "the resample probe has empty and borderline minutes"


def test_a_wrong_seed_answer_fails_on_the_graded_variant(practice_kit):
    """Evidence computed on the practice inputs does not pass for a graded variant (no shared answers)."""
    f = functions()
    with pytest.raises(VerdictFailed):
        judge("lab1_clean_test", GRADED, **clean_evidence(f))
    with pytest.raises(VerdictFailed):
        judge("lab1_resample_test", GRADED, **minutes_evidence(f))


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
                            "return readings[wanted].assign(value=readings.value.round(1)).reset_index(drop=True)"})
    with pytest.raises(VerdictFailed, match="without changing them"):
        judge("lab1_select_test", PRACTICE, **select_evidence(rounding))


def test_clean_rejects_kept_spikes_without_naming_them(practice_kit):
    lax = functions(**{"SPIKE_FRACTION = 0.10": "SPIKE_FRACTION = 1.0"})
    with pytest.raises(VerdictFailed, match=r"keeps \d+ of the \d+ spikes .*median of its neighbours") as failed:
        judge("lab1_clean_test", PRACTICE, **clean_evidence(lax))
    assert "seq=" not in str(failed.value), "the ground truth's spikes must not be listed"


def test_clean_rejects_a_threshold_tuned_in_units_of_one_signal(practice_kit):
    """A spike threshold of 5 units, tuned on the spindle's temperature (span 120 °C), misses the spikes of a
    signal of a small span, although most spikes of all the signals together are removed."""
    absolute = functions(**{"<= SPIKE_FRACTION * span]": "<= 5.0]"})
    with pytest.raises(VerdictFailed, match=r"keeps .*spikes .*in units of the sensor.s span"):
        judge("lab1_clean_test", PRACTICE, **clean_evidence(absolute))


def test_clean_rejects_duplicates_disorder_smoothing_and_a_too_strict_filter(practice_kit):
    f = functions()
    clean = f["clean_readings"](kit.probe("clean_selected"), kit.probe("clean_sources"))
    with pytest.raises(VerdictFailed, match=r"sharing a .machine, sensor, seq. key"):
        judge("lab1_clean_test", PRACTICE, clean=pd.concat([clean, clean.head(3)])[list(kit.CLEAN_COLUMNS)])
    with pytest.raises(VerdictFailed, match=r"not in sample order.*late messages"):
        judge("lab1_clean_test", PRACTICE, clean=clean.sort_values("timestamp")[list(kit.CLEAN_COLUMNS)])
    smoothed = clean.assign(value=clean.groupby(["machine", "sensor"])["value"].transform(
        lambda s: s.rolling(3, 1).mean()))
    with pytest.raises(VerdictFailed, match=r"changes .* reported values"):
        judge("lab1_clean_test", PRACTICE, clean=smoothed[list(kit.CLEAN_COLUMNS)])
    with pytest.raises(VerdictFailed, match=r"drops \d+ of the \d+ (good readings|late messages)"):
        judge("lab1_clean_test", PRACTICE, clean=clean.drop(clean.index[::20])[list(kit.CLEAN_COLUMNS)])
    unsorted = functions(**{'.sort_values([*keys, "seq"])': ""})
    with pytest.raises(VerdictFailed, match="not in sample order"):
        judge("lab1_clean_test", PRACTICE, **clean_evidence(unsorted))


def test_resample_rejects_filled_gaps_missing_minutes_and_the_wrong_threshold(practice_kit):
    f = functions()
    minutes = f["resample_minutes"](kit.probe("resample_clean"), kit.probe("resample_targets"),
                                    kit.probe("resample_period"))
    filled = minutes.assign(value_mean=minutes.groupby(["machine", "sensor"])["value_mean"].ffill())
    with pytest.raises(VerdictFailed, match="a gap stays a gap"):
        judge("lab1_resample_test", PRACTICE, minutes=filled)
    with pytest.raises(VerdictFailed, match=r"lacks .* rows of its period"):
        judge("lab1_resample_test", PRACTICE, minutes=minutes[minutes["n_samples"] > 0])
    strict = functions(**{'stats["n_samples"] >= MIN_SAMPLES_PER_MINUTE':
                          'stats["n_samples"] > MIN_SAMPLES_PER_MINUTE'})
    with pytest.raises(VerdictFailed, match="no value for 1 minutes that hold at least 30"):
        judge("lab1_resample_test", PRACTICE, **minutes_evidence(strict))
    with pytest.raises(VerdictFailed, match="not the mean of that minute"):
        judge("lab1_resample_test", PRACTICE, minutes=minutes.assign(value_mean=minutes["value_mean"] * 1.01 + 0.1))


# --- transfer -------------------------------------------------------------------------------------------------

def test_transfer_rejects_extra_topics_gaps_units_qos_retained_and_the_wrong_learner(practice_kit):
    minutes, sources, learner = (kit.probe("transfer_minutes"), kit.probe("transfer_sources"),
                                 kit.probe("transfer_learner"))
    right = messages_of(minutes, sources, learner)
    sent = len(right)
    judge("lab1_transfer_test", PRACTICE, messages=right, retained=[], sent=sent)

    def fails(pattern: str, messages=right, retained=(), count=sent) -> None:
        with pytest.raises(VerdictFailed, match=pattern):
            judge("lab1_transfer_test", PRACTICE, messages=messages, retained=list(retained), sent=count)

    stray = [f"sandbox/{learner}/maintenance/saw/power",
             {"timestamp": "2026-01-05T06:00:00.000Z", "value": 1.0, "unit": "kW"}, 1]
    fails("does not ask for", [*right, stray])
    gap = minutes[minutes["value_mean"].isna()].head(1).assign(value_mean=0.0)
    fails("minutes without a value", right + messages_of(gap, sources, learner))
    fails("no numeric value", right + [[t, {**p, "value": None}, q] for t, p, q in messages_of(gap, sources, learner)])
    fails("is not the sensor's", [[t, {**p, "unit": "W"}, q] for t, p, q in right])
    fails("QoS 1", [[t, p, 0] for t, p, _q in right])
    fails("do not retain", retained=[right[0][0]])
    fails("does not ask for", messages_of(minutes, sources, "someone-else"))
    fails("another moment", [[t, {**p, "timestamp": p["timestamp"].replace(":00.000Z", ":30.000Z")}, q]
                             for t, p, q in right])
    fails("were not received", right[1:], count=sent - 1)
    fails("number of messages", count=sent + 1)


def test_publish_minutes_through_a_broker(embedded_broker, practice_kit):
    """The kit's listener records what the solution publishes; a version ignoring its `learner` argument fails."""
    url = embedded_broker.url
    f = functions()
    judge("lab1_transfer_test", PRACTICE, **transfer_evidence(url, f))
    with pytest.raises(VerdictFailed, match="nothing arrived"):
        judge("lab1_transfer_test", PRACTICE, **transfer_evidence(url, f, learner="my-login"))


# --- archive --------------------------------------------------------------------------------------------------

def test_an_archive_without_a_primary_key_fails_schema_and_updates(practice_kit, tmp_path):
    keyless = functions(**{"    PRIMARY KEY (machine, sensor, seq),\n": ""})["archive_readings"]
    with pytest.raises(VerdictFailed, match=r"primary key of readings is missing"):
        judge("lab1_archive_schema_test", PRACTICE, **kit.archive_schema_probe(keyless, tmp_path))
    with pytest.raises(VerdictFailed, match="skip the readings already archived"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(keyless, tmp_path))


def test_an_archive_without_time_index_or_retention_fails(practice_kit, tmp_path):
    unindexed = functions(**{"CREATE INDEX IF NOT EXISTS readings_ts ON readings (ts_utc);": ""})
    with pytest.raises(VerdictFailed, match=r"no index on readings\(ts_utc\)"):
        judge("lab1_archive_schema_test", PRACTICE, **kit.archive_schema_probe(unindexed["archive_readings"],
                                                                               tmp_path))
    forgetful = functions(**{"if newest is not None:": "if False:"})["archive_readings"]
    with pytest.raises(VerdictFailed, match="kept readings older than retention_hours"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(forgetful, tmp_path))
    clocked = functions(**{"pd.Timestamp(newest) - pd.Timedelta": "pd.Timestamp.now(tz='UTC') - pd.Timedelta"})
    with pytest.raises(VerdictFailed, match=r"first load|deleted readings younger"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(clocked["archive_readings"], tmp_path))


def test_an_archive_with_timestamps_cut_to_the_second_or_local_time_fails(practice_kit, tmp_path):
    seconds = functions(**{'.str[:-3] + "Z"': '.str[:-7] + "Z"'})["archive_readings"]
    with pytest.raises(VerdictFailed, match="not ISO 8601 UTC with milliseconds"):
        judge("lab1_archive_content_test", PRACTICE, **kit.archive_content_probe(seconds, tmp_path))
    paris = functions(**{'tz_convert("UTC")': 'tz_convert("Europe/Paris")'})["archive_readings"]
    with pytest.raises(VerdictFailed, match="another time than the sensor reported"):
        judge("lab1_archive_content_test", PRACTICE, **kit.archive_content_probe(paris, tmp_path))
    insert_only = functions(**{"INSERT OR IGNORE INTO readings": "INSERT OR REPLACE INTO readings"})["archive_readings"]
    with pytest.raises(VerdictFailed, match="second, overlapping load does not report"):
        judge("lab1_archive_update_test", PRACTICE, **kit.archive_update_probe(insert_only, tmp_path))


def test_missing_evidence_or_a_non_table_fails_closed():
    with pytest.raises(VerdictFailed, match="did not record 'clean'"):
        verdicts.VERDICTS.cells["lab1_clean_test"](Evidence("lab1_clean_test", {}), PRACTICE)
    with pytest.raises(VerdictFailed, match="must return a pandas DataFrame, got NoneType"):
        judge("lab1_clean_test", PRACTICE, clean=kit.as_table(None, kit.CLEAN_COLUMNS))
    incomplete = pd.DataFrame({"machine": ["cnc"], "sensor": ["vibration"], "value_mean": [1.0],
                               "minute": [pd.Timestamp("2026-01-05T06:00Z")]})
    with pytest.raises(VerdictFailed, match=r"lacks the column\(s\) \['n_samples'\]"):
        judge("lab1_resample_test", PRACTICE, minutes=incomplete)


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
    assert sum(mode == "auto" for mode in modes.values()) == 9 and sum(m == "manual" for m in modes.values()) == 5


# --- through the grader ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_through_the_grader_a_mistake_costs_only_its_own_cell(tmp_path):
    """The solution scores full marks for two learners (two secret variants); a wrong target signal costs only
    the identification, a selection that drops duplicates only the selection, a lax spike filter only the
    cleaning, although each of these feeds the later parts of the learner's own pipeline."""
    graded = grade_variants(tmp_path / "course", LAB, {
        "ana": the_solution,
        "bob": the_solution,
        "wrong_target": solution_with("lab1_identify", '("saw", "vibration")', '("saw", "power")'),
        "deduplicating": solution_with("lab1_select", "return readings[wanted].reset_index(drop=True)",
                                       "return readings[wanted].drop_duplicates(['machine', 'sensor', 'seq'])"),
        "lax_spikes": solution_with("lab1_clean", "SPIKE_FRACTION = 0.10", "SPIKE_FRACTION = 1.0"),
    })
    graded.assert_full_marks_on_distinct_variants("ana", "bob")
    learners = ("ana", "bob", "wrong_target", "deduplicating", "lax_spikes")
    assert all(len(graded.auto_scores(learner)) == 9 for learner in learners)
    lost = {learner: graded.lost_points(learner) for learner in learners}
    assert lost == {"ana": {}, "bob": {}, "wrong_target": {"lab1_identify_test": 2},
                    "deduplicating": {"lab1_select_test": 2}, "lax_spikes": {"lab1_clean_test": 4}}

