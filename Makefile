# Set-up is part of every target: on a fresh machine `make run` and `make test`
# create .venv, install PyTorch's CPU build first, then the project.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A bare `torch` requirement would let pip pull a CUDA build of several GB; users
# with a GPU install their own torch into the venv first and set TORCH= (empty).
TORCH ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(if $(TORCH),$(BIN)/pip install -q "$(TORCH)")

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/python -m lgt_graph run --task iris

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lgt_graph nodes

bench: $(VENV)/.installed
	$(BIN)/python -m bench.trainer_throughput
	$(BIN)/python -m bench.mlflow_overhead

clean:
	rm -rf $(VENV) build *.egg-info
