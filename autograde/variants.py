"""A learner's graded variant of a lab: its seed, and the folder of data and inputs its kernel receives.

`Variant(lab, learner, seed)` is what the grader's verdicts judge against; the seed comes from the course's
secret (autograde/secret.py) and stays on the grader's side. `prepare_variant` writes, once per (lab, seed),
the folder the sandbox mounts read-only as `FACTORYLAB_VARIANT` (simulators/learner.py): the observed tables
of each dataset the lab reads (no truth table, no data card, no manifest: nothing that names the seed) and the
inputs the lab's verdict module chooses for its hidden test cells (`inputs/`, labkit/plaindata.py formats).
The ground truth of the same runs is read here, by the grader alone, with `truth_tables`.

Both caches (datasets, variant folders) live in the grader's private folder and are keyed on a digest of the
code that made them (the plant's code and files; the lab's verdicts and kit), so a changed plant or lab never
serves stale data; folders of other digests untouched for STALE_DAYS are removed when a new one is made.
"""

import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from autograde.kit import package_folder, visible_kit_modules
from simulators.dataset import write_dataset
from simulators.learner import OBSERVED_TABLES, TRUTH_TABLES, variant_dataset_name
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario
from simulators.seeding import DEFAULT_SEED

PRACTICE_LEARNER = "_practice"
STALE_DAYS = 7


@dataclass(frozen=True)
class Variant:
    """One learner's graded variant of one lab."""

    lab: str
    learner: str
    seed: int


def practice_variant(lab: str) -> Variant:
    """The public practice variant (the bundled datasets' seed): what learners and nbval run on."""
    return Variant(lab=lab, learner=PRACTICE_LEARNER, seed=DEFAULT_SEED)


def _cache_root() -> Path:
    root = Path(os.environ.get("FACTORYLAB_GRADER_CACHE") or tempfile.gettempdir()) / f"factorylab-grader-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _digest(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _plant_files() -> list[Path]:
    """The plant's code, plant files and scenarios: what every generated dataset depends on."""
    folder = package_folder("simulators")
    return [path for pattern in ("*.py", "plants/*.yaml", "scenarios/*.yaml") for path in folder.glob(pattern)]


@functools.cache
def _plant_version() -> str:
    """A digest of the plant's code, plant files and scenarios: what every generated dataset depends on."""
    return _digest(_plant_files())


def _fresh_folder(parent: Path, version: str) -> Path:
    """`parent/version`, after removing the folders of other versions nobody touched for STALE_DAYS."""
    folder = parent / version
    if not folder.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        for other in parent.iterdir():
            if other.name != version and other.is_dir() and time.time() - other.stat().st_mtime > STALE_DAYS * 86400:
                shutil.rmtree(other, ignore_errors=True)
    return folder


@functools.lru_cache(maxsize=64)
def _generated(scenario: str, seed: int, hours: float, plant: str = "default",
               sequence_counter: bool | None = None) -> Path:
    """A full dataset (truth included) for the grader, generated once into the grader's private cache.

    `plant`: a bundled plant's name ("default", "realistic"). `sequence_counter`: None writes the readings as
    the scenario's export does (with or without `seq`); True keeps `seq` in any case, the same rows in the same
    order, so that a verdict can tie each row of a counter-less export to its sample in the truth."""
    line = "line1" if plant == "default" else f"line1-{plant}"
    counter = "" if sequence_counter is None else f"_seq{int(bool(sequence_counter))}"
    name = f"{line}_{scenario}_seed{seed}_{hours:g}h{counter}"
    folder = _fresh_folder(_cache_root() / "datasets", _plant_version()) / name
    if not (folder / "readings_truth.parquet").is_file():
        bundled = load_plant(None if plant == "default" else plant)
        write_dataset(plant=bundled, scenario=load_scenario(scenario, bundled), seed=seed, hours=hours,
                      out_dir=folder, sequence_counter=sequence_counter)
    return folder


def observed_tables(scenario: str, seed: int, hours: float = 8.0,
                    tables: Sequence[str] = OBSERVED_TABLES, *, plant: str = "default",
                    sequence_counter: bool | None = None) -> dict[str, pd.DataFrame]:
    """The tables a subscriber would have received in that run (what the kernel gets), or those of `tables`;
    `sequence_counter=True`: the readings with their `seq` even when the scenario's export has none."""
    return _read(scenario, seed, hours, tables, OBSERVED_TABLES, plant, sequence_counter)


def truth_tables(scenario: str, seed: int, hours: float = 8.0,
                 tables: Sequence[str] = TRUTH_TABLES, *, plant: str = "default") -> dict[str, pd.DataFrame]:
    """The ground truth of that run, for verdicts: every sample's true value and defect (`readings_truth`) and
    the fault windows (`faults`), or those of `tables`."""
    return _read(scenario, seed, hours, tables, TRUTH_TABLES, plant, None)


def _read(scenario: str, seed: int, hours: float, tables: Sequence[str], allowed: tuple[str, ...], plant: str,
          sequence_counter: bool | None) -> dict:
    unknown = set(tables) - set(allowed)
    if unknown:
        raise ValueError(f"no table {sorted(unknown)} here: choose among {', '.join(allowed)}")
    folder = _generated(scenario, seed, float(hours), plant, sequence_counter)
    return {table: pd.read_parquet(folder / f"{table}.parquet") for table in tables}


def add_dataset(folder: Path, scenario: str, seed: int, hours: float = 8.0, *, plant: str = "default") -> None:
    """Put the observed tables of (scenario, seed, hours) of the bundled `plant` into a variant folder being
    prepared, where `simulators.learner.load_dataset(scenario, hours=, plant=)` finds them."""
    source = _generated(scenario, seed, float(hours), plant)
    target = Path(folder) / "datasets" / variant_dataset_name(scenario, float(hours), plant)
    target.mkdir(parents=True, exist_ok=True)
    for table in OBSERVED_TABLES:  # linked, not copied: the grader's cache holds each table once
        try:
            os.link(source / f"{table}.parquet", target / f"{table}.parquet")
        except OSError:  # a filesystem without hard links
            shutil.copyfile(source / f"{table}.parquet", target / f"{table}.parquet")


@functools.cache
def _code_version(lab: str) -> str:
    """A digest of the code that prepares `lab`'s variants (its verdicts, the kit modules its kernel sees, the
    plant), so that a folder prepared by older code is never handed to a kernel that expects other inputs."""
    modules = [f"autograde.verdicts.{lab}", *(f"labkit.{name}" for name in visible_kit_modules(lab))]
    specs = [importlib.util.find_spec(module) for module in modules]
    return _digest([Path(spec.origin) for spec in specs if spec is not None and spec.origin]
                   + _plant_files())


def prepare_variant(variant: Variant) -> Path:
    """The folder of `variant` for its kernel, written once (atomically) into the grader's private cache."""
    from autograde.verdicts import lab_verdicts  # the verdicts import this module

    folder = _fresh_folder(_cache_root() / "variants" / variant.lab, _code_version(variant.lab)) / f"{variant.seed:x}"
    if folder.is_dir():
        return folder
    partial = folder.parent / f".{folder.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "inputs").mkdir(parents=True)
    (partial / "datasets").mkdir()
    try:
        lab_verdicts(variant.lab).prepare(variant, partial)
        try:
            partial.rename(folder)
        except OSError:  # another worker prepared it meanwhile: same seed, same bytes
            shutil.rmtree(partial, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder
