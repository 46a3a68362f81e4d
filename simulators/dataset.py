"""Recorded datasets: a run of the plant written to disk with its ground truth, data card and checksums.

`write_dataset` simulates the line, generates the sensors hour by hour (`sensors.PlantSensors` then
`imperfections.Imperfections`, the same objects as the live stream, so memory stays bounded) and writes
into a temporary directory that is renamed into place at the end: a crash never leaves half a dataset.

The scenario acts on the line too (its physical faults slow a station, scrap parts, stop it for repair),
so the MES tables of a fault scenario differ from the normal run's from the fault's start on.

Files (``.parquet`` or ``.csv``): ``readings`` (what a subscriber receives, in arrival order; without
the ``seq`` column when the scenario's export has no sequence counter),
``readings_truth`` (every sample taken, its true value and defect label), ``events`` (MES), ``states``,
``setpoints``, ``faults`` (ground-truth fault windows), ``sensors`` (metadata); then ``DATACARD.md`` and
``manifest.json`` (sha256 of every file). The same arguments give byte-identical files: Parquet is
written without timestamps, and nothing in the card or the manifest depends on the machine or the date.
"""

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulators.errors import DatasetError
from simulators.imperfections import DEFECTS, QUALITIES, Imperfections
from simulators.records import STATES
from simulators.scenarios import as_scenario
from simulators.sensors import PlantSensors, plant_sensors, sensor_metadata

FORMATS = ("parquet", "csv")
WINDOW_S = 3600.0  # generate and write one simulated hour at a time
MANIFEST = "manifest.json"
_MARK = "factorylab_dataset"
_TS = pa.timestamp("ms", tz="UTC")


def write_dataset(*, plant=None, scenario=None, seed: int, hours: float, out_dir, fmt: str = "parquet",
                  sequence_counter: bool | None = None) -> Path:
    """Record `hours` of the plant under `scenario` (name, path, Scenario or None for "normal") into `out_dir`.

    `sequence_counter`: write the readings' `seq` column (None: as the scenario's export says, by default
    yes). Refuses a non-empty `out_dir` that is not a previous dataset; a previous dataset is replaced.
    Returns the dataset's directory.
    """
    from simulators.line import simulate
    from simulators.plantfile import load_plant

    if fmt not in FORMATS:
        raise DatasetError(f"format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 366:
        raise DatasetError(f"hours: must be a number in (0, 8784], got {hours!r}")
    hours = float(hours)
    plant = load_plant(None) if plant is None else plant
    scenario = as_scenario(scenario, plant)
    with_seq = scenario.export.sequence_counter if sequence_counter is None else bool(sequence_counter)
    out = Path(out_dir)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        run = simulate(plant, hours=hours, seed=seed, scenario=scenario)
        rows = _write_readings(partial, plant, scenario, seed, run, fmt, with_seq)
        rows.update(_write_logs(partial, plant, scenario, seed, run, fmt))
        _write_card(partial, plant, scenario, seed, hours, out.name, fmt, rows, with_seq)
        _write_manifest(partial, plant, scenario, seed, hours, fmt, rows, with_seq)
        _swap_in(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out


def _check_target(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a directory; choose another --out")
    if any(out.iterdir()) and not is_dataset(out):
        raise DatasetError(
            f"{out}: not empty and not a factorylab dataset (no {MANIFEST}); refusing to overwrite it, "
            "choose an empty or new --out"
        )


def is_dataset(path: Path) -> bool:
    """True if `path` holds a dataset this module wrote (its manifest says so)."""
    try:
        return json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8")).get(_MARK) == 1
    except (OSError, ValueError, AttributeError):
        return False


def _swap_in(partial: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    partial.rename(out)
    shutil.rmtree(old, ignore_errors=True)


class _TableWriter:
    """Appends tables of one schema to a Parquet or CSV file, with options that keep bytes reproducible."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str):
        if fmt == "parquet":
            # Dictionary-encode only the label columns (trying it on floats and timestamps costs time for
            # nothing), and skip statistics: together they halve the write time of a week of readings.
            labels = [f.name for f in schema if pa.types.is_dictionary(f.type)]
            self._writer = pq.ParquetWriter(
                path, schema, compression="zstd", use_dictionary=labels, write_statistics=False
            )
        else:
            self._writer = pacsv.CSVWriter(path, _plain(schema))
        self._fmt = fmt
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self._fmt == "csv":
            table = table.cast(_plain(table.schema))
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema with dictionary columns decoded (CSV has no dictionaries)."""
    return pa.schema(
        [pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema]
    )


def _write_table(path: Path, table: pa.Table, fmt: str) -> int:
    writer = _TableWriter(path, table.schema, fmt)
    writer.write(table)
    writer.close()
    return writer.rows


def _epoch_ms(plant, t_s) -> np.ndarray:
    return np.round(plant.start.timestamp() * 1000.0 + np.asarray(t_s, dtype=float) * 1000.0).astype(np.int64)


def _labels(codes, names) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(list(names), pa.string()))


_DICT = pa.dictionary(pa.int32(), pa.string())
READINGS_SCHEMA = pa.schema(
    [("timestamp", _TS), ("seq", pa.int64()), ("site", _DICT), ("area", _DICT), ("line", _DICT),
     ("machine", _DICT), ("sensor", _DICT), ("value", pa.float64()), ("unit", _DICT), ("quality", _DICT)]
)
READINGS_WITHOUT_SEQ_SCHEMA = READINGS_SCHEMA.remove(READINGS_SCHEMA.get_field_index("seq"))
TRUTH_SCHEMA = pa.schema(
    [("timestamp", _TS), ("seq", pa.int64()), ("machine", _DICT), ("sensor", _DICT),
     ("true_value", pa.float64()), ("defect", _DICT)]
)


def _write_readings(folder: Path, plant, scenario, seed: int, run, fmt: str, with_seq: bool) -> dict[str, int]:
    infos = plant_sensors(plant)
    machines = list(dict.fromkeys(info.machine for info in infos))
    sensors = list(dict.fromkeys(info.name for info in infos))
    units = list(dict.fromkeys(info.unit for info in infos))
    machine_of = np.array([machines.index(i.machine) for i in infos], dtype=np.int32)
    sensor_of = np.array([sensors.index(i.name) for i in infos], dtype=np.int32)
    unit_of = np.array([units.index(i.unit) for i in infos], dtype=np.int32)
    loc = plant.location

    def readings_table(batch) -> pa.Table:
        zeros = np.zeros(len(batch), dtype=np.int32)
        columns = [pa.array(_epoch_ms(plant, batch.timestamp_s), _TS), pa.array(batch.seq), _labels(zeros, [loc.site]),
                   _labels(zeros, [loc.area]), _labels(zeros, [loc.line]), _labels(machine_of[batch.sensor], machines),
                   _labels(sensor_of[batch.sensor], sensors), pa.array(batch.value),
                   _labels(unit_of[batch.sensor], units), _labels(batch.quality, QUALITIES)]
        if not with_seq:
            return pa.table(columns[:1] + columns[2:], schema=READINGS_WITHOUT_SEQ_SCHEMA)
        return pa.table(columns, schema=READINGS_SCHEMA)

    def truth_table(batch) -> pa.Table:
        return pa.table(
            [pa.array(_epoch_ms(plant, batch.t_s), _TS), pa.array(batch.seq),
             _labels(machine_of[batch.sensor], machines), _labels(sensor_of[batch.sensor], sensors),
             pa.array(batch.true_value), _labels(batch.defect, DEFECTS)],
            schema=TRUTH_SCHEMA,
        )

    physics = PlantSensors(plant, seed, scenario)
    network = Imperfections(plant, seed, scenario)
    readings = _TableWriter(folder / f"readings.{fmt}", READINGS_SCHEMA if with_seq else READINGS_WITHOUT_SEQ_SCHEMA,
                            fmt)
    truth = _TableWriter(folder / f"readings_truth.{fmt}", TRUTH_SCHEMA, fmt)
    t0 = 0.0
    while t0 < run.horizon_s:
        t1 = min(t0 + WINDOW_S, run.horizon_s)
        observed, true = network.apply(physics.window(t0, t1, run.state_log, run.setpoints, run.renewals, run.events))
        readings.write(readings_table(observed))
        truth.write(truth_table(true))
        t0 = t1
    readings.write(readings_table(network.flush()))
    readings.close()
    truth.close()
    return {"readings": readings.rows, "readings_truth": truth.rows}


def _write_logs(folder: Path, plant, scenario, seed: int, run, fmt: str) -> dict[str, int]:
    def ts(values) -> pa.Array:
        return pa.array(_epoch_ms(plant, values), _TS)

    events, states, setpoints = list(run.events), list(run.state_log), list(run.setpoints)  # read once
    tables = {
        "events": pa.table({
            "timestamp": ts([e.t_s for e in events]),
            "t_s": pa.array([float(e.t_s) for e in events], pa.float64()),
            "kind": pa.array([e.kind for e in events], pa.string()),
            "machine": pa.array([e.machine for e in events], pa.string()),
            "part_id": pa.array([e.part_id for e in events], pa.int64()),
            "product": pa.array([e.product for e in events], pa.string()),
            "reason": pa.array([e.reason for e in events], pa.string()),
        }),
        "states": pa.table({
            "timestamp": ts([c.t_s for c in states]),
            "t_s": pa.array([float(c.t_s) for c in states], pa.float64()),
            "machine": pa.array([c.machine for c in states], pa.string()),
            "state": pa.array([c.state for c in states], pa.string()),
            "reason": pa.array([c.reason for c in states], pa.string()),
        }),
        "setpoints": pa.table({
            "timestamp": ts([s.t_s for s in setpoints]),
            "t_s": pa.array([float(s.t_s) for s in setpoints], pa.float64()),
            "machine": pa.array([s.machine for s in setpoints], pa.string()),
            "name": pa.array([s.name for s in setpoints], pa.string()),
            "value": pa.array([float(s.value) for s in setpoints], pa.float64()),
        }),
    }
    windows = [w for w in scenario.fault_windows(seed) if w.start_s < run.horizon_s]
    kinds = {(station.name, spec.name): spec.kind for station in plant.stations.values() for spec in station.sensors}
    tables["faults"] = pa.table({
        "fault_id": pa.array([w.fault_id for w in windows], pa.string()),
        "kind": pa.array([w.kind for w in windows], pa.string()),
        "machine": pa.array([w.machine for w in windows], pa.string()),
        "sensors": pa.array([",".join(w.sensors) for w in windows], pa.string()),
        "start": ts([w.start_s for w in windows]),
        "end": ts([w.end_s for w in windows]),
        "start_s": pa.array([w.start_s for w in windows], pa.float64()),
        "end_s": pa.array([w.end_s for w in windows], pa.float64()),
        "magnitude": pa.array([w.magnitude for w in windows], pa.float64()),
        "description": pa.array([w.description for w in windows], pa.string()),
        "signature": pa.array([w.signature({s: kinds[(w.machine, s)] for s in w.sensors}) for w in windows],
                              pa.string()),
        "develop_s": pa.array([w.develop_s for w in windows], pa.float64()),
        "speed_factor": pa.array([w.speed_factor for w in windows], pa.float64()),
        "scrap_rate": pa.array([w.scrap_rate for w in windows], pa.float64()),
        "repair_end": ts([w.end_s + w.repair_s for w in windows]),
        "repair_end_s": pa.array([w.end_s + w.repair_s for w in windows], pa.float64()),
        "line_effect": pa.array([w.effect for w in windows], pa.string()),
    })
    meta = sensor_metadata(plant)
    tables["sensors"] = pa.table({key: [m[key] for m in meta] for key in meta[0]} if meta else {"topic": []})
    return {name: _write_table(folder / f"{name}.{fmt}", table, fmt) for name, table in tables.items()}


def _command(plant, scenario, seed: int, hours: float, out_name: str, fmt: str, with_seq: bool) -> str:
    from simulators.plantfile import bundled_plant_name

    parts = ["factorylab plant dataset"]
    bundled_plant = bundled_plant_name(plant)
    if bundled_plant != "default":
        parts.append(f"--plant {bundled_plant or Path(plant.source).name}")
    bundled = scenario.source.startswith("scenarios/")
    parts += [f"--scenario {scenario.name if bundled else Path(scenario.source).name}", f"--seed {seed}",
              f"--hours {hours:g}", f"--out {out_name}", f"--format {fmt}"]
    if with_seq != scenario.export.sequence_counter:
        parts.append("--seq" if with_seq else "--no-seq")
    return " ".join(parts)


_COLUMNS = {
    "readings": [
        ("timestamp", "UTC, ms", "sample time as the sensor's clock reports it (jitter and clock jumps included)"),
        ("seq", "count", "the sensor's sample counter: a gap is a lost sample, a repeat a duplicate (absent from "
         "an export without a sequence counter)"),
        ("site, area, line, machine, sensor", "", "where the sensor is (its MQTT topic levels)"),
        ("value", "see unit", "reported value (noise, drift, spikes, stuck values, out-of-range values), rounded "
         "to the sensor's resolution"),
        ("unit", "", "the sensor's unit"),
        ("quality", "", "good, or bad when the sensor flags its value itself"),
    ],
    "readings_truth": [
        ("timestamp", "UTC, ms", "true sample time (one row per sample taken, lost ones included)"),
        ("seq, machine, sensor", "", "join keys with readings"),
        ("true_value", "sensor unit", "the physical value before any sensor or network defect"),
        ("defect", "", f"what happened to the sample: {', '.join(DEFECTS)}"),
    ],
    "events": [("timestamp, t_s", "UTC ms; s from start", "when"), ("kind", "", "MES event kind"),
               ("machine, part_id, product, reason", "", "what it concerns")],
    "states": [("timestamp, t_s", "UTC ms; s from start", "when the machine enters the state"),
               ("machine, state, reason", "", f"state is one of {', '.join(STATES)}")],
    "setpoints": [("timestamp, t_s", "UTC ms; s from start", "when"),
                  ("machine, name, value", "", "speed factor, buffer capacity or CONWIP cap")],
    "faults": [("fault_id, kind, machine, sensors", "", "the injected fault and the sensors it shows on"),
               ("start, end", "UTC ms", "the fault's window [start, end)"),
               ("start_s, end_s", "s from start", "same window in simulation seconds"),
               ("magnitude, description", "", "kind-specific size, and what happens"),
               ("signature", "", "sensor:up / sensor:down for each sensor the fault moves, and which way"),
               ("develop_s", "s", "how long its signature takes to grow to full size from the start (0: at once)"),
               ("speed_factor, scrap_rate", "", "the station's speed x speed_factor, and scrap_rate more scrap, "
                "while the fault is active"),
               ("repair_end, repair_end_s", "UTC ms; s from start", "the station is down for repair from end to "
                "repair_end (reason: the fault's kind)"),
               ("line_effect", "", "the same consequences on the line, in words")],
    "sensors": [("topic, site, area, line, machine, sensor", "", "where the sensor is"),
                ("kind, unit, low, high, period_s, resolution", "",
                 "what it measures, valid range, sampling period (s), the step its values are reported in (0: not "
                 "rounded)")],
}


def _write_card(folder, plant, scenario, seed, hours, out_name, fmt, rows, with_seq) -> None:
    lines = [
        f"# Dataset: {plant.name}, scenario {scenario.name}, seed {seed}",
        "",
        f"{hours:g} simulated hour{'' if hours == 1 else 's'} of the factorylab virtual plant **{plant.name}** "
        f"({plant.location.site}/{plant.location.area}/{plant.location.line}, starting "
        f"{plant.start.isoformat()}), recorded under the fault scenario **{scenario.name}**: "
        f"{scenario.description or 'no description'}",
        "",
        "Every value comes from a seeded simulation: the command below regenerates these files byte for byte.",
        "",
        "```",
        _command(plant, scenario, seed, hours, out_name, fmt, with_seq),
        "```",
        "",
        "## Files",
        "",
        "| file | rows | columns (unit) |",
        "| --- | --- | --- |",
    ]
    for name, columns in _COLUMNS.items():
        described = "; ".join(f"`{c}`" + (f" ({u})" if u else "") + f": {d}" for c, u, d in columns)
        lines.append(f"| `{name}.{fmt}` | {rows[name]} | {described} |")
    lines += [
        f"| `{MANIFEST}` | | sha256 of every file |",
        "",
        "## Labels",
        "",
        "`readings_truth.defect` labels every sample with the one defect that hit it (`ok` if none; noise and "
        "the small clock jitter are on every sample and show as `value - true_value`). `faults` is the "
        "ground truth of the scenario's fault windows. Readings arrive in `readings` in arrival order, so late "
        "messages appear out of time order.",
        "",
        "Imperfection rates used (per sample unless noted):",
        "",
    ]
    lines += [f"- `{key}`: {value:g}" for key, value in scenario.rates.as_dict().items()]
    lines += ["", "## Export", "",
              f"- sequence counter (`seq` column): {'yes' if with_seq else 'no'}",
              "- clock steps (reported timestamps move by `step_s` from `at`): "
              + (", ".join(f"{step_s:+g} s at {at_s / 3600.0:g} h" for at_s, step_s in scenario.clock_steps(seed))
                 or "none"),
              "", "## Operating regimes", "",
              "- the hall's temperature around each sensor's ambient (°C): " + ", ".join(
                  f"{key} {value:g}" for key, value in dataclasses.asdict(plant.regimes.ambient).items()),
              "- product plan (shares released by weekday; other days: the products' mix): " + (
                  "; ".join(f"{day} " + ", ".join(f"{product} {share:g}" for product, share in shares.items())
                            for day, shares in plant.regimes.product_plan.items()) or "none"),
              "", "## Sensors", "",
              "| machine | sensor | kind | unit | range | period (s) | resolution |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {info.machine} | {info.name} | {info.kind} | {info.unit} | [{info.low:g}, {info.high:g}] | "
              f"{info.period_s:g} | {info.resolution:g} |" for info in plant_sensors(plant)]
    (folder / "DATACARD.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_manifest(folder, plant, scenario, seed, hours, fmt, rows, with_seq) -> None:
    files = {}
    for path in sorted(folder.iterdir()):
        with path.open("rb") as stream:
            files[path.name] = hashlib.file_digest(stream, "sha256").hexdigest()
    manifest = {
        _MARK: 1, "plant": plant.name, "scenario": scenario.name, "seed": seed, "hours": hours, "format": fmt,
        "sequence_counter": with_seq, "rows": rows, "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
