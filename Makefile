# Two commands do everything on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WARMED := $(VENV)/.warmed-stamp
SAMPLE := data/samples/ledger/entries.parquet
PIP_FLAGS := --quiet --disable-pip-version-check
# pip only where uv is unavailable: one "Collecting ..." line per package, no progress bars
PIP_STEP_FLAGS := --disable-pip-version-check --progress-bar off

.PHONY: setup sample browser test lint lab demo bench bench-compare bench-check bench-report clean

# Every step says what it does (and the time) before it starts (a fresh setup takes a
# minute or two).
SAY := @printf '\n==> %s %s\n' "$$(date +%T)"

# uv resolves and downloads in parallel (pip one package at a time: about 4 minutes of a
# fresh `make lab` went to pip). It comes from PyPI into the venv, so nothing but python3
# is needed; where it cannot be installed, pip does the same install.
# Bytecode is compiled at install (and for src/): where PYTHONDONTWRITEBYTECODE is set, as
# on these machines, Python otherwise compiles every module's source at every import
# (numpy + pyarrow.parquet + numba: 1.25 s to import without .pyc files, 0.48 s with).
$(STAMP): pyproject.toml
	$(SAY) "setup 1/3: Python environment in $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(SAY) "setup 2/3: installing ledgerkit with JupyterLab, numba, pyarrow and the test tools (uv: parallel downloads, about a minute on a fresh machine)"
	@$(BIN)/python -m pip install $(PIP_FLAGS) uv 2>&1 | grep -v "^WARNING: Location" || true
	@if [ -x $(BIN)/uv ]; then \
		$(BIN)/uv pip install --compile-bytecode --python $(BIN)/python -e ".[dev]"; \
	else \
		echo "uv could not be installed: pip installs instead (slower)"; \
		$(BIN)/python -m pip install $(PIP_STEP_FLAGS) -e ".[dev]" 2>&1 \
			| grep -v -e "^WARNING: Location" -e "^Requirement already satisfied"; \
	fi
	$(SAY) "setup 3/3: compiling ledgerkit's bytecode and checking the imports"
	@$(BIN)/python -m compileall -q src > /dev/null
	@$(BIN)/python -c "import ledgerkit, numba, pyarrow, jupyterlab, ipywidgets; \
		print('installed: numba', numba.__version__, '/ pyarrow', pyarrow.__version__)"
	@touch $(STAMP)

# Numba's on-disk cache filled once (ledgerkit warm: two processes, a line per family).
$(WARMED): $(STAMP)
	$(SAY) "compiling every kernel once into Numba's on-disk cache (under a minute the first time; seconds after)"
	@$(BIN)/ledgerkit warm
	@touch $(WARMED)
	$(SAY) "setup done"

setup: $(WARMED)

$(SAMPLE): | $(STAMP)
	$(SAY) "building the bundled sample (data/samples: the ledger and the 835 files answering it)"
	@$(BIN)/ledgerkit sample data/samples

sample: $(SAMPLE)

lint: setup
	$(SAY) "lint: ruff check"
	@$(BIN)/ruff check src tests benchmarks

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

# One pytest worker per core (at most 4), each taking whole files, so a file's module
# fixtures (a JupyterLab, a browser) start once: on 2 cores the suite's waits on
# browsers, notebooks and child processes overlap the other worker's computing.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
test: setup lint sample browser
	$(SAY) "tests: pytest on $(TEST_WORKERS) workers (kernels are loaded from the cache 'make setup' filled)"
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# root (as on these machines) needs --allow-root; the widget front ends (ipywidgets,
# anywidget, plotly) ship as prebuilt lab extensions in their wheels.
LAB_ARGS ?= $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
# JupyterLab is served first; on a fresh machine `ledgerkit warm` compiles the kernels
# meanwhile in the background (niced, its "[n/6] kernels of ..." lines among JupyterLab's
# log). A cell that calls a kernel not yet compiled compiles it itself: nothing waits for
# the warm-up, and a later `make lab` skips it.
# numpy's huge-page advice is off in every process that imports ledgerkit unless
# NUMPY_MADVISE_HUGEPAGE is set, and Arrow allocates with glibc (src/ledgerkit/_memory.py).
lab: $(STAMP) sample
	@if [ ! -f $(WARMED) ]; then \
		printf '\n==> %s %s\n' "$$(date +%T)" "compiling the kernels in the background while JupyterLab starts (about a minute; the [n/6] lines)"; \
		( nice -n 10 $(BIN)/ledgerkit warm && touch $(WARMED) ) & \
	fi; \
	printf '\n==> %s %s\n' "$$(date +%T)" "opening JupyterLab on notebooks/01_quickstart.ipynb (Ctrl-C twice to stop)"; \
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
