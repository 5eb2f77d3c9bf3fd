# aimsight: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k ledger"`.
PYTEST_ARGS ?=

.PHONY: demo test lint bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "aimsight needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/aimsight demo

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/identity.py
	$(BIN)/python bench/churn.py
	$(BIN)/python bench/clv.py
	$(BIN)/python bench/decide.py

clean:
	rm -rf $(VENV) .aimsight-demo .pytest_cache .mypy_cache .ruff_cache
