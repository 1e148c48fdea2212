# Concord — the two commands are `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := 3.11
PYTHON ?= $(shell command -v python$(PYTHON_VERSION) || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help run test lint format bench chaos simulate kafka-jars browser venv lock clean

help:
	@echo "make run    start Postgres, Kafka and the four services with the demo mission"
	@echo "make test   lint, type-check and run the whole suite against real Kafka and Postgres"
	@echo "make lint   ruff, mypy and the import contracts (lint-imports) only"
	@echo "make bench  Concord against the machine's own limits, <= 15 min (QUICK=1: <= 3 min; docs/benchmarks.md)"
	@echo "make chaos  faults during load through the real services, then a check of the whole history (QUICK=1: short run)"
	@echo "make simulate  play field units and NGOs against a running 'make run' for two minutes"
	@echo "make lock  recompile requirements*.lock (hashes) after changing a pin in requirements*.txt"

# The venv installs the lock, every package pinned and hash-checked (pip, setuptools and uv
# included); requirements*.txt are the pins it is compiled from (`make lock`).
$(STAMP): requirements-dev.lock requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v=sys.version_info; sys.exit(0 if (v.major, v.minor) == (3, 11) else "Concord needs Python 3.11 (found %d.%d)" % (v.major, v.minor))'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

# After changing a pin in requirements.txt or requirements-dev.txt: `make lock`, then commit
# the .lock files. Versions already locked are kept unless UPGRADE=1 (newest within the pins).
LOCK_FLAGS := --quiet --universal --python-version $(PYTHON_VERSION) --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade,)
lock: venv
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) requirements.txt -o requirements.lock
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) -c requirements.lock requirements-dev.txt \
		-o requirements-dev.lock

kafka-jars: $(STAMP)
	@PYTHON=$(abspath $(PY)) bash deploy/kafka/kafka.sh fetch

browser:
	@bash deploy/ensure_chromium.sh

run: venv kafka-jars
	$(PY) -m deploy.stack run

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services deploy tests/bench
	$(VENV)/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: venv kafka-jars browser lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: venv kafka-jars
	$(PY) -m tests.bench $(if $(QUICK),--quick,)

chaos: venv kafka-jars
	$(PY) -m tests.chaos $(if $(QUICK),--quick,)

simulate: venv
	$(VENV)/bin/concord simulate --rate 2 --duration 120

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
