"""The three dependency lists agree: pyproject's direct dependencies, the lock and environment.yml.

A fresh install must resolve the same versions whichever way a user installs, so every direct
dependency is pinned in requirements.lock and environment.yml repeats those exact pins.
"""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[_name(name)] = version
    return pins


def direct_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        deps += extra
    return {_name(d) for d in deps}


def test_lock_pins_every_direct_dependency():
    lock = _pins((ROOT / "requirements.lock").read_text().splitlines())
    missing = direct_dependencies() - lock.keys()
    assert not missing, f"requirements.lock lacks {sorted(missing)}: run `make lock`"


def test_environment_yml_repeats_the_lock_pins():
    lock = _pins((ROOT / "requirements.lock").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = _pins(pip_section)
    assert conda_pins.keys() == direct_dependencies(), "environment.yml must list exactly the direct dependencies"
    drift = {n: (v, lock[n]) for n, v in conda_pins.items() if lock.get(n) != v}
    assert not drift, f"environment.yml pins differ from requirements.lock (env, lock): {drift}"
