# One set of commands for developers and CI alike.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint check bench fuzz browser clean cluster test-cluster

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(RUN_STAMP) $@

## run: install, migrate, fill the demo account, serve on 127.0.0.1:8000
run: $(RUN_STAMP)
	$(BIN)/sharelog serve --demo

## browser: Debian's Chromium for the dashboard tests (skipped when already there)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: browser tests will fail"; }

## lint: ruff and mypy
lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## test: install what the tests need and run the whole suite
test: $(DEV_STAMP) browser lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

## cluster: a whole deployment on this machine (PostgreSQL primary and standby,
## 3 API processes, HAProxy on 127.0.0.1:17000); Ctrl-C stops and removes it
cluster: $(RUN_STAMP)
	deploy/cluster.sh run

## test-cluster: the tests that need that deployment (they start their own and remove it)
test-cluster: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 0 -m cluster tests/cluster

## bench: performance figures (see bench/README.md)
bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## fuzz: a longer schemathesis run against the OpenAPI document
fuzz: $(DEV_STAMP)
	SHARELOG_FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q tests/test_schemathesis.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
