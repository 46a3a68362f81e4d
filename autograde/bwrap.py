"""The grader's sandbox, as bubblewrap arguments built from data (the way Flatpak uses bwrap).

Inside, a learner's kernel sees only what is bound here, and nothing else exists:
- read-only: the system's `/usr` (and the `/bin`, `/lib*` links to it), a few files of `/etc` a Python process
  reads, the Python installation and the virtual environment, and the learner kit (`simulators/`, `labkit/`);
  the grader's own packages (`autograde`, `factorylab`) are covered by empty folders wherever they would be
  found, so `import autograde` fails in the kernel; the kit's modules of other labs are empty devices and its
  compiled caches are absent (autograde/kit.py says which);
- read-only at `/variant`: the learner's graded variant (data and the grader's inputs, no seed, no truth);
- read-write: the working copy `/lab` (also `/tmp`), a tmpfs of `quota_bytes` filled from the staging folder
  at start, and a small `/dev/shm`; the root and `/dev` are remounted read-only;
- no network (an empty network namespace), its own PID, IPC, UTS and cgroup namespaces, a new session (no
  terminal to inject into), every capability dropped (nothing can be mounted, unmounted or remounted), and
  `--die-with-parent`: when the grader's worker or the bwrap process goes, every process inside dies with it.
The repository, the course directory, the home folders, other courses and the host's sockets are not there.
tests/test_bwrap.py reads the arguments back and probes a real sandbox.
"""

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from autograde.kit import package_folder

WORKDIR = "/lab"
VARIANT_DIR = "/variant"
STAGE_DIR = "/stage"
GRADER_PACKAGES = ("autograde", "factorylab")
KIT_PACKAGES = ("simulators", "labkit")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/alternatives", "/etc/fonts",
             "/etc/mime.types", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@functools.cache
def bwrap_path() -> str | None:
    """The `bwrap` binary (Debian's `bubblewrap` package), or None."""
    return shutil.which("bwrap") or next((path for path in ("/usr/bin/bwrap",) if os.access(path, os.X_OK)), None)


@functools.cache
def sandbox_available() -> bool:
    """Whether bubblewrap runs here with every namespace the sandbox needs (it may be missing, or user
    namespaces may be disabled, as in some containers)."""
    binary = bwrap_path()
    if binary is None:
        return False
    try:
        probe = subprocess.run([binary, *system_binds(), "--unshare-all", "--cap-drop", "ALL", "--die-with-parent",
                                "--tmpfs", WORKDIR, "--", "/bin/sh", "-c", "true"],
                               capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def system_binds() -> list[str]:
    """/usr read-only, its links (`/bin -> usr/bin`…) as links, and the few /etc files Python reads."""
    args = ["--ro-bind", "/usr", "/usr"]
    for path in _SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ETC_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def python_binds() -> list[str]:
    """The interpreter's installation, the virtual environment and the learner kit, read-only; the grader's
    packages hidden under empty tmpfs wherever they would be imported from."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent}
    kit = [package_folder(name) for name in KIT_PACKAGES]
    args: list[str] = []
    for root in sorted(roots):
        args += ["--ro-bind", str(root), str(root)]
    for folder in kit:
        if folder is not None and not any(folder.is_relative_to(root) for root in roots):
            args += ["--ro-bind", str(folder), str(folder)]
    for name in GRADER_PACKAGES:
        folder = package_folder(name)
        if folder is not None and any(folder.is_relative_to(root) for root in roots):
            args += ["--tmpfs", str(folder)]
    return args


def hidden_binds(files: Sequence[Path]) -> list[str]:
    """Each of `files`, and each compiled cache of it (`__pycache__/<name>.*.pyc`), replaced by /dev/null (on a
    nodev mount: neither read nor imported), so neither a module's source nor its bytecode loads. The other
    modules' caches stay: a kernel that had to recompile the plant at every start would take seconds longer, and
    nothing in the sandbox can write a cache (everything outside the working copy is read-only)."""
    args: list[str] = []
    for path in files:
        args += ["--ro-bind", "/dev/null", str(path)]
        for cache in sorted((path.parent / "__pycache__").glob(f"{path.stem}.*.pyc")):
            args += ["--ro-bind", "/dev/null", str(cache)]
    return args


def sandbox_command(*, stage: Path, variant: Path | None, quota_bytes: int, env: dict[str, str],
                    command: list[str], hidden: Sequence[Path] = ()) -> list[str]:
    """The full bwrap command line running `command` in the sandbox, in `/lab` filled from `stage`, with the
    files `hidden` empty."""
    binds = [*system_binds(), *python_binds(), *hidden_binds(hidden)]
    # /tmp leads to the working copy, unless a bound folder lies under /tmp (a checkout or virtualenv there): then
    # /tmp already exists, read-only, and TMPDIR alone says where temporary files go.
    tmp_link = [] if any(arg.startswith("/tmp/") for arg in binds) else ["--symlink", WORKDIR, "/tmp"]
    args = [bwrap_path() or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            *binds, "--proc", "/proc", "--dev", "/dev", "--size", str(16 * 2**20), "--tmpfs", "/dev/shm",
            "--remount-ro", "/dev",
            "--size", str(quota_bytes), "--tmpfs", WORKDIR, *tmp_link,
            "--ro-bind", str(stage), STAGE_DIR]
    if variant is not None:
        args += ["--ro-bind", str(variant), VARIANT_DIR]
    args += ["--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
    for key, value in sorted({"TMPDIR": WORKDIR, **env}.items()):
        args += ["--setenv", key, value]
    # Fill the working copy, then become the kernel.
    return [*args, "--", "/bin/sh", "-c", f'cp -R {STAGE_DIR}/. {WORKDIR}/ && exec "$@"', "factorylab-sandbox",
            *command]
