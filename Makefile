# The two commands: `make run` and `make test`. Both set themselves up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA := $(or $(DATA_DIR),var)
# Frames above this close the socket at the transport (1009); smaller ones over 64 KiB get
# a `too_large` error from the consumer.
WS_MAX_BYTES := 262144

.PHONY: run test install lint typecheck pytest pytest-services bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput --verbosity 0
	@if [ ! -f $(DATA)/demo-credentials.txt ]; then \
	  umask 077 && $(PY) manage.py seed_demo > $(DATA)/demo-credentials.txt; fi
	@cat $(DATA)/demo-credentials.txt
	@echo "Serving on http://$(HOST):$(PORT)/"
	$(PY) -m config.serve -b $(HOST) -p $(PORT) --websocket-max-message-size $(WS_MAX_BYTES) \
	  config.asgi:application

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	DATA_DIR=var/test $(VENV)/bin/mypy accounts chatbox projects reports invoices config frontend

# Pass 1: the embedded default (SQLite, in-memory channel layer).
pytest: $(STAMP)
	DATA_DIR=var/test FAST_PASSWORD_HASHER=1 $(PY) -m pytest $(PYTEST_ARGS)

# Pass 2: PostgreSQL and Redis, as a scaled-out deployment runs. The browser tests run in
# pass 1 only: they drive the same views through Chromium, and what this pass adds (row
# locks, the Redis channel layer across processes) has tests of its own.
pytest-services: $(STAMP)
	DATA_DIR=var/test-services $(PY) tests/run_services_pass.py -m "not browser" $(PYTEST_ARGS)

test: lint typecheck pytest pytest-services

# Load test (docs/performance.md): daphne on PostgreSQL and Redis against two baselines, over
# loopback; writes bench/results/latest.json. BENCH_ARGS=--quick for a smoke run.
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
