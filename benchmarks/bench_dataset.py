"""How fast a dataset is recorded, as a ratio to plain numpy + pyarrow writing as many samples, same run.

A dataset run simulates one week of a plant, generates the true signals and the imperfections hour by hour
and writes everything as Parquet. Two runs: the default plant under "normal" (today's labs' data: 1 Hz, with
`seq`, wear and breakdowns), and the richest signals at the same 1 Hz: the realistic plant (regimes, product
loads, restart overshoots, rounded values) with every sensor forced to 1 s, under the historian scenario
(correlated and oscillating noise, no sequence counter, a clock step). The baseline draws the same number of
plain random (timestamp, sensor, value) rows with numpy and writes them with pyarrow in the same hourly row
groups: the ratio says what the physics, the defects and the extra tables cost on top of bare generation
and I/O. Target: one simulated week in 10 s or less on 2 cores, for both runs.

Run: .venv/bin/python benchmarks/bench_dataset.py
"""

import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from simulators.dataset import write_dataset
from simulators.plantfile import load_plant
from simulators.seeding import stream

HOURS = 168.0  # one simulated week
TARGET_S = 10.0


def every_second(plant):
    """`plant` with every sensor sampling at 1 s (the dataset's heaviest load)."""
    stations = {}
    for name, station in plant.stations.items():
        sensors = tuple(dataclasses.replace(sensor, period_s=None) for sensor in station.sensors)
        stations[name] = dataclasses.replace(station, sensors=sensors)
    return dataclasses.replace(plant, stations=stations, sensor_period_s=1.0)


def record(plant, scenario: str, folder: Path) -> tuple[float, int]:
    start = time.perf_counter()
    out = write_dataset(plant=plant, scenario=scenario, seed=1, hours=HOURS, out_dir=folder / "week")
    seconds = time.perf_counter() - start
    samples = json.loads((out / "manifest.json").read_text())["rows"]["readings_truth"]
    return seconds, samples


def baseline(samples: int, folder: Path) -> float:
    """numpy draws + pyarrow writes `samples` plain rows, an hour's worth per row group."""
    rng = stream(1, "bench")
    per_hour = int(samples / HOURS)
    schema = pa.schema([("timestamp", pa.timestamp("ms", tz="UTC")), ("sensor", pa.int32()), ("value", pa.float64())])
    start = time.perf_counter()
    with pq.ParquetWriter(folder / "baseline.parquet", schema, compression="zstd") as writer:
        for hour in range(int(HOURS)):
            t_ms = hour * 3_600_000 + np.sort(rng.integers(0, 3_600_000, per_hour))
            table = pa.table(
                [pa.array(t_ms, schema.field("timestamp").type), pa.array(rng.integers(0, 20, per_hour, np.int32)),
                 pa.array(rng.standard_normal(per_hour))],
                schema=schema,
            )
            writer.write_table(table)
    return time.perf_counter() - start


def main() -> None:
    runs = {"dataset, default plant, 1 week": (load_plant(), "normal"),
            "richest signals at 1 Hz, 1 week": (every_second(load_plant("realistic")), "historian")}
    folder = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
    try:
        timed = {label: record(plant, scenario, folder) for label, (plant, scenario) in runs.items()}
        samples = timed["dataset, default plant, 1 week"][1]
        base_seconds = baseline(samples, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'run':<36}{'samples':>12}{'seconds':>10}{'sim h/s':>10}{'samples/s':>14}{'ratio':>8}")
    print(f"{'numpy + pyarrow, plain rows':<36}{samples:>12}{base_seconds:>10.2f}{HOURS / base_seconds:>10.1f}"
          f"{samples / base_seconds:>14.0f}{1:>8.2f}")
    for label, (seconds, rows) in timed.items():
        print(f"{label:<36}{rows:>12}{seconds:>10.2f}{HOURS / seconds:>10.1f}{rows / seconds:>14.0f}"
              f"{base_seconds * rows / samples / seconds:>8.2f}")
    verdict = "meets" if max(seconds for seconds, _ in timed.values()) <= TARGET_S else "MISSES"
    print(f"({verdict} the target of one simulated week in {TARGET_S:.0f} s; ratio = baseline time for as many "
          "rows / dataset time)")


if __name__ == "__main__":
    main()
