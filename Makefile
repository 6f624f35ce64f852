# Two commands for a newcomer: `make demo` and `make test`. Both build .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench clean generate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,fast]'
	touch $(STAMP)

# The demo needs the runtime dependencies and the dlt extra (dlt and DuckDB, for its last
# step); a .venv that has the dev extras has them too.
RUNTIME_STAMP := $(VENV)/.installed-demo

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dlt]'
	touch $(RUNTIME_STAMP)

# A fake Kantata (3,000 users, 50 ms per request) in its own process, the export CLI against
# it with its progress bar, one user's linked graph, then the load CLI into a DuckDB file and
# a SQL query over it; stops the server on exit or Ctrl-C.
demo: $(if $(wildcard $(STAMP)),$(STAMP),$(RUNTIME_STAMP))
	$(BIN)/python -m kantata_async.demo

test: lint typecheck unit

# Every collection's models and resources, from the facts in kantata_async/testing/facts.
generate: $(STAMP)
	$(BIN)/python tools/codegen/generate.py

# The committed kantata_async/_generated must be what the facts generate.
lint: $(STAMP)
	$(BIN)/ruff check kantata_async tests benchmarks examples tools
	$(BIN)/ruff format --check kantata_async tests benchmarks examples tools
	$(BIN)/python tools/codegen/generate.py --check

typecheck: $(STAMP)
	$(BIN)/mypy --strict kantata_async
	$(BIN)/mypy --strict examples
	$(BIN)/mypy --strict tools/codegen

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
