"""How fast the line model runs, as a ratio to a bare SimPy loop timed in the same run.

Both are measured in SimPy events processed per second of wall time (each `env.step()` counts one),
so the ratio says how much the line's own bookkeeping (records, sampling, buffers) costs on top of
SimPy itself, independently of the machine. A second row counts the records the line writes (MES
events, state and setpoint changes: about 2.3 per SimPy event). Target: a ratio of at least 0.5.
About a quarter of the line's time is Python's cyclic garbage collector walking the records the line
keeps (the bare loop keeps nothing); the benchmark leaves the collector on, as a user's run would.

Run: .venv/bin/python benchmarks/bench_line.py
"""

import time

import simpy

from simulators.line import Line
from simulators.plantfile import Plant, load_plant

REPEATS = 3  # best of, to damp the noise of a shared machine
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
    start = time.perf_counter()
    env.run(until=BARE_EVENTS)
    return env.steps, time.perf_counter() - start


def line_model(plant: Plant) -> tuple[int, float, int]:
    env = CountingEnvironment()
    start = time.perf_counter()
    line = Line(env, plant, seed=1)
    env.run(until=LINE_WEEKS * 7 * 86400.0)
    records = len(line.events) + len(line.state_log) + len(line.setpoints)
    return env.steps, time.perf_counter() - start, records


def main() -> None:
    bare_rate = max(steps / seconds for steps, seconds in (bare_loop() for _ in range(REPEATS)))
    plant = load_plant()  # reading the YAML is not the model's speed
    runs = [line_model(plant) for _ in range(REPEATS)]
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


if __name__ == "__main__":
    main()
