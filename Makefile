# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
# uv from PATH, else the copy pip installs (run as a module, wherever pip put it).
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PY := $(UV) run --frozen python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install uv assets migrate demo serve lint typecheck check-migrations ci messages bench

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		(echo "Installing uv with pip…" && python3 -m pip install --quiet uv)

install: uv
	@$(UV) sync --frozen --quiet
	@$(UV) run --frozen python scripts/fetch_assets.py

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
