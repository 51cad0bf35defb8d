# Quarry: `make up` runs the service, `make test` runs the suite. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: install up test lint typecheck bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every dependency comes from requirements-dev.lock, each file checked against its sha256
# (`make lock` writes it from constraints.txt). Quarry and its client are then installed from
# the working tree without dependencies: pip cannot hash a local directory, so it refuses
# `-e .` under --require-hashes; hashing the dependencies and installing the project with
# --no-deps is pip's documented way around it. --no-build-isolation makes the build use the
# hashed setuptools from the lock instead of fetching one.
$(STAMP): $(BIN)/python pyproject.toml client/pyproject.toml constraints.txt requirements-dev.lock
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e ./client
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
	$(BIN)/python -m bench.run_all

# Re-run after any change to constraints.txt or to a dependency list: it adds hashes, the
# versions stay those constraints.txt pins.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt pip-tools
	infra/lock/lock.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
