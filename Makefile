# Two commands set up a fresh machine: `make serve` runs the service, `make test` the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install serve worker test test-unit test-seed lint typecheck bench eval clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

serve: install
	$(BIN)/grader serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/grader worker

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

test-seed: install
	$(BIN)/pytest -m seed

lint: install
	$(BIN)/ruff check grader workers service tests bench
	$(BIN)/ruff format --check grader workers service

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/feedback_latency.py
	$(BIN)/python bench/math_checks.py
	$(BIN)/python bench/text_throughput.py
	$(BIN)/python bench/batch_throughput.py

eval: install
	$(BIN)/grader eval math ../shared/eval/math_dev.jsonl
	$(BIN)/grader eval text ../shared/eval/text_dev.jsonl --shots 5
	$(BIN)/grader eval exam rubrics/dl-ws2324.yaml ../shared/eval/seed_exam_dev.jsonl

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
