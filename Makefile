# Set-up is part of every target: on a fresh machine `make run` and `make test`
# create .venv, install PyTorch's CPU build first, then the project.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Which torch build `torch==2.13.0` brings depends on where pip looks: this project's
# CI machine has a local CPU wheel; plain PyPI on Linux x86-64 gives the CUDA build
# (several GB). TORCH_INDEX=https://download.pytorch.org/whl/cpu asks PyTorch's own
# index for the CPU-only build; users with their own torch set TORCH= (empty).
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_ARGS ?=
# Two test processes (pytest-xdist), each test module kept on one of them so that a
# module's shared fixture is built once: about half the suite's time on two cores.
TEST_WORKERS ?= 2

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(if $(TORCH),$(BIN)/pip install -q "$(TORCH)" $(if $(TORCH_INDEX),--index-url "$(TORCH_INDEX)"))

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/python -m lgt_graph run --task iris

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lgt_graph nodes

bench: $(VENV)/.installed
	$(BIN)/python -m bench.trainer_throughput
	$(BIN)/python -m bench.mlflow_overhead
	$(BIN)/python -m bench.session_overhead

clean:
	rm -rf $(VENV) build *.egg-info
