# perceptops: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BIN := $(abspath $(VENV))/bin

# Telemetry off and the Hugging Face hub never asked (it is unreachable here and costs a 26 s timeout).
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export BENTOML_DO_NOT_TRACK := true
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PATH := $(BIN):$(PATH)

.PHONY: help venv demo test bench lint format sysdeps clean

help:
	@echo "make demo   - create .venv if needed, then run the whole pipeline (dvc repro) on the demo city"
	@echo "make test   - create .venv if needed, then run the test suite"
	@echo "make bench  - pytest-benchmark suite (speed targets, ratios measured side by side)"
	@echo "make lint   - ruff"
	@echo "make placepulse [LIMIT=N] - the pipeline on the real Place Pulse 1.0 photos in runs/placepulse/"

# The venv is (re)built only when missing or when a requirement file changed.
# torch first and alone: 2.13.0 is a local CPU wheel here; any other torch request downloads GBs.
venv: $(STAMP)
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# System packages some tests need (PostgreSQL for the MLflow server mode); installed only if missing.
sysdeps:
	@bash scripts/sysdeps.sh

demo: venv
	@test -d .dvc || (dvc init -q && git add .dvc)
	dvc repro
	@echo "demo done: see reports/evaluation/, maps/demo/index.html, monitoring/reports/, and 'perceptops status'"

test: venv sysdeps
	$(PY) -m pytest tests

bench: venv sysdeps
	$(PY) -m pytest benchmarks -s --benchmark-only --benchmark-columns=min,mean,median,max,rounds --benchmark-json=.benchmarks/last.json

lint: venv
	$(VENV)/bin/ruff check src tests stages benchmarks scripts
	$(VENV)/bin/ruff format --check src tests stages benchmarks scripts

format: venv
	$(VENV)/bin/ruff check --fix src tests stages benchmarks scripts
	$(VENV)/bin/ruff format src tests stages benchmarks scripts

clean:
	rm -rf .cache data descriptions models pseudo_labels metrics reports maps registry mlflow monitoring/reports

# The whole pipeline on the real Place Pulse 1.0 photos (Boston trains, NYC drifts) in runs/placepulse/
# (a separate git+dvc workspace; TFLite DeepLab scene backend). LIMIT=N keeps N photos per city.
.PHONY: placepulse
placepulse: venv
	$(PY) scripts/placepulse.py $(if $(LIMIT),--limit $(LIMIT))
