"""`factorylab demo` (what `make demo` runs): the product's main job end to end on the embedded defaults.

It touches every flow a new user should see work before trusting the rest: it records a dataset of the
default plant with a fault and its ground truth, simulates a working week and summarises its KPIs, then
streams the plant live through an in-process MQTT broker while a client listens and sends it setpoint
commands (one it accepts, one it refuses with a reason). Everything is written under one folder whose
`README.md` says what each file is; the last lines printed say where to look.
"""

import json
import threading
import time
from collections import Counter
from pathlib import Path

from simulators import topics
from simulators.dataset import write_dataset
from simulators.kpis import compute_kpis, format_kpis
from simulators.line import simulate
from simulators.live import LivePlant
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario
from simulators.seeding import DEFAULT_SEED
from simulators.transport import MqttClient

DATASET_SCENARIO = "cooling_failure"
DATASET_HOURS = 8.0  # one shift
KPI_HOURS = 120.0  # Monday 06:00 to Saturday 06:00: the working week
LIVE_SPEED = 120.0  # simulated seconds per wall second
LIVE_WALL_S = 6.0  # how long the live stream runs
REPLY_TIMEOUT_S = 10.0


def run_demo(*, out_dir: Path = Path("demo-output"), seed: int = DEFAULT_SEED) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plant = load_plant()
    print(f"plant: {plant.name} ({len(plant.stations)} stations, seed {seed})", flush=True)

    dataset = write_dataset(plant=plant, scenario=load_scenario(DATASET_SCENARIO, plant), seed=seed,
                            hours=DATASET_HOURS, out_dir=out_dir / "dataset", fmt="parquet")
    print(f"\n[1/3] dataset: {DATASET_HOURS:g} h of scenario '{DATASET_SCENARIO}' -> {dataset}", flush=True)

    kpis = compute_kpis(simulate(plant, hours=KPI_HOURS, seed=seed))
    (out_dir / "kpis.json").write_text(json.dumps(kpis, indent=2, sort_keys=True) + "\n")
    print(f"\n[2/3] KPIs over {KPI_HOURS:g} simulated hours:\n{format_kpis(kpis)}", flush=True)

    live = stream_live(plant, seed)
    (out_dir / "live.json").write_text(json.dumps(live, indent=2, sort_keys=True) + "\n")
    print(f"\n[3/3] live stream on {live['broker']}: {live['messages']} messages received in {LIVE_WALL_S:g} s "
          f"({live['simulated_s']:.0f} simulated seconds)", flush=True)
    for reply in live["replies"]:
        verdict = "accepted" if reply["ok"] else f"refused: {reply['reason']}"
        print(f"      command {reply['id']}: {verdict}")

    index = out_dir / "README.md"
    index.write_text(_index_text(dataset, out_dir))
    print(f"\ndone: see {index} (dataset card: {dataset / 'DATACARD.md'})")
    return out_dir


def stream_live(plant, seed: int) -> dict:
    """Run the live plant for a few seconds with a listener that counts topics and sends two commands."""
    received: Counter[str] = Counter()
    replies: list[dict] = []
    answered = threading.Condition()

    def on_message(message) -> None:
        kind = message.topic.rsplit("/", 1)[-1]
        received[kind if kind.startswith("_") else "readings"] += 1
        if kind == topics.REPLY:
            with answered:
                replies.append(json.loads(message.payload))
                answered.notify_all()

    with LivePlant(plant=plant, seed=seed, speed=LIVE_SPEED) as live, \
            MqttClient(live.broker_url, client_id="factorylab-demo-listener") as listener:
        listener.subscribe(f"{live.prefix}/#", on_message)
        commands = [
            {"id": "demo-conwip", "command": "set_conwip", "value": 8},
            {"id": "demo-speed", "command": "set_speed", "station": "cnc", "value": 5.0},
        ]
        for command in commands:
            listener.publish(f"{live.prefix}/{topics.COMMAND}", topics.encode(command), qos=1)
        with answered:
            answered.wait_for(lambda: len(replies) == len(commands), timeout=REPLY_TIMEOUT_S)
        time.sleep(LIVE_WALL_S)
        simulated_s = live.t_s
    return {"broker": live.broker_url, "simulated_s": simulated_s, "messages": sum(received.values()),
            "by_kind": dict(received), "replies": replies}


def _index_text(dataset: Path, out_dir: Path) -> str:
    rows = [
        (f"`{dataset.relative_to(out_dir)}/`",
         f"{DATASET_HOURS:g} h of the default plant under scenario `{DATASET_SCENARIO}`: raw readings, MES events, "
         "machine states, ground-truth fault windows; its `DATACARD.md` explains every column"),
        ("`kpis.json`", f"the line's KPIs over a simulated working week ({KPI_HOURS:g} h): throughput, cycle time, "
                        "WIP, per-station state times, OEE"),
        ("`live.json`", "what a client saw of the live MQTT stream: messages by topic kind and the plant's replies "
                        "to two setpoint commands"),
    ]
    table = "\n".join(f"| {name} | {what} |" for name, what in rows)
    return f"# factorylab demo output\n\n| file | what it is |\n|---|---|\n{table}\n"
