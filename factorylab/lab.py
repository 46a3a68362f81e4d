"""`factorylab lab`: the learner's one command — the live plant in the background, JupyterLab in front.

JupyterLab opens the learner's workspace (`~/factorylab-labs`, `$FACTORYLAB_WORKSPACE` or `--workspace`),
never the lab sources, which hold the solutions: the labs of `--sources` (default: the `labs/` folder beside
this package, whatever the current directory) that the workspace does not hold yet are released into it
first (nbgrader's learners' versions, every given cell read-only so the answer cells stand out), and a lab
already there is never overwritten, so a learner's work survives every restart. The labs are released in the
learner's language (`--lang`, else the locale's when factorylab speaks it, else French: factorylab/messages.py);
a lab already in the workspace keeps the language it was released in.

JupyterLab runs with the learners' configuration, `learner_jupyter/` copied into its own configuration folder
(`~/.config/factorylab/jupyter`, as JUPYTER_CONFIG_DIR: a trainer's own Jupyter settings on the same account
do not leak in): nbgrader's extensions, the trainer's tools, are off (its lab extension, and its server
extensions, whose course-folder check would log a red error at every start), and its custom CSS marks the
editable cells.

The plant streams to the embedded broker (or the one given) for as long as JupyterLab runs. Notebooks find
the broker and the learner's seed through the environment variables `FACTORYLAB_BROKER` and `FACTORYLAB_SEED`
(see `simulators.learner`), which JupyterLab passes on to every kernel it starts, so a lab never hard-codes a
host, a port or a seed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograde.i18n import DEFAULT_LANGUAGE
from autograde.release import available_labs, release
from factorylab.messages import _
from simulators.errors import SimulatorError
from simulators.learner import BROKER_ENV, SEED_ENV
from simulators.live import LivePlant

WORKSPACE_ENV = "FACTORYLAB_WORKSPACE"
LEARNER_CONFIG = Path(__file__).resolve().with_name("learner_jupyter")


def default_sources() -> Path:
    """The lab sources released into a new workspace: the repository's `labs/`, beside this package."""
    return Path(__file__).resolve().parents[1] / "labs"


def default_workspace() -> Path:
    """Where a learner's notebooks live: `$FACTORYLAB_WORKSPACE`, else `~/factorylab-labs`."""
    return Path(os.environ.get(WORKSPACE_ENV) or Path.home() / "factorylab-labs")


def prepare_workspace(*, sources: Path, workspace: Path, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """Release into `workspace`, in `language`, every lab of `sources` it does not hold yet; return those labs.

    A lab folder already in the workspace is the learner's work: it is left exactly as it is.
    """
    new = [lab for lab in available_labs(sources) if not (workspace / lab).exists()]
    if not new and not workspace.is_dir():
        raise SimulatorError(f"{workspace}: no such workspace, and no lab to put in it under {sources}: pass "
                             "--workspace the folder holding your lab notebooks, or --sources the labs to release")
    workspace.mkdir(parents=True, exist_ok=True)
    if new:
        with tempfile.TemporaryDirectory() as course:
            for released in release(labs_dir=sources, course_dir=Path(course), labs=new, check=False,
                                    language=language):
                shutil.copytree(released, workspace / released.name)
                for notebook in (workspace / released.name).glob("*.ipynb"):
                    prepare_notebook(notebook)
    return new


def prepare_notebook(path: Path) -> None:
    """Make a released notebook ready for the learner's JupyterLab. Every cell but the answer cells (nbgrader's
    solution cells) becomes read-only and undeletable, as nbgrader's `LockCells.lock_all_cells` does: JupyterLab
    then shows at a glance where to write (learner_jupyter/custom/custom.css), and a given cell cannot be broken
    by mistake. Its kernel metadata is written as this Python's kernel reports it, which JupyterLab would
    otherwise fill in on opening and so mark the untouched notebook modified. Grading is unaffected: nbgrader
    ignores these metadata fields."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if not cell.metadata.get("nbgrader", {}).get("solution", False):
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    name = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    spec = KernelSpecManager().get_kernel_spec(name)
    notebook.metadata["kernelspec"] = {"name": name, "display_name": spec.display_name, "language": spec.language}
    notebook.metadata["language_info"] = dict(IPythonKernel.language_info)
    nbformat.write(notebook, path)


def jupyterlab_command(*, labs_dir: Path, port: int, open_browser: bool) -> list[str]:
    """The JupyterLab command line; `--allow-root` because training VMs and containers often run as root."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={labs_dir}", f"--ServerApp.port={port}"]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def learner_config_dir() -> Path:
    """JupyterLab's configuration folder for learners (its settings and layouts persist there too)."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "factorylab" / "jupyter"


def learner_environment(environ: dict[str, str], config_dir: Path) -> dict[str, str]:
    """`environ` with `config_dir` holding the learners' configuration as JupyterLab's JUPYTER_CONFIG_DIR."""
    shutil.copytree(LEARNER_CONFIG, config_dir, dirs_exist_ok=True)
    return {**environ, "JUPYTER_CONFIG_DIR": str(config_dir)}


def run_lab(*, plant, scenario, seed: int, broker_url: str | None, speed: float, sources: Path, workspace: Path,
            port: int, open_browser: bool, language: str = DEFAULT_LANGUAGE) -> int:
    new = prepare_workspace(sources=sources, workspace=workspace, language=language)
    if new:
        print(_("released into {workspace} ({language}): {labs}").format(workspace=workspace, language=language,
                                                                          labs=", ".join(new)), flush=True)
    live = LivePlant(plant=plant, scenario=scenario, seed=seed, broker_url=broker_url, speed=speed)
    started = live.start()
    url = broker_url or started.broker_url  # the notebooks get the credentials; the terminal never shows them
    print(_("plant streaming on {url} (exported to notebooks as {variable})").format(
        url=live.display_url, variable=BROKER_ENV), flush=True)
    try:
        env = learner_environment({**os.environ, BROKER_ENV: url, SEED_ENV: str(seed)}, learner_config_dir())
        return subprocess.call(jupyterlab_command(labs_dir=workspace, port=port, open_browser=open_browser), env=env)
    finally:
        live.stop()
