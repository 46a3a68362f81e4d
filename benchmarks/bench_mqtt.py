"""Throughput and publish-to-receive latency through the embedded broker and through Mosquitto.

Run: ``.venv/bin/python benchmarks/bench_mqtt.py [--messages N] [--paced-rate R]``. Two loads per broker:
a flood (N messages as fast as the client sends them: the broker's throughput; its latencies are mostly
queueing) and a paced stream (R messages per second, a live plant's order of magnitude: the latency a
subscriber sees). Loopback only, bounded in count (QoS 0 messages of a sensor reading's size) and in time
(30 s per load at most). Mosquitto is skipped, with a note, if its binary is not installed.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mqtt_fixtures import Mosquitto

from simulators.broker import EmbeddedBroker
from simulators.transport import MqttClient

TIME_LIMIT_S = 30.0
PADDING = b'"value":21.123456,"unit":"degC","quality":"good"}'  # a reading is ~100 bytes


def measure(url: str, messages: int, rate_per_s: float | None = None) -> dict:
    """Publish `messages` readings (paced at `rate_per_s`, or flat out) and time them until the last arrives."""
    latencies_s: list[float] = []
    done = threading.Event()

    def receive(message) -> None:
        sent_ns = int(message.payload.split(b"|", 1)[0])
        latencies_s.append((time.perf_counter_ns() - sent_ns) / 1e9)
        if len(latencies_s) >= messages:
            done.set()

    with MqttClient(url) as publisher, MqttClient(url) as subscriber:
        subscriber.subscribe("bench/#", receive, qos=0)
        started = time.perf_counter()
        for n in range(messages):
            if rate_per_s is not None:
                time.sleep(max(0.0, started + n / rate_per_s - time.perf_counter()))
            publisher.publish(f"bench/m{n % 20}", b"%d|" % time.perf_counter_ns() + PADDING)
        done.wait(TIME_LIMIT_S)
        elapsed_s = time.perf_counter() - started
    received = len(latencies_s)
    quantiles = statistics.quantiles(latencies_s, n=100) if received > 1 else [float("nan")] * 99
    return {"received": received, "rate": received / elapsed_s, "p50_ms": quantiles[49] * 1e3,
            "p99_ms": quantiles[98] * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--paced-rate", type=float, default=500.0, help="messages per second of the paced load")
    args = parser.parse_args()
    paced_messages = int(args.paced_rate * 5)  # five seconds of paced stream
    loads = {"flood": (args.messages, None), f"paced {args.paced_rate:g}/s": (paced_messages, args.paced_rate)}
    for load, (messages, rate) in loads.items():
        print(f"\nload: {load}, {messages} messages")
        report(measure_brokers(messages, rate))


def measure_brokers(messages: int, rate_per_s: float | None) -> dict:
    results = {}
    with EmbeddedBroker() as broker:
        results["embedded (amqtt)"] = measure(broker.url, messages, rate_per_s)
    binary = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)
    if binary is None:
        print("mosquitto not installed: only the embedded broker is measured")
    else:
        with tempfile.TemporaryDirectory() as directory:
            mosquitto = Mosquitto(binary, Path(directory)).start()
            try:
                results["mosquitto"] = measure(mosquitto.url, messages, rate_per_s)
            finally:
                mosquitto.stop()
    return results


def report(results: dict) -> None:
    print(f"{'broker':<18}{'received':>10}{'msg/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        print(f"{name:<18}{r['received']:>10}{r['rate']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}")
    if len(results) == 2:
        embedded, mosquitto = results.values()
        print(f"{'embedded/mosquitto':<18}{'':>10}{embedded['rate'] / mosquitto['rate']:>10.2f}"
              f"{embedded['p50_ms'] / mosquitto['p50_ms']:>9.2f}{embedded['p99_ms'] / mosquitto['p99_ms']:>9.2f}")


if __name__ == "__main__":
    main()
