# One-command entry points (see README). `make test` is what CI runs.
PYTHON ?= $(shell command -v python3.12 >/dev/null 2>&1 && echo python3.12 || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test test-slow demo lint format bench clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "solvable-scaling needs Python >= 3.12 (jax>=0.12); found " + sys.version.split()[0] + " -- set PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(BIN)/.installed

# Single-threaded OpenBLAS: scipy's L-BFGS-B is 10-20x slower with threaded OpenBLAS (scipy#22438).
test: install  ## the default (fast) test suite, as CI runs it
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest

test-slow: install  ## long statistical and figure-scale checks
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -m slow

demo: install  ## the main job: quick PLRF phase diagram, measured vs predicted exponents + figure
	$(BIN)/solvable phase-diagram plrf --quick --out results/phase-diagram-plrf-quick

lint: install  ## ruff (code and notebooks) + import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/plrf_sgd.py

clean:
	rm -rf $(VENV) results .pytest_cache
