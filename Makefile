# The two quick-start commands: `make run` (set up, run the monitor) and `make test` (set up, pass the tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= sources.toml
SHARED ?= ../shared

.PHONY: run init scan test lint format eval bench demo check clean

# Two stamps: running the monitor needs the package alone; the tests and the linters need their
# extras too (scikit-learn to check the exported model, selenium, psycopg, ruff, mypy).
DEV    := $(VENV)/.installed-dev

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $(DEV)

run: $(STAMP)
	$(BIN)/school-monitor --config $(CONFIG) --log-level info run

# Asks about the school and writes $(CONFIG) (never over an existing file), then checks it.
init: $(STAMP)
	$(BIN)/school-monitor init -o $(CONFIG)

scan: $(STAMP)
	$(BIN)/school-monitor --config $(CONFIG) scan

check: $(STAMP)
	$(BIN)/school-monitor --config $(CONFIG) check

test: $(DEV)
	MONITOR_SHARED=$(abspath $(SHARED)) $(BIN)/pytest -q -p no:cacheprovider

lint: $(DEV)
	$(BIN)/ruff check monitor tests benchmarks demo
	$(BIN)/ruff format --check monitor tests benchmarks demo
	$(BIN)/mypy

format: $(DEV)
	$(BIN)/ruff check --fix monitor tests benchmarks demo
	$(BIN)/ruff format monitor tests benchmarks demo

eval: $(STAMP)
	$(BIN)/python benchmarks/eval_scorer.py $(SHARED)/corpora/dev.jsonl

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_desk.py

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

clean:
	rm -rf $(VENV) build *.egg-info
