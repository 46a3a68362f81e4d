"""`factorylab lab`: the learner's one command — the live plant in the background, JupyterLab in front.

The plant streams to the embedded broker (or the one given) for as long as JupyterLab runs. Notebooks
find the broker and the learner's seed through the environment variables `FACTORYLAB_BROKER` and
`FACTORYLAB_SEED` (see `simulators.learner`), which JupyterLab passes on to every kernel it starts, so a
lab never hard-codes a host, a port or a seed.
"""

import os
import subprocess
import sys
from pathlib import Path

from simulators.errors import SimulatorError
from simulators.learner import BROKER_ENV, SEED_ENV
from simulators.live import LivePlant


def jupyterlab_command(*, labs_dir: Path, port: int, open_browser: bool) -> list[str]:
    """The JupyterLab command line; `--allow-root` because training VMs and containers often run as root."""
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={labs_dir}", f"--ServerApp.port={port}"]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def run_lab(*, plant, scenario, seed: int, broker_url: str | None, speed: float, labs_dir: Path, port: int,
            open_browser: bool) -> int:
    if not labs_dir.is_dir():
        raise SimulatorError(f"{labs_dir}: no such folder of labs; pass --labs DIR (the folder holding the notebooks)")
    live = LivePlant(plant=plant, scenario=scenario, seed=seed, broker_url=broker_url, speed=speed)
    url = live.start().broker_url
    print(f"plant streaming on {url} (exported to notebooks as {BROKER_ENV})", flush=True)
    try:
        env = {**os.environ, BROKER_ENV: url, SEED_ENV: str(seed)}
        return subprocess.call(jupyterlab_command(labs_dir=labs_dir, port=port, open_browser=open_browser), env=env)
    finally:
        live.stop()
