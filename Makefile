# Quarry: `make up` runs the service, `make test` runs the suite. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: install up test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml client/pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]" -e ./client
	touch $(STAMP)

install: $(STAMP)

up: install
	$(BIN)/python -m stack.up

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy api worker shared stack
	cd client && ../$(BIN)/mypy quarry_client

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
