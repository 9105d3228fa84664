# Tiến độ — the two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

export FLASK_APP := app:create_app
export TIEN_DO_ENV ?= development

.PHONY: install run serve serve-dev db seed test test-fast test-postgres lint translations clean-db help

help:
	@echo "make run   - install everything, migrate, load the demo plan and users, serve on http://$(HOST):$(PORT)"
	@echo "make test  - install everything and run the whole test suite (on SQLite, then on PostgreSQL)"
	@echo "make serve - production: migrate, deploy the processes, run gunicorn on DATABASE_URL (needs SECRET_KEY)"

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

app/translations/vi/LC_MESSAGES/messages.mo: app/translations/vi/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d app/translations -D messages

install: $(BIN)/.installed node_modules/.installed app/translations/vi/LC_MESSAGES/messages.mo

db: install
	$(BIN)/flask db upgrade

seed: db
	$(BIN)/flask workflows sync
	$(BIN)/flask seed demo

run: seed
	@echo
	@echo "Tiến độ is starting on http://$(HOST):$(PORT)  (Ctrl+C stops it; the scheduler ticks every minute)"
	BIN=$(BIN) HOST=$(HOST) PORT=$(PORT) bash scripts/run-dev.sh

# Production: gunicorn with several workers on DATABASE_URL (see README, "Production").
SERVE_ENV ?= production
serve: install
	TIEN_DO_ENV=$(SERVE_ENV) $(BIN)/flask db upgrade
	TIEN_DO_ENV=$(SERVE_ENV) $(BIN)/flask workflows sync
	TIEN_DO_ENV=$(SERVE_ENV) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The whole suite twice: on SQLite, then on PostgreSQL (the production database), each in
# TEST_WORKERS pytest-xdist processes (every test has its own database; TEST_WORKERS=0 runs in one).
TEST_WORKERS ?= 2
PYTEST = $(BIN)/python -m pytest -q -n $(TEST_WORKERS)

test: install
	bash scripts/install-chromium.sh
	env -u TEST_DATABASE_URL $(PYTEST)
	$(MAKE) --no-print-directory test-postgres

# On TEST_DATABASE_URL when set (postgresql+psycopg://...; the suite creates and drops databases there),
# otherwise on a throw-away server that scripts/postgres-test-server.sh installs (Debian's postgresql),
# starts on a free loopback port in a temporary directory, and removes afterwards.
# The browser tests drive pages whose services the other tests already run on PostgreSQL; they run
# once, on SQLite (BROWSER_ON_POSTGRES=1 runs them here too).
PG_SELECTION = $(if $(BROWSER_ON_POSTGRES),,-m "not browser")

test-postgres: install
	$(if $(BROWSER_ON_POSTGRES),bash scripts/install-chromium.sh)
ifeq ($(strip $(TEST_DATABASE_URL)),)
	bash scripts/postgres-test-server.sh run -- $(PYTEST) $(PG_SELECTION)
else
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(PYTEST) $(PG_SELECTION)
endif

test-fast: install
	env -u TEST_DATABASE_URL $(PYTEST) -m "not browser"

lint: install
	$(BIN)/ruff check .

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l vi --no-fuzzy-matching
	$(BIN)/pybabel compile -d app/translations -D messages

clean-db:
	rm -f instance/tien-do.sqlite

.PHONY: bench
# Page benchmark (bench/README.md): data sets of these scales (0.01 = 1 % of issue 9's size; "0.01 1"
# adds the full size, hours to generate), on SQLite, then on PostgreSQL: the server of
# BENCH_DATABASE_URL (a database per scale is created and dropped there) or a throw-away one; then
# step throughput with gunicorn (2 workers) on PostgreSQL under concurrent clients, and memory per worker.
BENCH_SCALES ?= 0.01
PAGE_BENCH = $(BIN)/python bench/page_cost.py $(addprefix --generate ,$(BENCH_SCALES))
bench: install
	$(BIN)/python bench/step_cost.py
	$(BIN)/python bench/period_cost.py
	$(PAGE_BENCH)
ifeq ($(strip $(BENCH_DATABASE_URL)),)
	bash scripts/postgres-test-server.sh run -- sh -c '$(PAGE_BENCH) --database-url "$$TEST_DATABASE_URL"'
else
	$(PAGE_BENCH) --database-url '$(BENCH_DATABASE_URL)'
endif
	$(BIN)/python bench/throughput.py $(if $(strip $(BENCH_DATABASE_URL)),--database-url '$(BENCH_DATABASE_URL)')
