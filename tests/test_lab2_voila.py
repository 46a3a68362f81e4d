"""lab2_dashboard served by Voilà, in a real headless Chromium: the live dashboard renders and its values move.

Voilà executes the solution notebook (source version) in a fresh kernel; its live section keeps the plant
streaming when served by Voilà. Chromium is driven over the DevTools protocol: the test reads the live
dashboard's text twice, a few seconds apart, as someone watching the screen would.
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
    command = [str(Path(sys.executable).parent / "voila"), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
               "lab2_dashboard.ipynb"]
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


def test_the_served_dashboard_shows_live_values_that_change(chromium, voila_url, tmp_path):
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
        call("Runtime.evaluate", expression=f"document.querySelector('{LIVE}').scrollIntoView()")
        shot = call("Page.captureScreenshot", format="png")["data"]
        (tmp_path / "live_dashboard.png").write_bytes(base64.b64decode(shot))
