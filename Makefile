# The two commands of the README: `make demo` and `make test`.
# Each creates (or reuses) the local virtual environment .venv and installs what it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,neural,text,ray,integrations]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/autophagy demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_gaussian_loop.py
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_exact_engine.py
	$(BIN)/python benchmarks/bench_regression_chain.py
	$(BIN)/python benchmarks/bench_phase_diagram.py
	$(BIN)/python benchmarks/bench_ngram.py
	$(BIN)/python benchmarks/bench_transformer.py
	$(BIN)/python benchmarks/bench_neural.py
	$(BIN)/python benchmarks/bench_sweep_overhead.py
	$(BIN)/python benchmarks/bench_ray_vs_process.py
	$(BIN)/python benchmarks/bench_web.py
	$(BIN)/python benchmarks/bench_web_executors.py
	$(BIN)/python benchmarks/bench_web_theory.py
	$(BIN)/python benchmarks/bench_monitor.py

clean:
	rm -rf $(VENV) runs .pytest_cache
