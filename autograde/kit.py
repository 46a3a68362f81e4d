"""Which modules of the learner kit (`labkit/`) and of the plant's analysis a lab's kernel sees in the sandbox.

A lab's kit module may hold what a later lab asks learners to write (lab_scenarios is given the net process
times lab_model_line has its learners compute; lab_twin_improve asks for them again). So the kernel of a lab
sees the kit's shared modules (`labkit.SHARED_MODULES`), the lab's own kit module and what these import, found
by reading their `import` statements. Every other kit module is replaced by /dev/null in the sandbox
(autograde/bwrap.py), which neither imports nor reads, and the kit's compiled caches are absent, so no other
lab's module can be loaded from its bytecode either. The plant's own analysis (`simulators.ANALYSIS_MODULES`:
its KPI and OEE computation) is hidden the same way from every lab whose visible kit does not import it.
"""

import ast
import importlib.util
from pathlib import Path

import labkit
import simulators


def package_folder(name: str) -> Path | None:
    """The folder the installed package `name` is imported from (symlinks resolved, as bwrap binds it), None
    when `name` is not importable or is a plain module: where the sandbox finds the kit and the grader's code."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _imports(path: Path) -> set[str]:
    """The `labkit.X` and `simulators.X` modules `path` imports (`from P import X`, `from P.X import …`,
    `import P.X`), as dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module in ("labkit", "simulators"):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").count(".") >= 1:
            names.add(".".join(node.module.split(".")[:2]))
        elif isinstance(node, ast.Import):
            names.update(".".join(alias.name.split(".")[:2]) for alias in node.names)
    return {name for name in names if name.split(".")[0] in ("labkit", "simulators")}


def visible_kit_modules(lab: str) -> set[str]:
    """The kit modules `lab`'s kernel may import (names within `labkit`): the shared ones, the lab's own, and
    their imports."""
    return {name.split(".")[1] for name in _closure(lab) if name.startswith("labkit.")}


def _closure(lab: str) -> set[str]:
    folder = package_folder("labkit")
    visible, pending = set(), [f"labkit.{name}" for name in (*labkit.SHARED_MODULES, lab)]
    while pending:
        name = pending.pop()
        package, module = name.split(".")
        path = folder / f"{module}.py"
        if name in visible or package != "labkit" or not path.is_file():
            visible.add(name)
            continue
        visible.add(name)
        pending.extend(_imports(path))
    return visible


def hidden_kit_files(lab: str) -> list[Path]:
    """The module files `lab`'s kernel must not read: other labs' kit modules (`__init__.py` aside) and the
    plant's analysis modules its kit does not import."""
    closure = _closure(lab)
    kit = [path for path in package_folder("labkit").glob("*.py")
           if path.stem != "__init__" and f"labkit.{path.stem}" not in closure]
    plant = [package_folder("simulators") / f"{name}.py" for name in simulators.ANALYSIS_MODULES
             if f"simulators.{name}" not in closure]
    return sorted(kit + plant)
