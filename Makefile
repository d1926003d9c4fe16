# Helpline — `make run` starts everything, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
FLASK := $(PY) -m flask --app app

.PHONY: run run-training test lint typecheck test-lowspec install install-dev chromium migrate seed bench ci clean prod-check nginx

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# A database with rows that is behind is backed up into instance/backups/ (BACKUP_DIR)
# first; UPGRADE_ARGS=--no-backup (or BACKUP_BEFORE_UPGRADE=0) skips that.
migrate: install
	$(FLASK) db upgrade $(UPGRADE_ARGS)

seed: migrate
	$(FLASK) seed-demo --if-empty

run: seed
	$(PY) -m helpline.run

# The training site beside a live `make run`: HELPLINE_MODE=training on port 5001 (PORT),
# with its own database (instance/training.db, or TRAINING_DATABASE_URL), Redis (6381),
# mail catcher (8026) and files under instance/training/; loads the practice scenarios
# into an empty database (`flask --app app training-reset` starts them again).
run-training: install
	HELPLINE_MODE=training $(FLASK) db upgrade $(UPGRADE_ARGS)
	HELPLINE_MODE=training $(FLASK) training-reset --if-empty
	HELPLINE_MODE=training PORT=$${PORT:-5001} $(PY) -m helpline.run

# Browser tests drive Debian's Chromium; Playwright never downloads its own browser.
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: install-dev chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff.toml: pyflakes, import order, bugbear and complexity (mccabe ≤ 10) over helpline/
lint: install-dev
	$(PY) -m ruff check helpline

# mypy.ini: helpline/ with check_untyped_defs; untyped third-party packages listed by name
typecheck: install-dev
	$(PY) -m mypy

# Debian's nginx, for make prod-check and tests/core/test_deploy_kit.py.
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx-light >/dev/null; }

# The production stack on this machine (PostgreSQL, one Redis, two gunicorn web processes
# and two workers as deploy/'s units start them, nginx with deploy/'s site over HTTPS),
# checked as people use it; stops everything it started. KEEP=1 keeps its logs.
prod-check: install nginx
	$(PY) deploy/prod_check.py

# SCALE=0.01 make bench for a quick run; DATABASE_URL=postgresql+psycopg://... for PostgreSQL.
# The browser tests once more with Chromium throttled (CPU x6, Slow 3G): slow, not in CI.
test-lowspec: install-dev chromium
	HELPLINE_LOWSPEC=1 $(PY) -m pytest tests/browser $(PYTEST_ARGS)

bench: install-dev chromium
	$(PY) -m pip install -q -r requirements-bench.txt
	$(PY) benchmarks/run_all.py --scale $${SCALE:-1}

clean:
	rm -rf $(VENV) .pytest_cache

# While `make run` runs (another terminal): a demo call rings every 2 minutes for everyone
# signed in; prints the phone system's endpoint with a new token (telephony, issue 20).
demo-calls:
	$(FLASK) telephony demo-calls
