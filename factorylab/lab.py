"""`factorylab lab`: the learner's one command — the live plant in the background, JupyterLab in front.

JupyterLab opens the learner's workspace (`~/factorylab-labs`, `$FACTORYLAB_WORKSPACE` or `--workspace`),
never the lab sources, which hold the solutions: the labs of `--sources` that the workspace does not hold yet
are released into it first (nbgrader's learners' versions), and a lab already there is never overwritten,
so a learner's work survives every restart. The plant streams to the embedded broker (or the one given) for
as long as JupyterLab runs. Notebooks find the broker and the learner's seed through the environment
variables `FACTORYLAB_BROKER` and `FACTORYLAB_SEED` (see `simulators.learner`), which JupyterLab passes on to
every kernel it starts, so a lab never hard-codes a host, a port or a seed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograde.release import available_labs, release
from simulators.errors import SimulatorError
from simulators.learner import BROKER_ENV, SEED_ENV
from simulators.live import LivePlant

WORKSPACE_ENV = "FACTORYLAB_WORKSPACE"


def default_workspace() -> Path:
    """Where a learner's notebooks live: `$FACTORYLAB_WORKSPACE`, else `~/factorylab-labs`."""
    return Path(os.environ.get(WORKSPACE_ENV) or Path.home() / "factorylab-labs")


def prepare_workspace(*, sources: Path, workspace: Path) -> list[str]:
    """Release into `workspace` every lab of `sources` it does not hold yet; return those labs.

    A lab folder already in the workspace is the learner's work: it is left exactly as it is.
    """
    new = [lab for lab in available_labs(sources) if not (workspace / lab).exists()]
    if not new and not workspace.is_dir():
        raise SimulatorError(f"{workspace}: no such workspace, and no lab to put in it under {sources}: pass "
                             "--workspace the folder holding your lab notebooks, or --sources the labs to release")
    workspace.mkdir(parents=True, exist_ok=True)
    if new:
        with tempfile.TemporaryDirectory() as course:
            for released in release(labs_dir=sources, course_dir=Path(course), labs=new, check=False):
                shutil.copytree(released, workspace / released.name)
    return new


def jupyterlab_command(*, labs_dir: Path, port: int, open_browser: bool) -> list[str]:
    """The JupyterLab command line; `--allow-root` because training VMs and containers often run as root."""
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={labs_dir}", f"--ServerApp.port={port}"]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def run_lab(*, plant, scenario, seed: int, broker_url: str | None, speed: float, sources: Path, workspace: Path,
            port: int, open_browser: bool) -> int:
    new = prepare_workspace(sources=sources, workspace=workspace)
    if new:
        print(f"released into {workspace}: {', '.join(new)}", flush=True)
    live = LivePlant(plant=plant, scenario=scenario, seed=seed, broker_url=broker_url, speed=speed)
    url = live.start().broker_url
    print(f"plant streaming on {url} (exported to notebooks as {BROKER_ENV})", flush=True)
    try:
        env = {**os.environ, BROKER_ENV: url, SEED_ENV: str(seed)}
        return subprocess.call(jupyterlab_command(labs_dir=workspace, port=port, open_browser=open_browser), env=env)
    finally:
        live.stop()
