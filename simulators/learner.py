"""What a lab notebook asks of the plant: its learner's seed, a recorded dataset, a live plant to connect to.

A lab works the same on a learner's laptop, under `factorylab lab`, and in the grader's sandbox because
everything it needs from outside comes through three environment variables:

- `FACTORYLAB_SEED` — the practice variant a learner works on at home: `factorylab lab --seed N` sets it for
  the kernels it starts. Unset, labs use `DEFAULT_SEED` (the seed of the bundled datasets).
- `FACTORYLAB_VARIANT` — set by the grader alone: the read-only folder of the learner's *graded* variant
  (autograde/variants.py), derived from the course's secret. Its `datasets/` hold the observed tables of the
  learner's plant, and nothing else: no seed, no truth. When it is set, `load_dataset` reads there and nowhere
  else, so a graded notebook cannot fall back on a public dataset whose truth is known.
- `FACTORYLAB_BROKER` — the MQTT broker a live plant already streams to (set by `factorylab lab`, which runs
  that plant). Unset, a lab that needs live data starts the plant itself on an embedded broker
  (`start_plant`), as it does in the grader's sandbox.

Datasets come from `datasets/` when the bundled one matches, else they are generated (deterministically,
in about a second for a shift) into a cache folder, `FACTORYLAB_CACHE` or the system's temporary directory.
Only what a subscriber would observe is handed to learners: readings, events, states, setpoints and sensor
metadata, never the ground truth (`readings_truth`, `faults`), which only the grader reads
(autograde/variants.py).
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulators.dataset import is_dataset, write_dataset
from simulators.errors import SimulatorError
from simulators.live import LivePlant
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario
from simulators.seeding import DEFAULT_SEED, SEED_ENV, graded_variant_dir
from simulators.topics import line_topic

BROKER_ENV = "FACTORYLAB_BROKER"
CACHE_ENV = "FACTORYLAB_CACHE"
BUNDLED = Path(__file__).resolve().parents[1] / "datasets"
OBSERVED_TABLES = ("readings", "events", "states", "setpoints", "sensors")
TRUTH_TABLES = ("readings_truth", "faults")


@dataclass(frozen=True)
class Dataset:
    """The observed tables of one recorded run, as pandas DataFrames, and where they were read from."""

    folder: Path
    readings: pd.DataFrame
    events: pd.DataFrame
    states: pd.DataFrame
    setpoints: pd.DataFrame
    sensors: pd.DataFrame


def learner_seed() -> int:
    """This learner's seed: `FACTORYLAB_SEED` if set, else `DEFAULT_SEED`."""
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return DEFAULT_SEED
    if not raw.isdigit():
        raise SimulatorError(f"{SEED_ENV}: must be a non-negative integer, got {raw!r}; unset it to use {DEFAULT_SEED}")
    return int(raw)


def variant_dataset_name(scenario: str, hours: float, plant: str = "default") -> str:
    """The folder name of a graded variant's dataset (no seed in it: the learner must not learn theirs)."""
    return f"{_line_name(plant)}_{scenario}_{hours:g}h"


def _line_name(plant: str) -> str:
    """How a dataset's folder names its bundled plant: line1 for the default one, line1-<name> for another."""
    return "line1" if plant == "default" else f"line1-{plant}"


def dataset_folder(scenario: str = "normal", *, seed: int | None = None, hours: float = 8.0,
                   plant: str = "default") -> Path:
    """The folder of the dataset for (scenario, seed, hours) of the bundled `plant` ("default", "realistic"):
    the graded variant's while grading, else bundled if it exists, else generated once."""
    variant = graded_variant_dir()
    if variant is not None and seed is None:
        folder = variant / "datasets" / variant_dataset_name(scenario, hours, plant)
        if not all((folder / f"{table}.parquet").is_file() for table in OBSERVED_TABLES):
            raise SimulatorError(f"{folder}: the graded variant has no {scenario!r} dataset of {hours:g} h; "
                                 "this lab reads only the datasets its grader prepares")
        return folder
    seed = learner_seed() if seed is None else seed
    name = f"{_line_name(plant)}_{scenario}_seed{seed}_{hours:g}h"
    bundled = BUNDLED / name
    if is_dataset(bundled):
        return bundled
    cache = Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "factorylab-datasets") / name
    if not is_dataset(cache):
        bundled_plant = load_plant(plant)
        write_dataset(plant=bundled_plant, scenario=load_scenario(scenario, bundled_plant), seed=seed, hours=hours,
                      out_dir=cache)
    return cache


def load_dataset(scenario: str = "normal", *, seed: int | None = None, hours: float = 8.0,
                 plant: str = "default") -> Dataset:
    """The observed tables of a bundled plant's run (the default one unless named) under `scenario` for this
    learner's seed."""
    folder = dataset_folder(scenario, seed=seed, hours=hours, plant=plant)
    return Dataset(folder, **{table: _read(folder, table) for table in OBSERVED_TABLES})


@dataclass(frozen=True)
class RunningPlant:
    """A live plant someone else runs (`factorylab lab`): where it streams, and a `stop()` that leaves it be."""

    broker_url: str
    prefix: str

    def stop(self) -> None:
        """The plant belongs to `factorylab lab`, which stops it when JupyterLab ends."""


def start_plant(*, scenario: str = "normal", seed: int | None = None, speed: float = 60.0, opcua=False,
                sparkplug=False, clock: str = "sim", plant: str = "default") -> LivePlant | RunningPlant:
    """The live plant to connect to: `.broker_url`, `.prefix` (its topic root) and `.stop()`.

    Under `factorylab lab` (`FACTORYLAB_BROKER` set) that is the plant already streaming there; starting a
    second one would publish every topic twice. Otherwise a plant starts in the background on an embedded
    broker, with this notebook's scenario, seed and speed.

    `opcua=True` also serves it over OPC UA on a free port (`.opcua.endpoint`, ``opc.tcp://127.0.0.1:…``; an
    `opcua_server.OpcUaConfig` chooses port, accounts, security); `sparkplug=True` also publishes it as a
    Sparkplug B edge node (`.sparkplug.topic("NBIRTH")`…); `clock="wall"` stamps messages with the time now;
    `plant="realistic"` runs another bundled plant file (or a plant file's path) than the default line, the one
    `factorylab lab` streams. These need a plant of this notebook's own, so with any of them a plant starts here
    even under `factorylab lab`, on its own embedded broker.
    """
    line = load_plant(None if plant == "default" else plant)
    own_plant = bool(opcua) or bool(sparkplug) or clock != "sim" or plant != "default"
    if os.environ.get(BROKER_ENV) and not own_plant:
        location = line.location
        return RunningPlant(os.environ[BROKER_ENV], line_topic(location.site, location.area, location.line))
    if opcua is True:
        from simulators.opcua_server import OpcUaConfig

        opcua = OpcUaConfig(port=0)
    live = LivePlant(plant=line, scenario=load_scenario(scenario, line),
                     seed=learner_seed() if seed is None else seed, speed=speed, opcua=opcua or None,
                     sparkplug=sparkplug or None, clock=clock)
    return live.start()


def _read(folder: Path, table: str) -> pd.DataFrame:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = folder / f"{table}{suffix}"
        if path.exists():
            return reader(path)
    raise SimulatorError(f"{folder}: no {table}.parquet or {table}.csv; regenerate the dataset")
