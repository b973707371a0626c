# One-command entry points (see README). `make test` is what CI runs.
PYTHON ?= $(shell command -v python3.12 >/dev/null 2>&1 && echo python3.12 || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test test-slow demo lint format bench clean docs docs-serve linkcheck figures gallery

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

# Documentation (mkdocs.yml): the `docs` extra is installed once, stamped like `install`.
$(BIN)/.docs-installed: $(BIN)/.installed pyproject.toml
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $@

docs: $(BIN)/.docs-installed  ## the site, strict (a warning fails), notebooks executed in the quick preset
	NO_MKDOCS_2_WARNING=1 SOLVABLE_PRESET=quick OPENBLAS_NUM_THREADS=1 $(BIN)/mkdocs build --strict

docs-serve: $(BIN)/.docs-installed  ## serve the site at http://127.0.0.1:8000, rebuilt on edit
	NO_MKDOCS_2_WARNING=1 SOLVABLE_PRESET=quick OPENBLAS_NUM_THREADS=1 $(BIN)/mkdocs serve

linkcheck: $(BIN)/.docs-installed  ## offline: every external link in the built site well formed
	$(BIN)/python docs/linkcheck.py build/site

# Paper figures. `make figures` renders every `solvable figure --list` figure in the default
# preset (the real figures; long on 2 CPU cores) into results/figures/ with an index.md;
# FIGURES_PRESET=quick for a fast pass. `make gallery` re-renders the site's quick-preset gallery.
FIGURES_PRESET ?= default
figures: install
	OPENBLAS_NUM_THREADS=1 $(BIN)/python docs/gallery/build.py --preset $(FIGURES_PRESET) --out results/figures

gallery: install
	OPENBLAS_NUM_THREADS=1 $(BIN)/python docs/gallery/build.py

clean:
	rm -rf $(VENV) results .pytest_cache
