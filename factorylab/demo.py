"""`factorylab demo` (what `make demo` runs): the product's main job end to end on the embedded defaults.

It runs the three flows a new user should see work before trusting the rest:
1. the plant: a recorded dataset with a fault and its ground truth, a working week's KPIs, and the live
   stream through an in-process MQTT broker while a client listens and sends setpoint commands (one accepted,
   one refused with a reason);
2. the labs: every lab of `labs/` released with nbgrader into a course folder;
3. grading and the evaluators' view: a synthetic cohort of one lab (correct, partial and broken submissions)
   graded in the sandboxed pool, feedback pages, a grades export, one answer graded by hand and one jury
   decision recorded, the criteria coverage matrix and the learners' competency report with their badges.
Everything is written under one folder whose `index.html` (and `README.md`) links each result; the last lines
printed say where to look.
"""

import json
import threading
import time
from collections import Counter
from pathlib import Path

from autograde.catalogue import load_catalogue
from autograde.cohort import build_synthetic_cohort
from autograde.competency import build_report
from autograde.coverage import build_coverage
from autograde.export import export
from autograde.feedback import feedback
from autograde.grade import format_summary, grade
from autograde.marking import mark, pending_answers
from autograde.observations import record_observation
from autograde.release import release
from factorylab.demo_index import write_index
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
    decided = record_demo_decisions(course, min(kinds))
    build_coverage(labs_dir=labs_dir, out_dir=reports)
    build_report(course_dir=course, labs_dir=labs_dir, out_dir=reports)
    print(f"\n[6/6] feedback in {course / 'feedback'}, grades in {out_dir / 'grades'}, {decided}, "
          f"coverage and competency reports (French) in {reports}", flush=True)

    (out_dir / "README.md").write_text(_index_markdown())
    write_index(out_dir, OUTPUTS, COHORT_LAB)
    print(f"\ndone: open {out_dir / 'index.html'} (or read {out_dir / 'README.md'})")
    return out_dir


def record_demo_decisions(course: Path, learner: str) -> str:
    """What a trainer and a jury add by hand, so the reports show it: one written answer of `learner` graded from
    the terminal (`factorylab mark`), and a decision on a criterion assessed outside the labs (`factorylab
    observe`). Returns a line saying so."""
    answers = [answer for answer in pending_answers(course_dir=course, labs=[COHORT_LAB]) if answer.learner == learner]
    if answers:
        mark(lab=answers[0].lab, learner=learner, grade_id=answers[0].grade_id, score=answers[0].max_score,
             comment="Demo: graded from the terminal with factorylab mark.", course_dir=course)
    outside = next(key for key, criterion in load_catalogue().criteria.items() if criterion.assessment == "outside")
    record_observation(learner=learner, criterion=outside, decision="acquired", context="oral", assessor="Demo jury",
                       evidence="Demo: recorded with factorylab observe after the oral.", course_dir=course)
    return (f"{learner}: {len(answers[:1])} answer graded by hand and a jury's decision on {outside} recorded")


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
    ("reports/cohort.html", "the jury's view: each learner by bloc and competence, then every criterion with its "
                            "status and score; a page per learner (`reports/learners/`, printable on A4) with every "
                            "piece of evidence; `reports/competency.csv` for the jury, `reports/badges/` as Open "
                            "Badges 3.0"),
)


def _index_markdown() -> str:
    rows = "\n".join(f"| [`{path}`]({path}) | {what} |" for path, what in OUTPUTS)
    return f"# factorylab demo output\n\n| file | what it is |\n|---|---|\n{rows}\n"


