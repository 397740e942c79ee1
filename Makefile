# gilwatt: two commands do all set-up on a fresh machine.
#   make demo   create the venv, install gilwatt, provision a matched GIL / free-threaded
#               CPython pair if none is found, run the quick study, print where the report is
#   make test   the same set-up plus test tools and a headless browser, then the test suite

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
GILWATT := $(VENV)/bin/gilwatt
OUT     ?= out
# The host tool needs CPython 3.11+; pick the newest one on PATH.
HOST_PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: pyproject.toml
	@test -n "$(HOST_PYTHON)" || { echo "gilwatt needs CPython 3.11+ on PATH (python3.11 or newer)"; exit 2; }
	$(HOST_PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,plot,parquet,cluster]'
	touch $@

venv: $(VENV)/.installed  ## create the venv and install gilwatt with its test tools

pair: venv  ## provision the matched GIL / free-threaded pair unless one is found (cached per user)
	$(GILWATT) interpreters --pair >/dev/null || $(GILWATT) interpreters provision

browser:  ## headless Chromium from Debian's packages, for the report tests
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: pair  ## the main job: a quick study of the pair, ending in an HTML report
	@mkdir -p $(OUT)
	$(GILWATT) study --suite quick -o $(OUT)/quick.db --report $(OUT)/quick.html

test: pair browser  ## the test suite (lint, types, tests)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	GILWATT_REQUIRE_PAIR=1 $(VENV)/bin/pytest -q

bench: venv  ## the speed and memory benchmarks (ratios against in-run baselines)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:  ## remove the venv and outputs (the provisioned interpreters stay in the user cache)
	rm -rf $(VENV) $(OUT)

.PHONY: help venv pair browser demo test bench clean
