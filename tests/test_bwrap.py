"""The sandbox's bubblewrap arguments, read back as data, and what a real sandbox lets a process see and do."""

import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

import labkit
import simulators
from autograde.bwrap import VARIANT_DIR, WORKDIR, sandbox_available, sandbox_command
from autograde.kit import hidden_kit_files

needs_bwrap = pytest.mark.skipif(not sandbox_available() and not os.environ.get("CI"),
                                 reason="needs Debian's bubblewrap (CI installs it)")


def _command(tmp_path: Path, script: str) -> list[str]:
    stage, variant = tmp_path / "stage", tmp_path / "variant"
    stage.mkdir(exist_ok=True)
    variant.mkdir(exist_ok=True)
    (stage / "given.txt").write_text("staged")
    return sandbox_command(stage=stage, variant=variant, quota_bytes=8 * 2**20, env={"HOME": WORKDIR},
                           command=[sys.executable, "-c", script])


def test_the_arguments_isolate_everything_and_bind_only_what_the_kernel_needs(tmp_path):
    args = _command(tmp_path, "pass")
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in args
    assert args[args.index("--cap-drop") + 1] == "ALL"
    assert "--share-net" not in args
    binds = [(args[i + 1], args[i + 2]) for i, arg in enumerate(args) if arg in ("--bind", "--ro-bind")]
    assert not any(arg == "--bind" for arg in args), "nothing of the host is writable"
    assert (str(tmp_path / "variant"), VARIANT_DIR) in binds
    repository = Path(__file__).resolve().parents[1]
    exposed = {Path(source) for source, _ in binds if Path(source).is_relative_to(repository)}
    assert exposed <= {repository / "simulators", repository / "labkit", repository / ".venv"}, exposed
    assert args[args.index(WORKDIR) - 3:args.index(WORKDIR)] == ["--size", str(8 * 2**20), "--tmpfs"]


def _bound_under(home: Path) -> set[str]:
    """The names in `home` the sandbox shows: the first folder on the way to each bound folder under it."""
    bound = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent,
             *(Path(package.__file__).resolve().parent for package in (labkit, simulators))]
    return {path.relative_to(home).parts[0] for path in bound if path.is_relative_to(home)}


@needs_bwrap
def test_a_sandboxed_process_sees_only_its_kit_and_cannot_escape(tmp_path):
    script = "\n".join([
        "import importlib.util, os, socket, subprocess",
        "assert importlib.util.find_spec('autograde') is None or not importlib.util.find_spec('autograde.verdicts')",
        "import simulators, labkit",
        f"assert open('{WORKDIR}/given.txt').read() == 'staged'",
        f"assert not os.path.exists('{Path(__file__).resolve().parents[1] / 'datasets'}')",
        # the grader's home: only the folders bound on the way to the venv and the kit (a checkout may be there)
        f"home = {str(Path.home())!r}",
        "assert not os.path.exists('/root/.ssh') and not os.path.exists(os.path.join(home, '.ssh'))",
        f"assert set(os.listdir(home) if os.path.isdir(home) else []) <= set({sorted(_bound_under(Path.home()))!r})",
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\nexcept OSError:\n    pass\n"
        "else:\n    raise SystemExit('network reachable')",
        "assert subprocess.run(['umount', '/lab']).returncode != 0",
        "for path in ('/usr/factorylab-test', '/factorylab-test', '/dev/factorylab-test'):\n    try:\n"
        "        open(path, 'w')\n    except OSError:\n        pass\n    else:\n        raise SystemExit(path)",
        "try:\n    open('/lab/fill', 'wb').write(b'x' * 16 * 2**20)\nexcept OSError:\n    print('quota')",
        "print('ok')",
    ])
    done = subprocess.run(_command(tmp_path, script), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["quota", "ok"]


@needs_bwrap
def test_a_labs_kernel_cannot_load_another_labs_kit_module_from_source_or_bytecode(tmp_path):
    """lab_scenarios' kit gives the net process times lab_model_line asks for: lab_model_line's kernel cannot load
    that module, from its source or from its bytecode."""
    source = Path(labkit.__file__).parent / "lab_scenarios.py"
    cache = Path(py_compile.compile(str(source), cfile=importlib.util.cache_from_source(str(source)))).parent
    shared = source.with_name("plaindata.py")
    py_compile.compile(str(shared), cfile=importlib.util.cache_from_source(str(shared)))
    stage = tmp_path / "stage"
    stage.mkdir()
    script = "\n".join([
        "import os, labkit.lab_model_line",
        "assert hasattr(labkit.lab_model_line, 'plant_variant')",
        "try:\n    import labkit.lab_scenarios\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit('imported')",
        f"try:\n    assert open({str(source)!r}).read() == ''\nexcept PermissionError:\n    pass",
        # its bytecode is empty (or unreadable); the shared kit modules' bytecode stays (no recompiling per kernel)
        f"for name in os.listdir({str(cache)!r}):\n    if name.startswith('lab_scenarios.'):\n        try:\n"
        f"            assert open(os.path.join({str(cache)!r}, name), 'rb').read() == b''\n"
        "        except PermissionError:\n            pass",
        f"assert any(name.startswith('lab_scenarios.') for name in os.listdir({str(cache)!r}))",
        f"assert any(name.startswith('plaindata.') for name in os.listdir({str(cache)!r}))",
        "print('ok')",
    ])
    command = sandbox_command(stage=stage, variant=None, quota_bytes=2**20, env={},
                              hidden=hidden_kit_files("lab_model_line"), command=[sys.executable, "-c", script])
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.split()) == (0, ["ok"]), done.stderr
