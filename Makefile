# Two commands do all set-up: `make run` serves the demo, `make test` runs the suite.
# Only Python 3.12+ and make are needed; everything else goes into .venv.

PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format worker bench

# `make run PORT=8080` when 8000 is taken.
PORT ?= 8000
run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The suite runs in parallel, a pytest-xdist worker per CPU, each on a test
# database of its own; a worker that runs out of tests takes some of another's
# (worksteal: the browser tests take up to a minute each). TEST_WORKERS=0 runs
# it in one process.
TEST_WORKERS ?= auto
test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: $(VENV)/.run-deps
	$(BIN)/celery -A toc worker --loglevel=INFO

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "toc needs Python 3.12 or newer on PATH (python3.12, python3.13 or python3)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.run-deps

# Ingest, freshness, read, SLO and fleet benchmarks on PostgreSQL and Redis
# (db 14) at 127.0.0.1; each part makes and drops its own database.
# `make bench BENCH_ARGS="fleet --systems 200,500,1000"`: see benchmarks/README.md.
bench: $(VENV)/.run-deps
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
