"""The bundled datasets are exactly what their data cards' commands produce today."""

import json
from pathlib import Path

import pytest

from simulators.dataset import write_dataset
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
BUNDLED = sorted(path.parent for path in DATASETS.glob("*/manifest.json"))
TOTAL_LIMIT_BYTES = 20 * 1024 * 1024


def test_there_are_bundled_datasets_and_they_stay_small():
    assert len(BUNDLED) >= 2
    total = sum(path.stat().st_size for path in DATASETS.rglob("*") if path.is_file())
    assert total < TOTAL_LIMIT_BYTES, f"datasets/ holds {total / 2**20:.1f} MiB; keep it under 20 MiB"


@pytest.mark.parametrize("folder", BUNDLED, ids=[path.name for path in BUNDLED])
def test_regenerating_a_bundled_dataset_gives_the_same_bytes(folder, tmp_path):
    manifest = json.loads((folder / "manifest.json").read_text())
    plant = load_plant()
    assert manifest["plant"] == plant.name, "bundled datasets are recorded on the default plant"
    out = write_dataset(plant=plant, scenario=load_scenario(manifest["scenario"], plant), seed=manifest["seed"],
                        hours=manifest["hours"], out_dir=tmp_path / folder.name, fmt=manifest["format"])
    regenerated = json.loads((out / "manifest.json").read_text())
    assert regenerated["files"] == manifest["files"], f"{folder.name} is stale: run `make datasets`"
