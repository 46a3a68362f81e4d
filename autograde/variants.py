"""A learner's graded variant of a lab: its seed, and the folder of data and inputs its kernel receives.

`Variant(lab, learner, seed)` is what the grader's verdicts judge against; the seed comes from the course's
secret (autograde/secret.py) and stays on the grader's side. `prepare_variant` writes, once per (lab, seed),
the folder the sandbox mounts read-only as `FACTORYLAB_VARIANT` (simulators/learner.py): the observed tables
of each dataset the lab reads (no truth table, no data card, no manifest: nothing that names the seed) and the
inputs the lab's verdict module chooses for its hidden test cells (`inputs/`, labkit/plaindata.py formats).
The ground truth of the same runs is read here, by the grader alone, with `truth_tables`.
"""

import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulators.dataset import write_dataset
from simulators.learner import OBSERVED_TABLES, TRUTH_TABLES, variant_dataset_name
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario
from simulators.seeding import DEFAULT_SEED

PRACTICE_LEARNER = "_practice"


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


@functools.lru_cache(maxsize=64)
def _generated(scenario: str, seed: int, hours: float) -> Path:
    """A full dataset (truth included) for the grader, generated once into the grader's private cache."""
    folder = _cache_root() / "datasets" / f"line1_{scenario}_seed{seed}_{hours:g}h"
    if not (folder / "readings_truth.parquet").is_file():
        plant = load_plant()
        write_dataset(plant=plant, scenario=load_scenario(scenario, plant), seed=seed, hours=hours, out_dir=folder)
    return folder


def observed_tables(scenario: str, seed: int, hours: float = 8.0,
                    tables: Sequence[str] = OBSERVED_TABLES) -> dict[str, pd.DataFrame]:
    """The tables a subscriber would have received in that run (what the kernel gets), or those of `tables`."""
    return _read(scenario, seed, hours, tables, OBSERVED_TABLES)


def truth_tables(scenario: str, seed: int, hours: float = 8.0,
                 tables: Sequence[str] = TRUTH_TABLES) -> dict[str, pd.DataFrame]:
    """The ground truth of that run, for verdicts: every sample's true value and defect (`readings_truth`) and
    the fault windows (`faults`), or those of `tables`."""
    return _read(scenario, seed, hours, tables, TRUTH_TABLES)


def _read(scenario: str, seed: int, hours: float, tables: Sequence[str], allowed: tuple[str, ...]) -> dict:
    unknown = set(tables) - set(allowed)
    if unknown:
        raise ValueError(f"no table {sorted(unknown)} here: choose among {', '.join(allowed)}")
    folder = _generated(scenario, seed, float(hours))
    return {table: pd.read_parquet(folder / f"{table}.parquet") for table in tables}


def add_dataset(folder: Path, scenario: str, seed: int, hours: float = 8.0) -> None:
    """Put the observed tables of (scenario, seed, hours) into a variant folder being prepared."""
    source = _generated(scenario, seed, float(hours))
    target = Path(folder) / "datasets" / variant_dataset_name(scenario, float(hours))
    target.mkdir(parents=True, exist_ok=True)
    for table in OBSERVED_TABLES:  # linked, not copied: the grader's cache holds each table once
        try:
            os.link(source / f"{table}.parquet", target / f"{table}.parquet")
        except OSError:  # a filesystem without hard links
            shutil.copyfile(source / f"{table}.parquet", target / f"{table}.parquet")


@functools.cache
def _code_version(lab: str) -> str:
    """A digest of the code that prepares `lab`'s variants (its verdicts and kit modules), so that a folder
    prepared by older code is never handed to a kernel that expects other inputs."""
    digest = hashlib.sha256()
    for module in (f"autograde.verdicts.{lab}", f"labkit.{lab}"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:12]


def prepare_variant(variant: Variant) -> Path:
    """The folder of `variant` for its kernel, written once (atomically) into the grader's private cache."""
    from autograde.verdicts import lab_verdicts  # the verdicts import this module

    folder = _cache_root() / "variants" / variant.lab / _code_version(variant.lab) / f"{variant.seed:x}"
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
