"""Run one submission's notebook in isolation, within limits, and return the executed notebook.

This is the only place where a learner's code runs during grading. Each execution gets:
- its own working copy: a fresh temporary folder holding the (sanitized) notebook, the learner's other
  submitted files and the lab's learner-visible assets from `release/<lab>/`, nothing from `source/`;
- its own kernel process, started through a shell wrapper that sets the memory limit (RLIMIT_AS, `ulimit -v`)
  and the largest file it may write (RLIMIT_FSIZE), with an environment stripped to the essentials
  (no secrets inherited from the trainer's shell), HOME and TMPDIR in the working copy;
- where the platform allows unprivileged user namespaces (`unshare -rmn` works; see
  `namespace_isolation_available`): no network (an empty network namespace), its own PID namespace (it
  cannot see or signal the grader), and empty tmpfs mounted over every hidden path (the course directory with
  sources, solutions, gradebook and other learners' submissions; the labs' sources; the other working
  copies). The kernel then talks to the grader over Unix sockets in its working copy (ZMQ `ipc` transport),
  since it has no loopback shared with the grader. Without namespaces the kernel still gets its limits and
  working copy, and the grade summary says the network and file isolation were not available;
- a per-cell timeout (nbgrader's own, which interrupts the kernel) and a per-notebook wall-clock deadline:
  once it passes, the remaining cells are not run;
- an output cap: past `max_output_bytes`, outputs are dropped and the cell gets an error, so a flood of output
  can neither exhaust the grader's memory nor push a test's error out of sight.

nbgrader scores a test cell by its outputs: no error means full marks. So a cell that never ran (the kernel
died, the deadline passed) would pass; here every code cell that did not complete gets an error output saying
why, and scores zero by nbgrader's own rule. Execution itself is nbgrader's `Execute` preprocessor, so the
outputs, and hence the grades, are those `nbgrader autograde` would produce.
"""

import functools
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
from traitlets import Bool, Float, Integer, List, Unicode
from traitlets.config import Config

from simulators.seeding import SEED_ENV

SANDBOX_DIR_ENV = "FACTORYLAB_SANDBOX_DIR"
NOT_EXECUTED = "NotExecuted"
OUTPUT_LIMIT = "OutputLimitError"

# Run by the kernel's Python inside the new network namespace, whose loopback starts down: bring it up, so
# that a lab may run its own broker or SMTP server on 127.0.0.1 (private to this kernel; the grader's and
# the host's loopback stay out of reach). SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP; no iproute2 needed.
LOOPBACK_UP = """
import fcntl, socket, struct
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, struct.pack("16sH14s", b"lo", 0, b"")))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))
"""

# The kernel's wrapper. Positional arguments: AS limit (KiB), file-size limit (KiB), whether to hide paths
# (1/0), the working copy, the Python code bringing loopback up, then the paths to hide, `--`, and the
# kernel command. It keeps a handle on the working copy, covers each hidden path with an empty tmpfs, then
# binds the working copy back in place (it may lie under a hidden path: the sandboxes' common folder).
_WRAPPER = r"""
as_kib=$1; fsize_kib=$2; hide=$3; work=$4; loopback_up=$5; shift 5
exec 3<"$work"
while [ "$1" != "--" ]; do
  mount -t tmpfs -o size=64k,mode=0555 factorylab-hidden "$1" || exit 97
  shift
done
shift
if [ "$hide" = 1 ]; then mkdir -p "$work" && mount --no-canonicalize --bind /proc/self/fd/3 "$work" || exit 98; fi
if [ "$hide" = 1 ]; then "$1" -c "$loopback_up" || exit 95; fi
exec 3<&-
cd "$work" || exit 99
ulimit -v "$as_kib" || exit 96
ulimit -f "$fsize_kib" || exit 96
exec "$@"
"""


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Defaults suit the labs: a cell computes in seconds, a notebook in minutes."""

    cell_timeout_s: int = 30
    notebook_timeout_s: int = 300
    memory_mb: int = 2048  # address space: numpy and pandas reserve far more than they touch
    file_size_mb: int = 64
    max_output_bytes: int = 2_000_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ExecutionJob:
    """One notebook to execute: its sanitized JSON and the files to put beside it (name -> path to copy)."""

    lab: str
    learner: str
    notebook: str
    notebook_json: str
    files: dict[str, str] = field(default_factory=dict)
    hidden_paths: tuple[str, ...] = ()
    limits: Limits = DEFAULT_LIMITS
    seed: int | None = None  # the learner's plant variant, given to the kernel as FACTORYLAB_SEED


@dataclass(frozen=True)
class ExecutionResult:
    """The executed notebook's JSON, and what went wrong in plain words (empty when nothing did)."""

    lab: str
    learner: str
    notebook: str
    notebook_json: str
    incidents: tuple[str, ...]
    isolated: bool
    duration_s: float


@functools.cache
def namespace_isolation_available() -> bool:
    """Whether unprivileged user, mount, network and PID namespaces work here (`unshare -rmn --pid`).

    Linux distributions may disable them (sysctl kernel.unprivileged_userns_clone, AppArmor), containers
    often do; then kernels run without network and file isolation and the grade summary says so.
    """
    if shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(["unshare", "-rmn", "--pid", "--fork", "--mount-proc", "--",
                                "sh", "-c", "mount -t tmpfs none /mnt 2>/dev/null || mount -t tmpfs none /tmp"],
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def sandbox_root() -> Path:
    """The folder holding every working copy (`$FACTORYLAB_SANDBOX_DIR`, else the system's temporary folder)."""
    root = Path(os.environ.get(SANDBOX_DIR_ENV) or tempfile.gettempdir()) / f"factorylab-sandbox-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def kernel_env(workdir: Path, seed: int | None = None) -> dict[str, str]:
    """The kernel's whole environment: nothing inherited but where Python lives and the locale, plus the
    learner's seed when the course assigns one."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "IPYTHONDIR": str(workdir / ".ipython"),
        "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1"))
    if seed is not None:
        env[SEED_ENV] = str(seed)
    return env


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts inside the wrapper above, in the working copy."""

    workdir = Unicode("").tag(config=True)
    memory_mb = Integer(2048).tag(config=True)
    file_size_mb = Integer(64).tag(config=True)
    hidden_paths = List(Unicode()).tag(config=True)
    isolate = Bool(False).tag(config=True)
    learner_seed = Integer(None, allow_none=True).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        hide = [str(path) for path in self.hidden_paths] if self.isolate else []
        wrapper = ["sh", "-c", _WRAPPER, "factorylab-sandbox", str(self.memory_mb * 1024),
                   str(self.file_size_mb * 1024), "1" if self.isolate else "0", self.workdir, LOOPBACK_UP,
                   *hide, "--"]
        if self.isolate:
            wrapper = ["unshare", "-rmn", "--pid", "--fork", "--mount-proc", "--", *wrapper]
        return [*wrapper, *command]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = kernel_env(Path(self.workdir), self.learner_seed)
        kw["cwd"] = self.workdir
        return await super()._async_launch_kernel(kernel_cmd, **kw)


class SandboxedExecute(Execute):
    """nbgrader's Execute with a notebook deadline, an output cap, and no silent pass for cells that never ran."""

    deadline = Float(math.inf).tag(config=True)  # time.monotonic() after which no cell starts
    max_output_bytes = Integer(2_000_000).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._completed: set[int] = set()
        self._output_bytes = 0
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
        size = len(json.dumps(msg.get("content", {})))
        self._output_bytes += size
        if self._output_bytes <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if not any(out.get("ename") == OUTPUT_LIMIT for out in outs):
            outs.append(_error(OUTPUT_LIMIT, f"output beyond {self.max_output_bytes} bytes was dropped"))
            self._incidents.append(f"cell {cell_index}: output flood, truncated at {self.max_output_bytes} bytes")
        return None


class NotebookDeadline(Exception):
    """The notebook's wall-clock limit passed before cell `index` could start."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def execute_job(job: ExecutionJob) -> ExecutionResult:
    """Execute `job` in a fresh working copy; never raises for anything the notebook does."""
    started = time.monotonic()
    isolated = namespace_isolation_available()
    workdir = Path(tempfile.mkdtemp(prefix=f"{job.lab}-", dir=sandbox_root()))
    try:
        for name, source in job.files.items():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        nb = nbformat.reads(job.notebook_json, as_version=nbformat.NO_CONVERT)
        executor = SandboxedExecute(config=_execution_config(job, workdir, isolated, started))
        incidents = _run(executor, nb, workdir, job.limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ExecutionResult(lab=job.lab, learner=job.learner, notebook=job.notebook,
                           notebook_json=nbformat.writes(nb), incidents=tuple(incidents), isolated=isolated,
                           duration_s=time.monotonic() - started)


def _execution_config(job: ExecutionJob, workdir: Path, isolated: bool, started: float) -> Config:
    config = Config()
    config.SandboxedExecute.timeout = job.limits.cell_timeout_s
    config.SandboxedExecute.deadline = started + job.limits.notebook_timeout_s
    config.SandboxedExecute.max_output_bytes = job.limits.max_output_bytes
    config.SandboxedExecute.kernel_manager_class = SandboxedKernelManager
    config.SandboxedExecute.startup_timeout = min(60, job.limits.notebook_timeout_s)
    config.SandboxedExecute.shutdown_kernel = "immediate"  # outputs are in; a kernel may not answer anyway
    config.SandboxedKernelManager.workdir = str(workdir)
    config.SandboxedKernelManager.memory_mb = job.limits.memory_mb
    config.SandboxedKernelManager.file_size_mb = job.limits.file_size_mb
    config.SandboxedKernelManager.isolate = isolated
    config.SandboxedKernelManager.learner_seed = job.seed
    config.SandboxedKernelManager.hidden_paths = [*job.hidden_paths, str(sandbox_root())]
    config.SandboxedKernelManager.connection_file = str(workdir / ".kernel.json")
    if isolated:  # no shared loopback: Unix sockets in the working copy
        config.SandboxedKernelManager.transport = "ipc"
        config.SandboxedKernelManager.ip = str(workdir / ".kernel")
    return config


def _run(executor: SandboxedExecute, nb, workdir: Path, limits: Limits) -> list[str]:
    incidents = []
    reason = "the notebook stopped before this cell"
    try:
        executor.preprocess(nb, {"metadata": {"path": str(workdir)}})
    except NotebookDeadline as stop:
        reason = f"the notebook's {limits.notebook_timeout_s} s wall-clock limit passed"
        incidents.append(f"wall-clock limit ({limits.notebook_timeout_s} s) reached before cell {stop.index}")
    except DeadKernelError:
        reason = "the kernel died (os._exit, a crash, or the memory limit)"
        incidents.append("the kernel died")
    except Exception as error:  # the kernel did not start or broke the protocol: the learner gets no points
        reason = f"the kernel failed: {type(error).__name__}: {str(error).splitlines()[0]}"
        incidents.append(reason)
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
