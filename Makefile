# OpenIOP — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2

# The demo runs like production (DEBUG off, friendly error pages) but over plain http on
# this machine, with two-step sign-in turned off and a throwaway secret key.
DEMO_ENV := DEBUG=false OPENIOP_DEMO=true OPENIOP_REQUIRE_MFA=false OPENIOP_HTTPS=false \
	SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')

.PHONY: help install demo demo-reset serve test lint typecheck migrations-check pytest pytest-postgres lock worker clean

help:
	@echo "make demo   set everything up and serve OpenIOP with demo data at http://$(HOST):$(PORT)"
	@echo "make test   set up and run the quality gates and the whole test suite"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "OpenIOP needs Python 3.11 or newer.")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	@echo "Setting up the demo database (SQLite, db.sqlite3)…"
	@$(DEMO_ENV) $(PY) manage.py migrate --noinput --verbosity 0
	@$(DEMO_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	@$(DEMO_ENV) $(PY) manage.py load_demo
	@echo
	@echo "OpenIOP is starting at http://$(HOST):$(PORT) — sign in with one of the accounts above. Ctrl+C stops it."
	@$(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT) --noreload

demo-reset:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm

worker: install
	$(PY) manage.py db_worker

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	OPENIOP_TESTING=true $(VENV)/bin/mypy .

migrations-check: install
	OPENIOP_TESTING=true $(PY) manage.py makemigrations --check --dry-run

pytest: install
	OPENIOP_TESTING=true $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

# The suite again on PostgreSQL (browser journeys run once, on SQLite, above).
pytest-postgres: install
	@if $(PY) scripts/pg_available.py "$(TEST_DATABASE_URL)"; then \
		OPENIOP_TESTING=true DATABASE_URL="$(TEST_DATABASE_URL)" \
			$(VENV)/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not browser"; \
	elif [ "$${OPENIOP_REQUIRE_POSTGRES:-0}" = "1" ]; then \
		echo "PostgreSQL is required here (OPENIOP_REQUIRE_POSTGRES=1) but $(TEST_DATABASE_URL) does not answer."; exit 1; \
	else \
		echo "SKIPPED: the PostgreSQL run — no server answers at $(TEST_DATABASE_URL) (set TEST_DATABASE_URL to use another)."; \
	fi

test: lint typecheck migrations-check pytest pytest-postgres

lock:
	$(VENV)/bin/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
