# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
# uv from PATH, else the copy pip installs (run as a module, wherever pip put it).
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
HOST ?= 127.0.0.1
PORT ?= 8000
# An unpacked offline archive (`make dist`) carries wheels/requirements.txt: install from its
# wheels with pip alone (no uv, no registry); the assets and the font are in the archive.
OFFLINE := $(wildcard wheels/requirements.txt)

.PHONY: run test install uv assets migrate demo serve lint typecheck check-migrations ci messages bench dist

ifeq ($(OFFLINE),)
PY := $(UV) run --frozen python

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		(echo "Installing uv with pip…" && python3 -m pip install --quiet uv)

install: uv
	@$(UV) sync --frozen --quiet
	@$(UV) run --frozen python scripts/fetch_assets.py
else
PY := .venv/bin/python

install: .venv/.offline-installed
	@$(PY) scripts/fetch_assets.py

.venv/.offline-installed: wheels/requirements.txt
	@test -x .venv/bin/python || python3 -m venv .venv
	@echo "Installing from the bundled wheels (offline)…"
	@.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-index --find-links wheels \
		--require-hashes -r wheels/requirements.txt
	@touch $@
endif

# The offline archive for a machine with no registry access (docs/deploy.md, "Offline installation").
dist: install
	@python3 scripts/make_dist.py

migrate: install
	@$(PY) manage.py migrate --no-input -v0

demo: migrate
	@$(PY) manage.py seed_demo

run: demo
	@$(PY) manage.py runall --host $(HOST) --port $(PORT)

serve: migrate
	@$(PY) manage.py runall --host $(HOST) --port $(PORT)

# The whole suite; on PostgreSQL too when DATABASE_URL names one.
test: install
	@$(UV) run --frozen pytest -q

# ruff, then the layers of CONTRIBUTING.md ([tool.importlinter] in pyproject.toml).
lint: install
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen lint-imports --no-cache

typecheck: install
	@$(UV) run --frozen mypy sunshine

check-migrations: install
	@$(PY) manage.py makemigrations --check --dry-run

# Each app with a locale/ directory keeps its own catalogue (makemessages routes its strings
# there); the project catalogue sunshine/locale takes the rest. One owner per catalogue: to
# touch only yours, run the same two commands inside your app directory.
messages: install
	@cd sunshine && $(UV) run --frozen django-admin makemessages -l zh_Hans --no-obsolete -v0 && $(UV) run --frozen django-admin compilemessages -v0

# issue 9: the benchmark on PostgreSQL (BENCH_DATABASE_URL, BENCH_APPLICATIONS, …; see docs/bench.md).
bench: install
	@$(PY) bench/run.py
