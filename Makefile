# The README's two commands, `make demo` and `make test`, set up everything they need:
# the Debian packages (as root), a virtualenv with the project, then do their job.
# Faster targets for day-to-day work: `make check` (lint, types, quick tests), `make lint`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test check lint typecheck system-packages setup clean frontend selftest

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

system-packages:
	@scripts/system-packages.sh

setup: system-packages $(STAMP)

# The web client, built twice (frontend_split off and on); npm ci only when the lock file
# changed, each build only when its inputs did.
FRONTEND := app/frontend
FRONTEND_DEPS := $(FRONTEND)/node_modules/.ci-stamp
FRONTEND_INPUTS := $(shell find $(FRONTEND)/src -type f 2>/dev/null) \
	$(addprefix $(FRONTEND)/,index.html vite.config.ts svelte.config.js tsconfig.json)

$(FRONTEND_DEPS): $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FRONTEND)/build-%/index.html: $(FRONTEND_DEPS) $(FRONTEND_INPUTS)
	cd $(FRONTEND) && npm run --silent build:$* -- --logLevel warn

frontend: $(FRONTEND)/build-eager/index.html $(FRONTEND)/build-split/index.html

demo: setup frontend
	$(BIN)/chrono-bench demo

lint: $(STAMP)
	$(BIN)/ruff check harness app scenarios tests deploy inventory.py
	$(BIN)/ruff format --check harness app scenarios tests deploy inventory.py
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

test: setup lint typecheck frontend
	$(BIN)/pytest -q --durations=15 $(PYTEST_ARGS)

# The gate's full self-test for real (three ci-profile runs, about 20 minutes on 2 cores).
selftest: setup frontend
	$(BIN)/pytest -q -m selftest tests/gate/test_self_test.py

check: setup lint typecheck frontend
	$(BIN)/pytest -q -m "not slow" -x $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
