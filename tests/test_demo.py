"""`make demo`'s job runs end to end and leaves what its index page promises."""

import json

from factorylab.demo import run_demo


def test_demo_writes_a_dataset_kpis_and_a_live_stream_summary(tmp_path, capsys):
    out = run_demo(out_dir=tmp_path / "demo", seed=3)
    index = (out / "README.md").read_text()
    for name in ("dataset/", "kpis.json", "live.json"):
        assert name in index and (out / name.rstrip("/")).exists()
    assert json.loads((out / "dataset" / "manifest.json").read_text())["scenario"] == "cooling_failure"
    assert 0 < json.loads((out / "kpis.json").read_text())["oee"]["oee"] <= 1
    live = json.loads((out / "live.json").read_text())
    assert live["by_kind"]["readings"] > 1000 and live["simulated_s"] > 60
    verdicts = {reply["id"]: reply["ok"] for reply in live["replies"]}
    assert verdicts == {"demo-conwip": True, "demo-speed": False}
    assert f"see {out / 'README.md'}" in capsys.readouterr().out
