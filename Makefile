# The two commands README.md gives: `make run` (the main job) and `make test` (everything CI checks).
# A fresh machine needs only Python 3.11+, pip, make and git; the rest is installed here.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DB     ?= data/workbench.duckdb

.PHONY: install run demo report test lint typecheck notebooks-check pytest browser java audit plain-install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install workbench with its test tools

run: install  ## build the demo database if missing, then serve the apps
	@test -f $(DB) || $(BIN)/workbench demo --db $(DB)
	$(BIN)/workbench serve --db $(DB)

report: install  ## build the demo database if missing and print the portfolio report
	@test -f $(DB) || $(BIN)/workbench demo --db $(DB)
	$(BIN)/workbench report --db $(DB)

browser:  ## Debian's chromium for the browser tests (Playwright cannot download one here)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@/usr/bin/chromium --version

java:  ## a Java runtime for the Spark tests (pyspark starts a JVM); Debian's OpenJDK 17
	@if ! command -v java >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi
	@java -version 2>&1 | head -1

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

notebooks-check: install
	$(BIN)/marimo check --strict notebooks/

pytest: install browser java
	$(BIN)/pytest

audit: install  ## dependency audit; says plainly what it could not check
	@if $(BIN)/python -m pip install --quiet pip-audit >/dev/null 2>&1; then \
		$(BIN)/python .ci/audit.py; \
	else echo "pip-audit: NOT CHECKED - pip-audit could not be installed"; fi

plain-install:  ## `pip install .` without extras in a clean venv runs demo, report, quote-server, serve
	.ci/plain_install.sh $(PYTHON)

test: lint typecheck notebooks-check pytest audit plain-install  ## everything CI runs

bench: install  ## the side-by-side benchmarks (minutes; prints ratios)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/fetch.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/corporate_actions.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
