# Two commands set everything up on a fresh machine with Python 3.11+ and make:
#   make demo   create .venv, install the pinned dependencies, run the main job end to end
#   make test   same install, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= demo-output

.PHONY: install demo test lint lock bench clean

install: $(STAMP)

# Reinstall whenever the direct dependencies or the lock change.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

demo: install
	$(BIN)/factorylab demo --out $(OUT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/run_all.py

# Re-resolve the pins from pyproject.toml in a throw-away environment (needs the package registry).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check ".[test]" "setuptools>=75"
	.lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -E '^(factorylab|pip)( @|==)' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
