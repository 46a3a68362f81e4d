"""Recorded datasets: every file with its card and checksums, byte-identical per seed, written atomically."""

import hashlib
import json

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from simulators import dataset as dataset_module
from simulators.dataset import is_dataset, write_dataset
from simulators.errors import DatasetError
from simulators.imperfections import DEFECTS
from simulators.plantfile import load_plant

PLANT = load_plant()
TABLES = ("readings", "readings_truth", "events", "states", "setpoints", "faults", "sensors")


def write(out, seed=5, scenario="cooling_failure", hours=3.0, fmt="parquet"):
    return write_dataset(plant=PLANT, scenario=scenario, seed=seed, hours=hours, out_dir=out, fmt=fmt)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return write(tmp_path_factory.mktemp("a") / "ds")


def test_every_file_is_written_with_a_manifest_of_checksums(recorded):
    names = {path.name for path in recorded.iterdir()}
    assert names == {f"{t}.parquet" for t in TABLES} | {"DATACARD.md", "manifest.json"}
    manifest = json.loads((recorded / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((recorded / name).read_bytes()).hexdigest() == digest
    assert (manifest["scenario"], manifest["seed"], manifest["hours"]) == ("cooling_failure", 5, 3.0)
    assert is_dataset(recorded)


def test_the_data_card_gives_the_command_that_regenerates_it(recorded):
    card = (recorded / "DATACARD.md").read_text()
    assert "factorylab plant dataset --scenario cooling_failure --seed 5 --hours 3 --out ds --format parquet" in card
    for table in TABLES:
        assert f"`{table}.parquet`" in card
    assert "true_value" in card and "network_outage" in card


def test_readings_and_truth_agree_and_carry_location_units_and_labels(recorded):
    readings = pq.read_table(recorded / "readings.parquet").to_pandas()
    truth = pq.read_table(recorded / "readings_truth.parquet").to_pandas()
    assert list(readings.columns) == ["timestamp", "seq", "site", "area", "line", "machine", "sensor", "value",
                                      "unit", "quality"]
    assert list(truth.columns) == ["timestamp", "seq", "machine", "sensor", "true_value", "defect"]
    sensors = sum(len(s.sensors) for s in PLANT.stations.values())
    assert len(truth) == sensors * 3 * 3600
    assert set(truth["defect"].astype(str)) <= set(DEFECTS)
    assert str(readings["timestamp"].dt.tz) == "UTC"
    first_sample = pd.Timestamp(PLANT.start)
    assert first_sample - pd.Timedelta(seconds=10) <= readings["timestamp"].min() < first_sample + pd.Timedelta(
        seconds=10)
    lost = truth["defect"].isin(["dropout", "gap", "network_outage"]).sum()
    doubled = (truth["defect"] == "duplicate").sum()
    assert len(readings) == len(truth) - lost + doubled
    assert set(readings["unit"].astype(str)) == {s.unit for st in PLANT.stations.values() for s in st.sensors}
    assert set(readings["site"].astype(str)) == {PLANT.location.site}


def test_the_fault_table_holds_the_scenarios_ground_truth(recorded):
    faults = pq.read_table(recorded / "faults.parquet").to_pylist()
    assert len(faults) == 1
    fault = faults[0]
    assert (fault["fault_id"], fault["kind"], fault["machine"], fault["sensors"]) == (
        "cnc-cooling", "cooling_failure", "cnc", "spindle_temperature,coolant_pressure")
    assert 3600.0 <= fault["start_s"] < fault["end_s"]
    assert fault["description"]
    # which signals move and which way, and what the fault does to the line
    assert fault["signature"] == "spindle_temperature:up,coolant_pressure:down"
    assert (fault["speed_factor"], fault["scrap_rate"]) == (0.85, 0.03)
    assert fault["repair_end_s"] == pytest.approx(fault["end_s"] + 1800)
    assert fault["line_effect"] == "speed x0.85; scrap +3.0%; down 0.5 h for repair after the fault (cooling_failure)"
    states = pq.read_table(recorded / "states.parquet").to_pandas()
    repair = states[(states.machine == "cnc") & (states.reason == "cooling_failure")]
    assert len(repair) <= 1 and (repair.empty or repair.t_s.iloc[0] == pytest.approx(fault["end_s"]))


def test_the_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path, recorded):
    again = write(tmp_path / "b" / "ds")
    other = write(tmp_path / "c" / "ds", seed=6)
    for path in recorded.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    assert (other / "readings.parquet").read_bytes() != (recorded / "readings.parquet").read_bytes()


def test_csv_datasets_are_byte_identical_too_and_readable(tmp_path):
    first = write(tmp_path / "a" / "ds", hours=0.5, fmt="csv", scenario="normal")
    second = write(tmp_path / "b" / "ds", hours=0.5, fmt="csv", scenario="normal")
    for path in first.iterdir():
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name
    readings = pacsv.read_csv(first / "readings.csv")
    assert readings.num_rows > 0 and readings.column_names[0] == "timestamp"


def test_a_non_empty_directory_that_is_not_a_dataset_is_refused(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(DatasetError, match=r"notes: not empty and not a factorylab dataset"):
        write(out, hours=0.1)
    assert (out / "thesis.docx").read_text() == "precious"


def test_a_previous_dataset_is_replaced(tmp_path):
    out = write(tmp_path / "ds", hours=0.1, scenario="normal")
    write(out, hours=0.2, scenario="normal")
    assert json.loads((out / "manifest.json").read_text())["hours"] == 0.2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_crash_leaves_neither_half_a_dataset_nor_a_temporary_folder(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dataset_module, "_write_card", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        write(tmp_path / "ds", hours=0.1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"fmt": "xlsx"}, r"format: must be one of parquet, csv"), ({"hours": 0}, r"hours: must be a number")],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(DatasetError, match=message):
        write_dataset(**{"plant": PLANT, "seed": 1, "hours": 1.0, "out_dir": tmp_path / "ds", **kwargs})
