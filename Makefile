# Two commands do everything on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE := data/samples/ledger/entries.parquet
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: setup sample browser test lint lab demo bench clean

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

# asv on the current commit, in this venv; HTML report in .asv/html.
bench: setup
	$(BIN)/asv machine --yes
	$(BIN)/asv run --python=same --set-commit-hash $$(git rev-parse HEAD) --show-stderr
	$(BIN)/asv publish
	@echo "report: .asv/html/index.html (serve with: $(BIN)/asv preview)"

clean:
	rm -rf $(VENV) .asv .pytest_cache .ruff_cache
