"""`make demo`'s job runs end to end and leaves what its index page promises."""

import csv
import json

from factorylab.demo import COHORT_LAB, OUTPUTS, run_demo


def test_demo_runs_the_plant_the_labs_and_the_grading_and_indexes_every_result(tmp_path, capsys):
    out = run_demo(out_dir=tmp_path / "demo", seed=3)
    index = (out / "index.html").read_text()
    for path, _ in OUTPUTS:
        assert f'href="{path}"' in index and (out / path).exists(), path

    assert json.loads((out / "dataset" / "manifest.json").read_text())["scenario"] == "cooling_failure"
    assert 0 < json.loads((out / "kpis.json").read_text())["oee"]["oee"] <= 1
    live = json.loads((out / "live.json").read_text())
    assert live["by_kind"]["readings"] > 1000 and live["simulated_s"] > 60
    assert {reply["id"]: reply["ok"] for reply in live["replies"]} == {"demo-conwip": True, "demo-speed": False}

    labs = sorted(path.name for path in (out / "course" / "release").iterdir())
    assert COHORT_LAB in labs and len(labs) >= 3
    with (out / "grades" / "grades.csv").open() as grades:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(grades)
                  if row["assignment"] == COHORT_LAB}
    assert len(scores) == 6 and max(scores.values()) > 0 and min(scores.values()) == 0
    assert (out / "reports" / "cohort.html").read_text().count("learner0") >= 6
    assert f"open {out / 'index.html'}" in capsys.readouterr().out
