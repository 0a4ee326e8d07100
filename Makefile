# Every target creates and uses .venv in the repository root.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint format bench-ingest bench-queues bench-replay bench-dashboards bench-reconcile clean
.PHONY: serve bench-soak bench-browser screenshots

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

## Install, migrate, start the demo ERP (Tryton, installed into var/tryton on first run), load demo data on
## first run, start the task cluster and the web server. Ctrl-C stops them all.
run: export OPSVIEW_DEBUG ?= 1
run: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	exec bash scripts/serve.sh $(HOST) $(PORT)

## Production: gunicorn and the task cluster on PostgreSQL and Redis (see README, "Production").
serve: $(VENV)/.installed
	bash scripts/serve-production.sh

# One worker a core; a file's tests stay together (they share a seeded demo or a Tryton server). The API
# fuzzing runs apart: under workers schemathesis folds its one test per endpoint into a single test.
TEST_WORKERS ?= 2

## Install what the tests need and run them all, as CI does (SQLite, or DATABASE_URL when set), on a test
## database built from scratch.
test: $(VENV)/.installed-dev
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest --create-db -n $(TEST_WORKERS) --dist loadfile --ignore=tests/test_api_fuzz.py $(PYTEST_ARGS)
	$(VENV)/bin/pytest --create-db tests/test_api_fuzz.py $(PYTEST_ARGS)

## The edit-test loop: lint, then every test but the browser and Tryton ones, on the reused test database.
test-fast: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest --reuse-db -m "not browser and not tryton" $(PYTEST_ARGS)

## Screenshots of each role's main page at 1440 px into var/screenshots/, on a demo loaded for them (SQLite,
## without the demo ERP); SCREENSHOT_ARGS="--url http://127.0.0.1:8000" photographs a running `make run` instead.
screenshots: $(VENV)/.installed-dev
	bash scripts/ensure-chromium.sh
	$(PY) scripts/screenshots.py $(SCREENSHOT_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks: each prints what it measured and ends with a key=value summary line.
bench-ingest: $(VENV)/.installed-dev
	$(PY) bench/ingest.py

bench-queues: $(VENV)/.installed-dev
	$(PY) bench/queues.py $(BENCH_ARGS)

bench-replay: $(VENV)/.installed-dev
	$(PY) bench/replay.py $(BENCH_ARGS)

bench-dashboards: $(VENV)/.installed-dev
	$(PY) bench/dashboards.py $(BENCH_ARGS)

bench-reconcile: $(VENV)/.installed-dev
	$(PY) bench/reconcile.py $(BENCH_ARGS)

bench-soak: $(VENV)/.installed-dev
	$(PY) bench/soak.py

bench-browser: $(VENV)/.installed-dev
	bash scripts/ensure-chromium.sh
	$(PY) bench/browser.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
