# Two commands for a newcomer: `make demo` and `make test`. Both build .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,fast]'
	touch $(STAMP)

# The demo needs the runtime dependencies only; a .venv that has the dev extras has them too.
RUNTIME_STAMP := $(VENV)/.installed-runtime

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

# A fake Kantata (3,000 users, 50 ms per request) in its own process, the export CLI against
# it with its progress bar, then one user's linked graph; stops the server on exit or Ctrl-C.
demo: $(if $(wildcard $(STAMP)),$(STAMP),$(RUNTIME_STAMP))
	$(BIN)/python -m kantata_async.demo

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check kantata_async tests benchmarks examples
	$(BIN)/ruff format --check kantata_async tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict kantata_async
	$(BIN)/mypy --strict examples

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# Each benchmark prints ratios measured side by side in one run (P1 to P6).
bench: $(STAMP)
	$(BIN)/python benchmarks/normalize.py
	$(BIN)/python benchmarks/concurrency.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/ratelimit.py
	$(BIN)/python benchmarks/coalesce.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
