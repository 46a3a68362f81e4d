"""How fast the line model runs, as a ratio to a bare SimPy loop timed in the same run.

Both are measured in SimPy events processed per second of the process's CPU time (each `env.step()` counts
one; CPU time, not wall time, so that other work sharing the machine does not count against either),
so the ratio says how much the line's own bookkeeping (records, sampling, buffers) costs on top of
SimPy itself, independently of the machine. A second row counts the records the line writes (MES
events, state and setpoint changes: about 2.3 per SimPy event). Target: a ratio of at least 0.5.
The line runs as `simulate` runs it, through `Line.run_until`, which pauses Python's cyclic garbage
collector: with it on, a third of the time went to walking the records the line keeps (the bare loop
keeps nothing); and it keeps its records as plain tuples (`records.RecordLog`), named tuples being built
only for whoever reads them. Runs alternate with the bare loop and the best of each is kept, so that load
from other work on the machine hits both alike.

Then what a user waits for at the command line, against starting the bare interpreter: `factorylab plant
--help` (the command's start: target under 0.5 s, it must not import the grader) and a four-week
`factorylab plant kpis` end to end.

Run: .venv/bin/python benchmarks/bench_line.py
"""

import subprocess
import sys
import time

import simpy

from simulators.line import Line
from simulators.plantfile import Plant, load_plant

REPEATS = 7  # best of, to damp the noise of a shared machine
BARE_EVENTS = 300_000  # timeouts in the reference loop
LINE_WEEKS = 4  # simulated weeks of the default plant


class CountingEnvironment(simpy.Environment):
    """An environment that counts the events it processes."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        super().step()


def bare_loop() -> tuple[int, float]:
    env = CountingEnvironment()

    def ticker():
        while True:
            yield env.timeout(1.0)

    env.process(ticker())
    start = time.process_time()
    env.run(until=BARE_EVENTS)
    return env.steps, time.process_time() - start


def line_model(plant: Plant) -> tuple[int, float, int]:
    env = CountingEnvironment()
    start = time.process_time()
    line = Line(env, plant, seed=1)
    line.run_until(LINE_WEEKS * 7 * 86400.0)
    records = len(line.events) + len(line.state_log) + len(line.setpoints)
    return env.steps, time.process_time() - start, records


def main() -> None:
    plant = load_plant()  # reading the YAML is not the model's speed
    bare_runs, runs = [], []
    for _ in range(REPEATS):  # alternated, so that a burst of load elsewhere hits both alike
        bare_runs.append(bare_loop())
        runs.append(line_model(plant))
    bare_rate = max(steps / seconds for steps, seconds in bare_runs)
    steps, seconds, records = min(runs, key=lambda run: run[1])
    line_rate = steps / seconds
    print(f"{'model':<32}{'events':>10}{'seconds':>10}{'events/s':>12}{'ratio':>8}")
    print(
        f"{'bare SimPy timeout loop':<32}{BARE_EVENTS:>10}{BARE_EVENTS / bare_rate:>10.3f}{bare_rate:>12.0f}{1:>8.2f}"
    )
    print(
        f"{f'default plant, {LINE_WEEKS} weeks':<32}{steps:>10}{seconds:>10.3f}{line_rate:>12.0f}"
        f"{line_rate / bare_rate:>8.2f}"
    )
    print(
        f"{'  its records (MES + states)':<32}{records:>10}{seconds:>10.3f}{records / seconds:>12.0f}"
        f"{records / seconds / bare_rate:>8.2f}"
    )
    print()
    interpreter = wall_seconds([sys.executable, "-c", "pass"])
    print(f"{'command':<48}{'seconds':>10}{'ratio':>8}")
    print(f"{'python -c pass (the bare interpreter)':<48}{interpreter:>10.3f}{1:>8.2f}")
    for args in (["plant", "--help"], ["plant", "kpis", "--hours", str(LINE_WEEKS * 7 * 24)]):
        seconds = wall_seconds([sys.executable, "-m", "factorylab.cli", *args])
        print(f"{'factorylab ' + ' '.join(args):<48}{seconds:>10.3f}{seconds / interpreter:>8.2f}")


def wall_seconds(command: list[str]) -> float:
    """Best wall time of running `command` to its end, output discarded."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    main()
