"""The line model reproduces queueing theory over long runs, within a 99% confidence interval from replications.

Four textbook systems: an M/M/1 station, an M/M/c station (parallel servers sharing one queue, Erlang C), a
tandem of exponential stations with unlimited buffers (a Jackson network: each station is an M/M/1 queue), and
a closed CONWIP line of equal exponential stations, whose throughput comes from Mean Value Analysis. Seeds are
fixed, so each test is deterministic.
"""

import math

import numpy as np
import pytest
from scipy import stats

from simulators.kpis import compute_kpis
from simulators.line import simulate
from simulators.plantfile import default_plant_path, load_plant, parse_plant

REPLICATIONS = 10
CONFIDENCE = 0.99


def _within_ci(samples: list[float], expected: float) -> None:
    """Assert that `expected` lies in the t confidence interval of the mean of the replications' values."""
    values = np.asarray(samples)
    half_width = stats.t.ppf((1 + CONFIDENCE) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - expected) <= half_width, (values.mean(), half_width, expected)
    assert half_width < 0.05 * expected  # the runs are long enough for the check to mean something


def _replicate(plant, hours: float, warmup_hours: float) -> list[dict]:
    return [
        compute_kpis(simulate(plant, hours=hours, seed=r), warmup_s=warmup_hours * 3600) for r in range(REPLICATIONS)
    ]


def _open_line(means_s: list[float], interarrival_s: float, servers: int = 1):
    return parse_plant(
        {
            "schema": "factorylab/plant/v1",
            "name": "tandem",
            "location": {"site": "lab", "area": "queueing", "line": "tandem"},
            "stations": {f"s{i}": {"input_buffer": None, "servers": servers} for i in range(len(means_s))},
            "products": {
                "job": {
                    "mix": 1.0,
                    "routing": [
                        {"station": f"s{i}", "time": {"dist": "exponential", "mean_s": m}}
                        for i, m in enumerate(means_s)
                    ],
                }
            },
            "release": {"policy": "open", "interarrival": {"dist": "exponential", "mean_s": interarrival_s}},
        },
        "tandem",
    )


def mva_throughput_per_s(service_means_s: list[float], population: int) -> float:
    """Exact Mean Value Analysis of a closed network of single exponential servers (one class)."""
    queue = np.zeros(len(service_means_s))
    throughput = 0.0
    for n in range(1, population + 1):
        residence = np.asarray(service_means_s) * (1 + queue)
        throughput = n / residence.sum()
        queue = throughput * residence
    return throughput


@pytest.mark.slow
def test_mm1_station_matches_utilisation_time_in_system_and_wip():
    plant = load_plant(default_plant_path().parent / "mm1.yaml")
    arrival_rate, service_rate = 1 / 10, 1 / 7
    runs = _replicate(plant, hours=100, warmup_hours=1)
    _within_ci([k["stations"]["server"]["utilisation"] for k in runs], arrival_rate / service_rate)
    _within_ci([k["mean_cycle_time_s"] for k in runs], 1 / (service_rate - arrival_rate))
    _within_ci([k["mean_wip"] for k in runs], 0.7 / (1 - 0.7))
    _within_ci([k["throughput_per_hour"] for k in runs], 3600 * arrival_rate)


def erlang_c_wait_s(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue of an M/M/c station (Erlang C)."""
    load = arrival_rate / service_rate
    rho = load / servers
    tail = load**servers / math.factorial(servers) / (1 - rho)
    p_wait = tail / (sum(load**k / math.factorial(k) for k in range(servers)) + tail)
    return p_wait / (servers * service_rate - arrival_rate)


@pytest.mark.slow
def test_mmc_station_of_parallel_servers_sharing_one_queue_matches_erlang_c():
    servers, service_s, interarrival_s = 2, 12.0, 8.0  # rho = 12 / (2 x 8) = 0.75
    arrival_rate, service_rate = 1 / interarrival_s, 1 / service_s
    wait_s = erlang_c_wait_s(servers, arrival_rate, service_rate)
    assert wait_s == pytest.approx(15.43, abs=0.01)  # P(wait) = 9/14 over (2/12 - 1/8) per second
    runs = _replicate(_open_line([service_s], interarrival_s, servers=servers), hours=60, warmup_hours=1)
    _within_ci([k["stations"]["s0"]["utilisation"] for k in runs], arrival_rate / (servers * service_rate))
    _within_ci([k["machines"]["s0_2"]["utilisation"] for k in runs], arrival_rate / (servers * service_rate))
    _within_ci([k["mean_cycle_time_s"] for k in runs], wait_s + service_s)
    _within_ci([k["mean_wip"] for k in runs], arrival_rate * (wait_s + service_s))  # Little's law


@pytest.mark.slow
def test_tandem_of_exponential_stations_matches_the_jackson_network():
    means_s, interarrival_s = [6.0, 7.0, 5.0], 10.0
    runs = _replicate(_open_line(means_s, interarrival_s), hours=40, warmup_hours=1)
    expected_s = sum(1 / (1 / m - 1 / interarrival_s) for m in means_s)  # 15 + 23.3 + 10 s
    _within_ci([k["mean_cycle_time_s"] for k in runs], expected_s)
    for i, m in enumerate(means_s):
        _within_ci([k["stations"][f"s{i}"]["utilisation"] for k in runs], m / interarrival_s)


@pytest.mark.slow
def test_closed_conwip_line_matches_mean_value_analysis():
    stations, mean_s, wip_cap = 4, 10.0, 6
    names = [f"s{i}" for i in range(stations)]
    plant = parse_plant(
        {
            "schema": "factorylab/plant/v1",
            "name": "conwip",
            "location": {"site": "lab", "area": "queueing", "line": "conwip"},
            "stations": {name: {"input_buffer": None} for name in names},
            "products": {
                "job": {
                    "mix": 1.0,
                    "routing": [{"station": s, "time": {"dist": "exponential", "mean_s": mean_s}} for s in names],
                }
            },
            "release": {"policy": "conwip", "wip_cap": wip_cap},
        },
        "conwip",
    )
    throughput = mva_throughput_per_s([mean_s] * stations, wip_cap)
    # For a balanced line MVA reduces to the "practical worst case" of Factory Physics: w / ((w + N - 1) t).
    assert throughput == pytest.approx(wip_cap / ((wip_cap + stations - 1) * mean_s))
    runs = _replicate(plant, hours=40, warmup_hours=1)
    _within_ci([k["throughput_per_hour"] for k in runs], 3600 * throughput)
    _within_ci([k["mean_cycle_time_s"] for k in runs], wip_cap / throughput)  # Little's law
    assert all(k["mean_wip"] == pytest.approx(wip_cap) for k in runs)
