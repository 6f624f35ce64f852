# Two commands for a newcomer: `make demo` and `make test`. Both build .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,fast]'
	touch $(STAMP)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check kantata_async tests benchmarks
	$(BIN)/ruff format --check kantata_async tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict kantata_async

unit: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/normalize.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
