# One set of commands for developers and CI alike.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
DOCS_STAMP := $(VENV)/.docs-installed
BENCH_STAMP := $(VENV)/.bench-installed
# The versions the suite last passed with, for every install (make constraints
# refreshes them): a fresh machine gets what was tested, not the newest release.
CONSTRAINTS := constraints.txt
PIP_INSTALL = $(BIN)/pip install --quiet -c $(CONSTRAINTS)
# The pages with generated parts: those with a cog block at the start of a line.
COG_PAGES = $(shell grep -l -r --include='*.md' '^<!-- \[\[\[cog' docs)
export NO_MKDOCS_2_WARNING := 1

.PHONY: run test lint check bench fuzz browser pgbouncer clean docs docs-serve docs-gen cluster test-cluster constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

# The tests check the documentation too (cog, the examples), so dev includes docs.
$(DEV_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev,docs]'
	touch $(RUN_STAMP) $(DOCS_STAMP) $@

$(DOCS_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e '.[docs]'
	touch $(RUN_STAMP) $@

# What make bench adds: the peers it measures against (bench/datasette.py).
$(BENCH_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev,docs,bench]'
	touch $(RUN_STAMP) $(DOCS_STAMP) $(DEV_STAMP) $@

## run: install, migrate, fill the demo account, serve on 127.0.0.1:8000
run: $(RUN_STAMP)
	$(BIN)/sharelog serve --demo

## browser: Debian's Chromium for the dashboard tests (skipped when already there)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: browser tests will fail"; }

## pgbouncer: Debian's PgBouncer for tests/store/test_pgbouncer.py (skipped when already there)
pgbouncer:
	@command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || { \
		echo "installing pgbouncer for the PgBouncer tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null) \
		|| echo "could not install pgbouncer: the PgBouncer tests will skip (fail under CI=true)"; }

## lint: ruff and mypy
lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## docs: build the documentation site into site/ (strict: a broken link or a page missing from nav fails)
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --quiet

## docs-serve: preview the site on 127.0.0.1:8001, rebuilt on every change
docs-serve: $(DOCS_STAMP)
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8001

## docs-gen: regenerate the generated parts of the docs (CLI help, settings, OpenAPI)
docs-gen: $(DEV_STAMP)
	$(BIN)/python -m sharelog.reference openapi > docs/reference/openapi.json
	$(BIN)/cog -r $(COG_PAGES)

## test: install what the tests need and run the whole suite
test: $(DEV_STAMP) browser pgbouncer lint docs
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

## cluster: a whole deployment on this machine (PostgreSQL primary and standby,
## 3 API processes, HAProxy on 127.0.0.1:17000); Ctrl-C stops and removes it
cluster: $(RUN_STAMP)
	deploy/cluster.sh run

## test-cluster: the tests that need that deployment (they start their own and remove it)
test-cluster: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 0 -m cluster tests/cluster

## bench: performance figures, with Datasette beside sharelog (see docs/performance.md)
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## fuzz: a longer schemathesis run against the OpenAPI document
fuzz: $(DEV_STAMP)
	SHARELOG_FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q tests/test_schemathesis.py

## constraints: pin constraints.txt to what .venv holds now (after make bench, the
## whole set), once make test passes with it
constraints: $(BENCH_STAMP)
	$(BIN)/pip freeze --exclude-editable > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) site *.egg-info .pytest_cache .mypy_cache .ruff_cache
