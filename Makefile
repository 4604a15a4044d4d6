# The README's two commands: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

# jsii prints a Node 20 end-of-life banner on every process; CDK CLI telemetry and notices off.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# cdk.json runs `python3 app.py`: let that be the project's virtualenv python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup layer-bytecode test lint demo synth review bench deploy clean

help:
	@echo "make setup   virtualenv, pinned Python packages and CDK CLI (the other targets run it)"
	@echo "make demo    deploy the reference app to a local AWS emulator and show its traces"
	@echo "make test    set up and run the whole test suite (lint + pytest)"
	@echo "make synth   synthesize the reference app into cdk.out/"
	@echo "make review  synthesize, then report tracing coverage of cdk.out/"
	@echo "make bench   cold-start and per-call benchmark against aws-xray-sdk, Powertools and ADOT"
	@echo "make deploy  deploy the reference app to your AWS account (uses your AWS profile)"

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# ADOT's Python distro, for the side-by-side OTLP tests and `make bench` only: its exact
# pins conflict with requirements.txt (protobuf, PyYAML, opentelemetry-*), so it has its own venv.
.venv-adot/.installed: requirements-adot.txt
	test -x .venv-adot/bin/python || $(PYTHON) -m venv .venv-adot
	.venv-adot/bin/python -m pip install --quiet --upgrade "pip>=24"
	.venv-adot/bin/python -m pip install --quiet -r requirements-adot.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The database tests start a real MariaDB server: Debian's server binary and
# bootstrap scripts only (no service, no client). Skipped when it is there.
MARIADBD := /usr/sbin/mariadbd
$(MARIADBD):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends mariadb-server-core) >/dev/null; \
	else \
		echo "mariadbd missing (the MySQL tests need it): apt-get install mariadb-server-core"; \
	fi

setup: $(VENV)/.installed .venv-adot/.installed node_modules/.installed layer-bytecode $(MARIADBD)

# The layer compiled for each Python it serves (pyenv's interpreters), into the
# gitignored constructs/cdk_lambda_xray/_layer_builds; only stale versions are rebuilt
# (~0.1 s when nothing changed). A missing interpreter means source only for that
# version, never a failure. The wheel gets the same from setup.py.
layer-bytecode: $(VENV)/.installed
	$(PY) -m cdk_lambda_xray._bytecode

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup lint
	$(PY) -m pytest

demo: setup
	$(PY) -m cdk_lambda_xray demo

synth: setup
	npx --no-install cdk synth --quiet

review: synth
	$(PY) -m cdk_lambda_xray review cdk.out --format md,html,json --output build/review

bench: setup
	$(PY) bench/run.py

deploy: setup
	npx --no-install cdk deploy --all

clean:
	rm -rf cdk.out .cdk-home .demo build dist .pytest_cache .mypy_cache .ruff_cache
	rm -rf constructs/cdk_lambda_xray/_layer_builds
