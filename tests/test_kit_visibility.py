"""What of the learner kit and of the plant's analysis each lab's kernel sees in grading (autograde/kit.py)."""

import ast
from pathlib import Path

import pytest

import simulators
from autograde.kit import hidden_kit_files, visible_kit_modules

LABS = sorted(path.name for path in (Path(__file__).resolve().parents[1] / "labs").iterdir() if path.is_dir())


def test_a_lab_sees_the_shared_kit_its_own_module_and_what_it_imports_nothing_else():
    assert visible_kit_modules("lab_model_line") == {"plaindata", "evidence", "variant", "lab_model_line"}
    assert visible_kit_modules("lab_scenarios") == {"plaindata", "evidence", "variant", "lab_model_line",
                                                    "lab_scenarios"}
    hidden = {path.name for path in hidden_kit_files("lab_model_line")}
    assert {"lab_scenarios.py", "lab_twin_improve.py", "kpis.py"} <= hidden  # net process times, the line, OEE
    assert "kpis.py" not in {path.name for path in hidden_kit_files("lab_scenarios")}  # its kit runs the line


@pytest.mark.parametrize("lab", LABS)
def test_no_lab_notebook_needs_a_module_its_kernel_cannot_see(lab):
    """The release's imports of the kit and the plant's analysis are all visible to its own kernel."""
    import nbformat

    hidden = {(path.parent.name, path.stem) for path in hidden_kit_files(lab)}
    for cell in nbformat.read(Path(__file__).resolve().parents[1] / "labs" / lab / f"{lab}.ipynb", 4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse("\n".join(line for line in cell.source.splitlines()
                                                 if not line.lstrip().startswith(("%", "!"))))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                used = {(parts[0], parts[1])} if len(parts) > 1 else {(parts[0], a.name) for a in node.names}
                assert not used & hidden, f"{lab}: imports {node.module}, hidden from its kernel"


def test_no_module_of_the_plant_imports_its_analysis_at_module_level():
    """Hiding simulators.kpis from a kernel must never break the plant the kernel runs."""
    folder = Path(simulators.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
                assert not names & {f"simulators.{name}" for name in simulators.ANALYSIS_MODULES}, path.name
