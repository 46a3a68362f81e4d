"""`factorylab demo` (what `make demo` runs): the product's main job end to end on the embedded defaults.

It runs the three flows a new user should see work before trusting the rest:
1. the plant: a recorded dataset with a fault and its ground truth, a working week's KPIs, and the live
   stream through an in-process MQTT broker while a client listens and sends setpoint commands (one accepted,
   one refused with a reason);
2. the labs: every lab of `labs/` released with nbgrader into a course folder;
3. grading and the evaluators' view: a synthetic cohort of one lab (correct, partial and broken submissions)
   graded in the sandboxed pool, feedback pages, a grades export, the criteria coverage matrix and the
   learners' competency report with their badges.
Everything is written under one folder whose `index.html` (and `README.md`) links each result; the last lines
printed say where to look.
"""

import html
import json
import threading
import time
from collections import Counter
from pathlib import Path

from autograde.cohort import build_synthetic_cohort
from autograde.competency import build_report
from autograde.coverage import build_coverage
from autograde.export import export
from autograde.feedback import feedback
from autograde.grade import format_summary, grade
from autograde.release import release
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
COHORT_LAB = "lab1_prepare_data"
COHORT_SIZE = 6  # two correct, two partial, two broken learners


def run_demo(*, out_dir: Path = Path("demo-output"), labs_dir: Path = Path("labs"), seed: int = DEFAULT_SEED) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plant = load_plant()
    print(f"plant: {plant.name} ({len(plant.stations)} stations, seed {seed})", flush=True)

    dataset = write_dataset(plant=plant, scenario=load_scenario(DATASET_SCENARIO, plant), seed=seed,
                            hours=DATASET_HOURS, out_dir=out_dir / "dataset", fmt="parquet")
    print(f"\n[1/6] dataset: {DATASET_HOURS:g} h of scenario '{DATASET_SCENARIO}' -> {dataset}", flush=True)

    kpis = compute_kpis(simulate(plant, hours=KPI_HOURS, seed=seed))
    (out_dir / "kpis.json").write_text(json.dumps(kpis, indent=2, sort_keys=True) + "\n")
    print(f"\n[2/6] KPIs over {KPI_HOURS:g} simulated hours:\n{format_kpis(kpis)}", flush=True)

    live = stream_live(plant, seed)
    (out_dir / "live.json").write_text(json.dumps(live, indent=2, sort_keys=True) + "\n")
    print(f"\n[3/6] live stream on {live['broker']}: {live['messages']} messages received in {LIVE_WALL_S:g} s "
          f"({live['simulated_s']:.0f} simulated seconds)", flush=True)
    for reply in live["replies"]:
        verdict = "accepted" if reply["ok"] else f"refused: {reply['reason']}"
        print(f"      command {reply['id']}: {verdict}")

    course = out_dir / "course"
    released = release(labs_dir=labs_dir, course_dir=course, check=False)
    print(f"\n[4/6] released {len(released)} lab(s) with nbgrader into {course / 'release'}", flush=True)

    kinds = build_synthetic_cohort(course_dir=course, lab=COHORT_LAB, learners=COHORT_SIZE, seed=seed)
    print(f"\n[5/6] grading a synthetic cohort of {len(kinds)} on {COHORT_LAB} "
          f"({', '.join(sorted(set(kinds.values())))})…", flush=True)
    print(format_summary(grade(course_dir=course, labs=[COHORT_LAB], labs_dir=labs_dir)), flush=True)
    feedback(course_dir=course, labs=[COHORT_LAB])
    export(course_dir=course, out_dir=out_dir / "grades")

    reports = out_dir / "reports"
    build_coverage(labs_dir=labs_dir, out_dir=reports)
    build_report(course_dir=course, labs_dir=labs_dir, out_dir=reports)
    print(f"\n[6/6] feedback in {course / 'feedback'}, grades in {out_dir / 'grades'}, "
          f"coverage and competency reports in {reports}", flush=True)

    for name, text in (("README.md", _index_markdown()), ("index.html", _index_html())):
        (out_dir / name).write_text(text)
    print(f"\ndone: open {out_dir / 'index.html'} (or read {out_dir / 'README.md'})")
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


# What the demo leaves, in the order a visitor should look at it: (path, what it is).
OUTPUTS = (
    ("dataset/DATACARD.md", f"{DATASET_HOURS:g} h of the default plant under scenario `{DATASET_SCENARIO}`: raw "
                            "readings, MES events, machine states, ground-truth fault windows, every column explained"),
    ("kpis.json", f"the line's KPIs over a simulated working week ({KPI_HOURS:g} h): throughput, cycle time, WIP, "
                  "per-station state times, OEE"),
    ("live.json", "what a client saw of the live MQTT stream, and the plant's replies to two setpoint commands"),
    ("course/release/", "the learners' versions of every lab, as nbgrader released them (no solutions, no hidden "
                        "tests)"),
    ("course/feedback/", f"one feedback page per learner of the synthetic cohort on `{COHORT_LAB}`"),
    ("grades/grades.csv", "grades per learner and lab; `grades/cells.csv` per graded cell"),
    ("reports/coverage.html", "for every criterion of both referentials: the lab cells that assess it, how, and "
                              "what each checks"),
    ("reports/cohort.html", "each learner's status on every criterion (heat map), with the evidence; "
                            "`reports/competency.csv` for the jury, `reports/badges/` as Open Badges 3.0"),
)


def _index_markdown() -> str:
    rows = "\n".join(f"| [`{path}`]({path}) | {what} |" for path, what in OUTPUTS)
    return f"# factorylab demo output\n\n| file | what it is |\n|---|---|\n{rows}\n"


def _index_html() -> str:
    rows = "\n".join(f'<tr><td><a href="{html.escape(path)}">{html.escape(path)}</a></td>'
                     f"<td>{html.escape(what)}</td></tr>" for path, what in OUTPUTS)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>factorylab demo</title>"
            "<style>body{font-family:sans-serif;margin:2em;max-width:70em}td{padding:.3em .8em;"
            "border-bottom:1px solid #ddd;vertical-align:top}</style></head><body><h1>factorylab demo output</h1>"
            f"<table><tr><th>file</th><th>what it is</th></tr>{rows}</table></body></html>\n")
