"""lab1_prepare_data: its checks accept the right answers and reject typical wrong ones with a useful message,
its source notebook's solutions pass them, also for a seed without bundled dataset, through the grader too
(tests/test_labs.py grades the solution and the blank release for the default seed)."""

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from lab_grading import grade_variants

from autograde.catalogue import load_catalogue
from autograde.checks import lab1_prepare_data as checks
from autograde.criteria_tags import read_graded_cells, validate_lab_tags
from simulators.plantfile import load_plant
from simulators.sensors import sensor_metadata

LAB = "lab1_prepare_data"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SEED = 7


def solution_cell(grade_id: str) -> str:
    """The source of one solution cell of the lab's source notebook."""
    nb = nbformat.read(SOURCE, as_version=4)
    return next(cell.source for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def run_cells(namespace: dict, *sources: str) -> dict:
    """Execute notebook code in `namespace` (with the imports the notebook's first cell makes)."""
    namespace.setdefault("pd", pd)
    namespace.setdefault("np", np)
    namespace.setdefault("sqlite3", __import__("sqlite3"))
    for source in sources:
        exec(compile(source, f"<{LAB}>", "exec"), namespace)
    return namespace


def solution_minutes(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The notebook's own select → clean → resample on the dataset of `seed`: (selected, clean, minutes)."""
    from simulators.learner import load_dataset

    namespace = run_cells({"data": load_dataset("normal", seed=seed), "TARGETS": list(checks.TARGETS),
                           "PERIOD": checks.PERIOD, "sources": checks.reference_sources()},
                          solution_cell("lab1_select"), solution_cell("lab1_clean"), solution_cell("lab1_resample"))
    return namespace["selected"], namespace["clean"], namespace["minutes"]


def archive_function(**replacements: str):
    """The notebook's `archive_readings`, optionally with parts of its source replaced (a typical mistake)."""
    source = solution_cell("lab1_archive")
    for old, new in replacements.items():
        assert old in source, old
        source = source.replace(old, new)
    return run_cells({}, source)["archive_readings"]


# --- identify and locate ---


def test_the_brief_answers_pass_and_wrong_targets_or_period_fail():
    checks.check_targets(list(checks.TARGETS), checks.PERIOD)
    with pytest.raises(AssertionError, match=r"do not need: \[\('wash', 'power'\)\]"):
        checks.check_targets([*checks.TARGETS, ("wash", "power")], checks.PERIOD)
    with pytest.raises(AssertionError, match="misses 1 signal"):
        checks.check_targets(checks.TARGETS[:2], checks.PERIOD)
    whole_shift = (checks.PERIOD[0], pd.Timestamp("2026-01-05T14:00Z"))
    with pytest.raises(AssertionError, match="another window"):
        checks.check_targets(checks.TARGETS, whole_shift)
    with pytest.raises(AssertionError, match="timezone-aware"):
        checks.check_targets(checks.TARGETS, (pd.Timestamp("2026-01-05T06:00"), pd.Timestamp("2026-01-05T10:00")))


def test_sources_must_copy_the_datasheet_and_metadata_must_cover_every_sensor():
    checks.check_sources(checks.reference_sources())
    guessed = checks.reference_sources()
    guessed.loc[guessed["sensor"] == "vibration", "unit"] = "mm/s²"
    with pytest.raises(AssertionError, match=r"saw/vibration: unit is 'mm/s²', but its `_meta` topic says 'mm/s'"):
        checks.check_sources(guessed)
    metadata = sensor_metadata(load_plant())
    checks.check_metadata(metadata)
    with pytest.raises(AssertionError, match="lacks 10 of the plant's 20 sensors"):
        checks.check_metadata(metadata[:10])


# --- filter ---


def test_the_notebook_solution_passes_the_filter_checks():
    selected, clean, minutes = solution_minutes(SEED)
    checks.check_selection(selected, SEED)
    checks.check_clean(clean, SEED)
    checks.check_minutes(minutes, SEED)
    assert minutes["value_mean"].isna().any(), "seed 7 has a gap minute, so the gap rule is really exercised"


def test_a_selection_that_already_drops_duplicates_fails():
    selected = checks.expected_selection(SEED)
    with pytest.raises(AssertionError, match="select only"):
        checks.check_selection(selected.drop_duplicates(checks.KEY), SEED)


def test_a_clean_table_keeping_spikes_fails():
    namespace = run_cells({"selected": checks.expected_selection(SEED), "sources": checks.reference_sources()},
                          solution_cell("lab1_clean").replace("SPIKE_FRACTION = 0.10", "SPIKE_FRACTION = 1.0"))
    with pytest.raises(AssertionError, match=r"keeps \d+ of the \d+ spikes .*median of its neighbours"):
        checks.check_clean(namespace["clean"], SEED)


def test_a_clean_table_keeping_duplicates_or_out_of_order_fails():
    clean = checks.reference_clean(SEED)
    with pytest.raises(AssertionError, match=r"sharing a .machine, sensor, seq. key"):
        checks.check_clean(pd.concat([clean, clean.head(3)]), SEED)
    with pytest.raises(AssertionError, match=r"not in sample order.*late messages"):
        checks.check_clean(clean.sort_values("timestamp"), SEED)


def test_a_clean_table_dropping_late_messages_or_too_strict_fails():
    labelled = checks._labelled(SEED)
    late = labelled.loc[labelled["defect"] == "late", checks.KEY]
    clean = checks.reference_clean(SEED)
    without_late = clean.merge(late, how="left", indicator=True).query("_merge == 'left_only'").drop(columns="_merge")
    with pytest.raises(AssertionError, match=r"late messages, e.g."):
        checks.check_clean(without_late, SEED)
    with pytest.raises(AssertionError, match=r"good readings .*too strict"):
        checks.check_clean(clean.drop(clean.index[::20]), SEED)


def test_a_clean_table_with_smoothed_values_fails():
    clean = checks.reference_clean(SEED)
    clean["value"] = clean.groupby(["machine", "sensor"])["value"].transform(lambda s: s.rolling(3, 1).mean())
    with pytest.raises(AssertionError, match=r"changes .* reported values"):
        checks.check_clean(clean, SEED)


def test_minutes_that_fill_gaps_or_skip_empty_minutes_fail():
    minutes = checks.reference_minutes(SEED)
    filled = minutes.assign(value_mean=minutes.groupby(["machine", "sensor"])["value_mean"].ffill())
    with pytest.raises(AssertionError, match="a gap stays a gap"):
        checks.check_minutes(filled, SEED)
    with pytest.raises(AssertionError, match="minutes without data included"):
        checks.check_minutes(minutes.dropna(subset=["value_mean"]), SEED)


# --- transfer ---


def published(minutes: pd.DataFrame, learner: str) -> list:
    units = checks.reference_sources().set_index(["machine", "sensor"])["unit"]
    return [(checks.sandbox_topic(learner, row.machine, row.sensor),
             {"timestamp": row.minute.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "value": float(row.value_mean),
              "unit": units[(row.machine, row.sensor)]})
            for row in minutes.dropna(subset=["value_mean"]).itertuples()]


def test_the_transfer_check_wants_every_target_minute_and_nothing_else():
    minutes = checks.reference_minutes(SEED)
    messages = published(minutes, "ana")
    checks.check_transfer(messages, "ana", SEED)
    raw = [("sandbox/ana/maintenance/saw/power", {"timestamp": "2026-01-05T06:00:00.000Z", "value": 1.0,
                                                  "unit": "kW"})]
    with pytest.raises(AssertionError, match="does not ask for"):
        checks.check_transfer(messages + raw, "ana", SEED)
    gap = minutes[minutes["value_mean"].isna()].head(1)
    with pytest.raises(AssertionError, match="send only the minutes that have a mean"):
        checks.check_transfer(messages + [(t, {**p, "value": None}) for t, p in published(
            gap.assign(value_mean=0.0), "ana")], "ana", SEED)
    wrong_unit = [(t, {**p, "unit": "W"}) if t.endswith("spindle_power") else (t, p) for t, p in messages]
    with pytest.raises(AssertionError, match="unit 'W', the sensor's metadata says 'kW'"):
        checks.check_transfer(wrong_unit, "ana", SEED)
    decoded = checks.decode_messages([(t, json.dumps(p).encode()) for t, p in messages])
    assert decoded == messages


# --- archive ---


def test_the_notebook_archive_passes_schema_content_and_update_checks(tmp_path):
    archive = archive_function()
    clean, sources = checks.reference_clean(SEED), checks.reference_sources()
    report = archive(tmp_path / "a.sqlite", clean, sources)
    assert report == {"added": len(clean), "deleted": 0, "integrity": "ok"}
    checks.check_archive_schema(tmp_path / "a.sqlite")
    checks.check_archive_content(tmp_path / "a.sqlite", SEED)
    checks.check_archive_updates(archive, tmp_path, SEED)


def test_an_archive_without_a_primary_key_duplicates_on_update(tmp_path):
    archive = archive_function(**{"    PRIMARY KEY (machine, sensor, seq),\n": ""})
    archive(tmp_path / "a.sqlite", checks.reference_clean(SEED).head(100), checks.reference_sources())
    with pytest.raises(AssertionError, match=r"primary key of readings is missing"):
        checks.check_archive_schema(tmp_path / "a.sqlite")
    with pytest.raises(AssertionError, match="skip the readings already archived"):
        checks.check_archive_updates(archive, tmp_path, SEED)


def test_an_archive_without_time_index_or_retention_fails(tmp_path):
    archive = archive_function(**{"CREATE INDEX IF NOT EXISTS readings_ts ON readings (ts_utc);": ""})
    archive(tmp_path / "a.sqlite", checks.reference_clean(SEED).head(100), checks.reference_sources())
    with pytest.raises(AssertionError, match=r"no index on readings\(ts_utc\)"):
        checks.check_archive_schema(tmp_path / "a.sqlite")
    forgetful = archive_function(**{"if newest is not None:": "if False:"})
    with pytest.raises(AssertionError, match="retention_hours=1"):
        checks.check_archive_updates(forgetful, tmp_path, SEED)


def test_an_archive_with_timestamps_cut_to_the_second_fails(tmp_path):
    archive = archive_function(**{'.str[:-3] + "Z"': '.str[:-7] + "Z"'})
    archive(tmp_path / "a.sqlite", checks.reference_clean(SEED), checks.reference_sources())
    with pytest.raises(AssertionError, match="not ISO 8601 UTC with milliseconds"):
        checks.check_archive_content(tmp_path / "a.sqlite", SEED)


# --- the notebook ---


def test_the_notebook_is_stored_clean_and_its_tags_cover_competence_1():
    nb = nbformat.read(SOURCE, as_version=4)
    nbformat.validate(nb)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in nb.cells if cell.cell_type == "code")
    assert all(set(cell.metadata) <= {"nbgrader", "factorylab"} for cell in nb.cells)
    assert validate_lab_tags([SOURCE], load_catalogue(), enforce_coverage=["ccpm_iiot:CCPM-C1"]) == []
    modes = {cell.grade_id: cell.mode for cell in read_graded_cells(SOURCE)}
    assert sum(mode == "auto" for mode in modes.values()) == 9 and sum(m == "manual" for m in modes.values()) == 5


def test_the_solution_works_for_a_seed_without_bundled_dataset():
    selected, clean, minutes = solution_minutes(11)
    checks.check_selection(selected, 11)
    checks.check_clean(clean, 11)
    checks.check_minutes(minutes, 11)


@pytest.mark.slow
def test_through_the_grader_the_solution_scores_full_marks_for_a_seed_without_bundled_dataset(tmp_path):
    """The learner's seed reaches the grader's kernel from the course's seeds.csv (test_labs.py grades seed 7)."""
    graded = grade_variants(tmp_path / "course", LAB, {"solver": lambda versions: versions.source},
                            seeds={"solver": 11})
    scores = graded.auto_scores("solver")
    assert len(scores) == 9
    assert all(maximum > 0 for _score, maximum in scores.values())
    assert {grade_id: score for grade_id, (score, maximum) in scores.items() if score != maximum} == {}
