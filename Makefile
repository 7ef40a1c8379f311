# infocity — the two commands of the quick start:
#   make run    create .venv, install, migrate, load the demonstration data, serve on http://127.0.0.1:8000
#               (with the background task worker beside the web server)
#   make test   install the test dependencies, lint, type-check and run the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint serve clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "infocity 需要 Python 3.11 或更高版本（当前：$$($(PYTHON) --version)）。请设置 PYTHON=python3.11 后重试。"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.run-deps

# The demonstration data is the 2016 programme: its reporting calendar runs on 5 December 2016 unless
# REPORTING_TODAY says otherwise (see README, "Demonstration clock").
run: export REPORTING_TODAY ?= 2016-12-05
run: $(VENV)/.run-deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@# The task worker (monitoring reports, large imports) runs beside the web server and stops with it.
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver $(HOST):$(PORT)

lint: $(VENV)/.test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

test: lint
	$(VENV)/bin/pytest

# Fault tests (faults/README.md): the worker killed mid-import (10+ runs), PostgreSQL restarted under a load of
# submissions, concurrent edits. Against DATABASE_URL's server when it is PostgreSQL (CI runs them there).
.PHONY: faults
faults: $(VENV)/.test-deps
	$(VENV)/bin/pytest faults -p no:cacheprovider

clean:
	rm -rf $(VENV) var build *.egg-info

# Analytics benchmark (bench/README.md): seeded data in its own database, dashboards and incremental update timed.
#   make bench-analytics                        300 cities × 62 items × 24 months on SQLite under /tmp
#   make bench-analytics BENCH_ARGS="--full --database-url postgres://postgres@127.0.0.1:55432/bench"
# Ingest benchmark (bench/README.md): 1,000,000 values through the bulk import vs a bare bulk insert.
#   make bench-ingest                           SQLite under /tmp
#   make bench-ingest BENCH_ARGS="--database-url postgres://postgres@127.0.0.1:55432/bench --reset"
.PHONY: bench-ingest
bench-ingest: $(VENV)/.run-deps
	$(PY) bench/ingest.py $(BENCH_ARGS)

.PHONY: bench-analytics
bench-analytics: $(VENV)/.run-deps
	$(PY) bench/analytics.py $(BENCH_ARGS)

# Deadline-day load benchmark (bench/README.md): 500 city users saving and submitting through gunicorn and PostgreSQL,
# driven by locust (the `bench` extra, installed here). It needs a PostgreSQL database of its own:
#   make bench-deadline BENCH_ARGS="--database-url postgres://postgres@127.0.0.1:5433/bench_deadline --reset"
$(VENV)/.bench-deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[bench]'
	@touch $@ $(VENV)/.run-deps

.PHONY: bench-deadline
bench-deadline: $(VENV)/.bench-deps
	$(PY) bench/deadline.py $(BENCH_ARGS)

# Evaluation benchmark (README "Performance"): 300 cities × 40 indicators, 10,000 Monte Carlo samples, no database.
.PHONY: bench-evaluation
bench-evaluation: $(VENV)/.run-deps
	$(PY) bench/evaluation.py $(BENCH_ARGS)
