"""lab2_dashboard's wall-screen view served by Voilà, in a real headless Chromium: only the live dashboard,
readable from a distance, and its values move.

Voilà executes the solution notebook (source version) in a fresh kernel with the lab's `dashboard-only`
template, which shows the cells tagged "dashboard" and nothing else; its live section keeps the plant
streaming when served by Voilà. Chromium is driven over the DevTools protocol: the test reads the page twice,
a few seconds apart, as a supervisor watching the screen above the CNC would, and keeps a screenshot.
"""

import base64
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chromium import devtools_page, find_chromium

from labkit.lab2_dashboard import STATE_COLOURS

pytestmark = pytest.mark.browser

LAB_DIR = Path(__file__).resolve().parents[1] / "labs" / "lab2_dashboard"
WINDOW = ["--window-size=1400,1000"]
LIVE = ".factorylab-live"


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    env = {key: value for key, value in os.environ.items() if key != "FACTORYLAB_BROKER"}  # embedded broker
    env["JUPYTER_PATH"] = "jupyter"  # the lab's own templates, as its section 8 says
    command = [str(Path(sys.executable).parent / "voila"), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
               "--template=dashboard-only", "lab2_dashboard.ipynb"]
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=LAB_DIR, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_the_wall_screen_shows_only_the_live_dashboard_and_its_values_change(chromium, voila_url, tmp_path):
    with devtools_page(chromium, tmp_path / "profile", extra_flags=WINDOW, reply_timeout_s=60) as page:
        call = page.call

        def live_text() -> str:
            expression = f"(() => {{ const e = document.querySelector('{LIVE}'); return e ? e.innerText : ''; }})()"
            return call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value", "")

        def rendered(timeout_s: float) -> bool:
            deadline = time.monotonic() + timeout_s  # Voilà executes the whole notebook first
            while "mm/s" not in live_text() or not re.search(r"\d\d:\d\d:\d\d", live_text()):
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.5)
            return True

        # The first page of a fresh Voilà server sometimes loses its kernel connection while the notebook
        # executes (the server logs "Starting buffering"); a second visit, as a person would, renders.
        call("Page.navigate", url=voila_url)
        if not rendered(45):
            call("Page.navigate", url=voila_url)
            assert rendered(60), "the live dashboard did not render within 60 s of a second visit"
        first = live_text()
        for unit in ("mm/s", "kW", "°C", "bar"):
            assert unit in first, f"unit {unit} missing from the live dashboard"
        assert re.search(r"(running|starved|blocked|down|planned_stop)", first), "no machine state on the lights"
        gauge = re.search(r"(\d+\.\d\d) mm/s", first)
        assert gauge, f"the vibration gauge shows no value: {first[:500]!r}"
        time.sleep(3)
        second = live_text()
        assert second != first, "the live dashboard did not change in 3 s"
        times = lambda text: re.findall(r"\d\d:\d\d:\d\d", text)  # noqa: E731 - the table's time column
        assert max(times(second)) > max(times(first)), "the table's reading times did not move forward"
        page_text = page.evaluate("document.body.innerText")
        for lab_text in ("BEGIN SOLUTION", "Rubric", "The brief", "cahier des charges", "YOUR ANSWER", "Traceback"):
            assert lab_text not in page_text, f"the wall screen shows lab text: {lab_text!r}"
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 1600, f"the wall screen is {height} px tall: more than the dashboard"
        banner = page.evaluate("document.querySelector('.factorylab-feed').innerText")
        assert "LIVE" in banner and re.search(r"last reading \d\d:\d\d:\d\d UTC", banner), banner
        sizes = page.evaluate(f"[...document.querySelectorAll('{LIVE} .widget-html-content > div')]"
                              ".map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert len(sizes) == 5 and min(sizes) >= 28, f"status lights too small to read across an aisle: {sizes}"
        assert "alarm limit 4.5 mm/s" in page.evaluate(f"document.querySelector('{LIVE}').textContent"), \
            "the gauge's limit mark is labelled"
        fills = page.evaluate(f"[...document.querySelectorAll('{LIVE} .barlayer .point path')]"
                              ".map(e => getComputedStyle(e).fill)")
        state_fills = {f"rgb({int(c[1:3], 16)}, {int(c[3:5], 16)}, {int(c[5:7], 16)})" for c in STATE_COLOURS.values()}
        assert len(fills) == 5 and set(fills) <= state_fills, f"power bars not coloured by machine state: {fills}"
        shot = call("Page.captureScreenshot", format="png")["data"]
        (tmp_path / "wall_screen.png").write_bytes(base64.b64decode(shot))
