"""Run one submission's notebook in the sandbox, within limits, and judge it: the executed, judged notebook.

This is the only place where a learner's code runs during grading, and the place its results are judged.
For each notebook, in a grading worker (autograde/pool.py):
1. the learner's graded variant is prepared (autograde/variants.py, cached per lab and seed): the data and the
   grader's inputs the kernel may read, derived from the course's secret;
2. a staging folder receives the notebook's declared files (the lab's assets, nothing else the learner sent);
3. the kernel starts in a bubblewrap sandbox (autograde/bwrap.py): working copy `/lab` on a tmpfs of
   `disk_mb`, the variant read-only at `/variant`, Python and the learner kit read-only (of the kit, only
   the modules the lab's own needs: autograde/kit.py), nothing else; no
   network, its own PID namespace, no capabilities; an address-space limit, a file-size limit and a process
   limit (`prlimit`); its standard output and error go nowhere (it cannot hold the grader's pipes open).
   The kernel's ZMQ sockets are Unix sockets inside `/lab`, reached from here through the sandbox's own root
   (`/proc/<pid>/root`), since it shares no network with the grader;
4. nbgrader's `Execute` runs the cells, with a per-cell timeout, a notebook deadline, and per-cell output and
   evidence caps: past them, outputs are dropped and the cell gets an error;
5. the kernel is killed with its whole sandbox (bwrap's PID namespace: nothing outlives it);
6. `JudgeEvidence` (autograde/preprocessors/judge.py) decides every automatic test cell here, in the grader's
   process, from the evidence the kernel recorded.

nbgrader scores a test cell by its outputs: no error means full marks. So a cell that never ran (the kernel
died, the deadline passed) would pass; here every code cell that did not complete gets an error output saying
why, and scores zero by nbgrader's own rule, and every automatic test cell passes only on its verdict.

Without bubblewrap (`sandbox_available()` false), `factorylab grade` refuses to grade unless told `--unsafe`:
the kernel then runs as a plain process with the same limits, no isolation, and every summary says so.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Any, Bool, Float, Integer, Unicode
from traitlets.config import Config

from autograde.bwrap import VARIANT_DIR, WORKDIR, sandbox_available, sandbox_command
from autograde.i18n import SOURCE_LANGUAGE
from autograde.kit import hidden_kit_files
from autograde.preprocessors.judge import JudgeEvidence, evidence_of
from autograde.variants import Variant, prepare_variant
from autograde.verdicts import lab_verdicts
from simulators.seeding import VARIANT_ENV

SANDBOX_DIR_ENV = "FACTORYLAB_SANDBOX_DIR"
NOT_EXECUTED = "NotExecuted"
OUTPUT_LIMIT = "OutputLimitError"
CONNECTION_FILE = ".kernel.json"
SOCKETS = ".kernel"


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Defaults suit the labs: a cell computes in seconds, a notebook in minutes."""

    cell_timeout_s: int = 30
    notebook_timeout_s: int = 300
    memory_mb: int = 2048  # address space: numpy and pandas reserve far more than they touch
    file_size_mb: int = 64
    disk_mb: int = 256  # the working copy's tmpfs
    processes: int = 256  # beyond those the grader's user already runs
    max_output_bytes: int = 1_000_000  # per cell, evidence aside
    max_evidence_bytes: int = 32_000_000  # per cell


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ExecutionJob:
    """One notebook to execute and judge: its sanitized JSON, the files to put beside it (name -> path to
    copy), and the learner's graded variant (None: run only, nothing judged)."""

    lab: str
    learner: str
    notebook: str
    notebook_json: str
    files: dict[str, str] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    variant: Variant | None = None
    unsafe: bool = False  # run without the sandbox (bubblewrap missing), as the trainer explicitly allowed
    language: str = SOURCE_LANGUAGE  # the feedback's: the course's language


@dataclass(frozen=True)
class ExecutionResult:
    """The executed and judged notebook's JSON, what went wrong (incidents: the execution was cut) and what
    looks tampered with (flags), in plain words."""

    lab: str
    learner: str
    notebook: str
    notebook_json: str
    incidents: tuple[str, ...]
    flags: tuple[str, ...]
    isolated: bool
    duration_s: float


def sandbox_root() -> Path:
    """The folder holding every staging folder (`$FACTORYLAB_SANDBOX_DIR`, else the system's temporary folder)."""
    root = Path(os.environ.get(SANDBOX_DIR_ENV) or tempfile.gettempdir()) / f"factorylab-sandbox-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def kernel_env(home: str, variant_dir: str | None) -> dict[str, str]:
    """The kernel's whole environment: where Python lives, the locale, and the graded variant's folder."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": home,
        "IPYTHONDIR": f"{home}/.ipython",
        "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1"))
    if variant_dir is not None:
        env[VARIANT_ENV] = variant_dir
    return env


def _process_count(uid: int) -> int:
    """How many processes `uid` runs now (RLIMIT_NPROC counts them all, not only the sandbox's)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def _limits_prefix(limits: Limits) -> list[str]:
    """`prlimit` arguments for the kernel and everything it starts (inherited through bwrap)."""
    mib = 2**20
    return ["prlimit", f"--as={limits.memory_mb * mib}", f"--fsize={limits.file_size_mb * mib}",
            f"--nproc={_process_count(os.getuid()) + limits.processes}", "--core=0", "--"]


def _child_of(pid: int, timeout_s: float = 10.0) -> int:
    """The process bwrap `pid` started (the sandbox's init), found by its parent id."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                status = Path(entry.path, "status").read_text()
            except OSError:
                continue
            ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
            if ppid == str(pid):
                return int(entry.name)
        time.sleep(0.01)
    raise RuntimeError(f"the sandbox (bwrap, pid {pid}) started no process within {timeout_s:g} s")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts in the bubblewrap sandbox (or, unsafe, as a limited process)."""

    stage = Unicode("").tag(config=True)
    variant_dir = Unicode("", allow_none=True).tag(config=True)
    lab = Unicode("").tag(config=True)
    limits = Any(DEFAULT_LIMITS).tag(config=True)
    isolate = Bool(True).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        if not self.isolate:
            kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
            return [*_limits_prefix(self.limits), *kernel]
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", f"{WORKDIR}/{CONNECTION_FILE}"]
        env = kernel_env(WORKDIR, VARIANT_DIR if self.variant_dir else None)
        return [*_limits_prefix(self.limits),
                *sandbox_command(stage=Path(self.stage), variant=Path(self.variant_dir) if self.variant_dir else None,
                                 quota_bytes=self.limits.disk_mb * 2**20, env=env, command=kernel,
                                 hidden=hidden_kit_files(self.lab))]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # In the sandbox bwrap sets the kernel's whole environment (--clearenv); bwrap itself needs only PATH.
        kw["env"] = {"PATH": "/usr/bin:/bin"} if self.isolate else kernel_env(self.stage, self.variant_dir or None)
        kw["cwd"] = self.stage
        kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        kw["stdin"] = subprocess.DEVNULL
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.isolate:  # the kernel bound its sockets at /lab/.kernel-N in its own root: reach them there
            init = _child_of(self.provisioner.process.pid)
            self.ip = f"/proc/{init}/root{WORKDIR}/{SOCKETS}"

    async def interrupt_kernel(self) -> None:
        """Interrupt by a message on the control channel: a signal to bwrap does not reach the kernel, which
        runs in its own session and PID namespace."""
        if not self.isolate:
            return await super().interrupt_kernel()
        self._connect_control_socket()
        self.session.send(self._control_socket, self.session.msg("interrupt_request", content={}))

    def kill_sandbox(self) -> None:
        """Kill bwrap (and with it, by `--die-with-parent` and its PID namespace, everything inside)."""
        process = getattr(self.provisioner, "process", None) if self.provisioner else None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


class SandboxedExecute(Execute):
    """nbgrader's Execute with a notebook deadline, per-cell output and evidence caps, and no silent pass for
    cells that never ran."""

    deadline = Float(math.inf).tag(config=True)  # time.monotonic() after which no cell starts
    max_output_bytes = Integer(1_000_000).tag(config=True)
    max_evidence_bytes = Integer(32_000_000).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._completed: set[int] = set()
        self._sizes: dict[tuple[int, bool], int] = {}
        self._incidents: list[str] = []
        self.timeout_func = self._cell_timeout
        return super().preprocess(nb, resources, km)

    def _cell_timeout(self, cell) -> int:
        return max(1, min(self.timeout, math.ceil(self.deadline - time.monotonic())))

    def preprocess_cell(self, cell, resources, index):
        if time.monotonic() >= self.deadline:
            raise NotebookDeadline(index)
        return super().preprocess_cell(cell, resources, index)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        self._completed.add(kwargs["cell_index"])

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        evidence = evidence_of({"output_type": msg.get("msg_type"), "data": content.get("data", {})}) is not None
        size = len(json.dumps(content))
        key = (cell_index, evidence)
        self._sizes[key] = self._sizes.get(key, 0) + size
        cap = self.max_evidence_bytes if evidence else self.max_output_bytes
        if self._sizes[key] <= cap:
            return super().output(outs, msg, display_id, cell_index)
        if not any(out.get("ename") == OUTPUT_LIMIT for out in outs):
            what = "evidence" if evidence else "output"
            outs.append(_error(OUTPUT_LIMIT, f"{what} beyond {cap} bytes in this cell was dropped"))
            self._incidents.append(f"cell {cell_index}: {what} flood, truncated at {cap} bytes")
        return None


class NotebookDeadline(Exception):
    """The notebook's wall-clock limit passed before cell `index` could start."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def execute_job(job: ExecutionJob) -> ExecutionResult:
    """Execute and judge `job` (see the module's docstring); never raises for anything the notebook does."""
    started = time.monotonic()
    isolated = not job.unsafe
    if isolated and not sandbox_available():
        raise RuntimeError("bubblewrap (bwrap) does not run here: install Debian's `bubblewrap`, or grade with "
                           "--unsafe (no isolation)")
    variant_dir = prepare_variant(job.variant) if job.variant is not None else None
    stage = Path(tempfile.mkdtemp(prefix=f"{job.lab}-", dir=sandbox_root()))
    nb = nbformat.reads(job.notebook_json, as_version=nbformat.NO_CONVERT)
    try:
        for name, source in job.files.items():
            target = stage / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        executor = SandboxedExecute(config=_execution_config(job, stage, variant_dir, isolated, started))
        incidents = _run(executor, nb, stage, job.limits)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    flags: list[str] = []
    if job.variant is not None:
        judge = JudgeEvidence(verdicts=lab_verdicts(job.lab), variant=job.variant, language=job.language)
        judge.preprocess(nb, {})
        flags = list(judge.flags)
    return ExecutionResult(lab=job.lab, learner=job.learner, notebook=job.notebook,
                           notebook_json=nbformat.writes(nb), incidents=tuple(incidents), flags=tuple(flags),
                           isolated=isolated, duration_s=time.monotonic() - started)


def _execution_config(job: ExecutionJob, stage: Path, variant_dir: Path | None, isolated: bool,
                      started: float) -> Config:
    config = Config()
    config.SandboxedExecute.timeout = job.limits.cell_timeout_s
    config.SandboxedExecute.deadline = started + job.limits.notebook_timeout_s
    config.SandboxedExecute.max_output_bytes = job.limits.max_output_bytes
    config.SandboxedExecute.max_evidence_bytes = job.limits.max_evidence_bytes
    config.SandboxedExecute.kernel_manager_class = SandboxedKernelManager
    config.SandboxedExecute.startup_timeout = min(60, job.limits.notebook_timeout_s)
    config.SandboxedExecute.shutdown_kernel = "immediate"  # outputs are in; a kernel may not answer anyway
    config.SandboxedKernelManager.stage = str(stage)
    config.SandboxedKernelManager.variant_dir = str(variant_dir) if variant_dir else ""
    config.SandboxedKernelManager.lab = job.lab
    config.SandboxedKernelManager.limits = job.limits
    config.SandboxedKernelManager.isolate = isolated
    config.SandboxedKernelManager.connection_file = str(stage / CONNECTION_FILE)
    if isolated:  # no shared network: Unix sockets in the working copy, written for the kernel as /lab/.kernel
        config.SandboxedKernelManager.transport = "ipc"
        config.SandboxedKernelManager.ip = f"{WORKDIR}/{SOCKETS}"
    return config


def _run(executor: SandboxedExecute, nb, stage: Path, limits: Limits) -> list[str]:
    incidents = []
    reason = "the notebook stopped before this cell"
    try:
        executor.preprocess(nb, {"metadata": {"path": str(stage)}})
    except NotebookDeadline as stop:
        reason = f"the notebook's {limits.notebook_timeout_s} s wall-clock limit passed"
        incidents.append(f"wall-clock limit ({limits.notebook_timeout_s} s) reached before cell {stop.index}")
    except DeadKernelError:
        reason = "the kernel died (os._exit, a crash, or the memory limit)"
        incidents.append("the kernel died")
    except Exception as error:  # the kernel did not start or broke the protocol: the learner gets no points
        reason = f"the kernel failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        incidents.append(reason)
    finally:
        km = getattr(executor, "km", None)
        if isinstance(km, SandboxedKernelManager):
            km.kill_sandbox()
    incidents.extend(getattr(executor, "_incidents", []))
    completed = getattr(executor, "_completed", set())
    for ename, what in (("CellTimeoutError", f"cell timeout ({limits.cell_timeout_s} s)"),
                        ("MemoryError", f"memory limit ({limits.memory_mb} MB)")):
        cells = [str(index) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
                 and any(out.get("ename") == ename for out in cell.get("outputs", []))]
        if cells:
            incidents.append(f"{what} in cell(s) {', '.join(cells)}")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip() and index not in completed:
            cell.setdefault("outputs", []).append(_error(NOT_EXECUTED, reason))
    return incidents
