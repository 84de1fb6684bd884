# Two commands do everything on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE := data/samples/ledger/entries.parquet
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: setup sample browser test lint lab demo bench bench-compare bench-check bench-report clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import ledgerkit, numba, pyarrow, jupyterlab, ipywidgets"
	# Compile every kernel once into Numba's on-disk cache, so no user's first call is a compile.
	$(BIN)/ledgerkit warm
	touch $(STAMP)

setup: $(STAMP)

$(SAMPLE): | $(STAMP)
	$(BIN)/ledgerkit sample data/samples

sample: $(SAMPLE)

lint: setup
	$(BIN)/ruff check src tests benchmarks

# The browser test drives Debian's Chromium (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser test"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "$(CHROMIUM) is missing: run 'sudo apt-get update && sudo apt-get install -y chromium'" >&2; \
		exit 1; \
	fi

test: setup lint sample browser
	$(BIN)/python -m pytest

# root (as on these machines) needs --allow-root; the widget front ends (ipywidgets,
# anywidget, plotly) ship as prebuilt lab extensions in their wheels.
LAB_ARGS ?= $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
lab: setup sample
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS) notebooks/01_quickstart.ipynb

demo: setup sample
	$(BIN)/ledgerkit demo

# asv (benchmarks/asv_runs.py). BENCH_ARGS: a size and a filter, e.g.
#   make bench BENCH_ARGS="--size tiny --bench Classify"
# sizes: tiny (seconds), quick (1M procedures, the default), full (adds 10M procedures,
# the 200 MB 835 file, ledgerkit warm from an empty Numba cache).
# Report (offline, one HTML file): .asv/html/<size>/index.html
BENCH_ARGS ?=
BENCH_FACTOR ?= 1.5
bench: setup
	$(BIN)/python -m benchmarks.asv_runs run HEAD $(BENCH_ARGS)

# Two commits timed by this checkout's benchmarks, then asv compare and the verdict.
A ?= HEAD~1
B ?= HEAD
bench-compare: setup
	$(BIN)/python -m benchmarks.asv_runs compare $(A) $(B) --factor $(BENCH_FACTOR) $(BENCH_ARGS)

# By hand, not in `make test`: fails if HEAD is slower than its parent by more than
# BENCH_FACTOR beyond the noise (quick size unless BENCH_ARGS says otherwise).
bench-check: setup
	$(BIN)/python -m benchmarks.asv_runs compare HEAD~1 HEAD --check --factor $(BENCH_FACTOR) $(BENCH_ARGS)

bench-report: setup
	$(BIN)/python -m benchmarks.asv_runs report $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .asv .pytest_cache .ruff_cache
