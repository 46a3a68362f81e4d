"""The learners' JupyterLab (`factorylab lab`): started from anywhere, without the trainer's nbgrader tools,
answer cells marked, a notebook untouched on opening.

The browser test runs the real JupyterLab with the learners' configuration on a released lab2 and opens it in
headless Chromium, as a learner would.
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from chromium import devtools_page, find_chromium

from factorylab.cli import build_parser
from factorylab.lab import default_sources, jupyterlab_command, learner_environment, prepare_workspace

LAB = "lab2_dashboard"


def test_the_lab_sources_do_not_depend_on_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert build_parser().parse_args(["lab"]).sources is None  # resolved by default_sources(), not the cwd
    assert default_sources().is_absolute()
    assert (default_sources() / LAB / f"{LAB}.ipynb").is_file()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """lab2 released into a learner's workspace, as `factorylab lab` does on its first start."""
    root = tmp_path_factory.mktemp("learner")
    sources = root / "sources"
    sources.mkdir()
    (sources / LAB).symlink_to(default_sources() / LAB)
    assert prepare_workspace(sources=sources, workspace=root / "workspace") == [LAB]
    return root / "workspace"


def test_only_the_answer_cells_of_a_released_lab_are_editable(workspace):
    notebook = nbformat.read(workspace / LAB / f"{LAB}.ipynb", as_version=4)
    answers = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    given = [cell for cell in notebook.cells if cell not in answers]
    assert answers and given
    assert all(cell.metadata.get("editable", True) for cell in answers)
    assert not any(cell.metadata.get("editable", True) or cell.metadata.get("deletable", True) for cell in given)
    assert notebook.metadata["language_info"]["version"] == ".".join(map(str, sys.version_info[:3]))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(workspace, tmp_path_factory):
    """The learners' JupyterLab on the workspace: (base URL with token, its log file)."""
    port, root = _free_port(), tmp_path_factory.mktemp("jupyter")
    log = root / "jupyterlab.log"
    environ = {**os.environ, "HOME": str(root), "XDG_CONFIG_HOME": str(root / "config")}
    command = [*jupyterlab_command(labs_dir=workspace, port=port, open_browser=False),
               "--IdentityProvider.token=learner", "--LabApp.expose_app_in_browser=True"]
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=learner_environment(environ, root / "config" / "factorylab"),
                                   stdout=sink, stderr=subprocess.STDOUT, cwd=root)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=learner", timeout=5)
                    break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}", log
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_the_trainer_s_nbgrader_tools_are_off_and_start_raises_no_error(jupyterlab):
    url, log = jupyterlab
    page = urllib.request.urlopen(f"{url}/lab?token=learner", timeout=30).read().decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert "@jupyter/nbgrader" in config["disabledExtensions"], "nbgrader's lab extension must be disabled"
    for path in ("/formgrader", "/assignments", "/formgrader/api/assignments"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{url}{path}?token=learner", timeout=30)
    assert b"your answer" in urllib.request.urlopen(f"{url}/custom/custom.css?token=learner", timeout=30).read()
    text = log.read_text()
    assert "not a subdirectory of the notebook server root" not in text
    assert not re.search(r"^\[E ", text, re.M), text[-2000:]


@pytest.mark.browser
def test_a_learner_sees_the_answer_cells_and_an_unmodified_notebook(jupyterlab, workspace, tmp_path):
    url, _ = jupyterlab
    notebook = nbformat.read(workspace / LAB / f"{LAB}.ipynb", as_version=4)
    answers = sum(bool(cell.metadata.get("nbgrader", {}).get("solution")) for cell in notebook.cells)
    with devtools_page(find_chromium(), tmp_path / "profile", extra_flags=["--window-size=1400,1000"],
                       reply_timeout_s=60) as page:
        page.call("Page.navigate", url=f"{url}/lab/tree/{LAB}/{LAB}.ipynb?token=learner&reset")
        deadline = time.monotonic() + 60
        while page.evaluate("document.querySelectorAll('.jp-Notebook .jp-Cell').length") < len(notebook.cells):
            assert time.monotonic() < deadline, "the notebook did not open within 60 s"
            time.sleep(0.5)
        time.sleep(5)  # the kernel starts and reports its language_info, which used to mark the notebook modified
        assert page.evaluate("document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty').length") == 0, \
            "the notebook is marked modified though the learner changed nothing"
        marked = page.evaluate("document.querySelectorAll('.jp-Notebook .jp-Cell:not(:has(.jp-mod-readOnly))')"
                               ".length")
        assert marked == answers, f"{marked} cells marked as answers, the lab has {answers}"
        colour = page.evaluate("getComputedStyle(document.querySelector("
                               "'.jp-Notebook .jp-Cell:not(:has(.jp-mod-readOnly))')).borderLeftColor")
        assert colour == "rgb(21, 101, 192)", "answer cells carry the learners' CSS mark"
        menus = page.evaluate("[...document.querySelectorAll('.lm-MenuBar-itemLabel')].map(e => e.textContent)")
        assert "Nbgrader" not in menus
        shot = page.call("Page.captureScreenshot", format="png")["data"]
        (tmp_path / "learner_lab.png").write_bytes(base64.b64decode(shot))
